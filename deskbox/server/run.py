"""Serving the app with uvicorn, tuned for an idle sandbox."""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI

from .limits import LimitedHttp


class QuietServer(uvicorn.Server):
    """uvicorn's server, waking once a second instead of ten times when idle.

    uvicorn polls for shutdown every 0.1 s, a third of an idle sandbox's CPU. Once a
    second still notices a signal promptly; the Date header, which uvicorn refreshes
    every tenth tick, is then at most ten seconds old.
    """

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            await asyncio.sleep(1.0)
            should_exit = await self.on_tick(counter)


def run_server(app: FastAPI, host: str, port: int) -> None:
    # httptools parses requests several times faster than h11; the plain asyncio loop
    # is kept because uvloop makes starting subprocesses slower.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, http=LimitedHttp, loop="asyncio"
    )
    QuietServer(config).run()
