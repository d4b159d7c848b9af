"""What the local forwarders share: made for a sandbox, an address on 127.0.0.1, a close."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self


class LocalForwarder:
    """A 127.0.0.1 address, in the caller's process, that reaches one sandbox with its token."""

    host = "127.0.0.1"
    port: int

    def __init__(
        self, url: str, token: str, *, port: int = 0, headers: Mapping[str, str] | None = None
    ) -> None:
        raise NotImplementedError

    @classmethod
    def for_sandbox(cls, sandbox: Any, *, port: int = 0) -> Self:
        """The forwarder for a Sandbox or AsyncSandbox (its URL, token and routing headers)."""
        info = sandbox.info
        return cls(info.url, info.token, port=port, headers=info.headers)

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
