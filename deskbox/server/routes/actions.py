"""POST /actions: one action or a batch, optionally answered with a screenshot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response

from ...actions import ActionRequest, ActionResponse
from ...desktop import Desktop
from ...dispatch import perform
from ..deps import get_desktop, unless_client_leaves
from .screenshot import Options, Settle

router = APIRouter(tags=["actions"])


@router.post("/actions", response_model=ActionResponse, response_model_exclude_none=True)
async def act(
    http: Request,
    request: Annotated[ActionRequest, Body()],
    desktop: Annotated[Desktop, Depends(get_desktop)],
    options: Options,
    screenshot_after: bool = False,
    settle: Settle = 0.0,
) -> ActionResponse | Response:
    """Run one action, or a batch in order, on the desktop.

    Every coordinate is checked against the screen before anything runs, so a bad batch
    has no partial effect. A batch stops at the first action that fails at run time; the
    error names it by index. With ``screenshot_after``, the response carries the screen
    as it is after the actions, encoded with the screenshot query parameters; with
    ``settle`` too, as it is once it stops changing (up to that many seconds). A request
    whose client goes away stops before its next action.
    """
    return await unless_client_leaves(
        http, perform(desktop, request, options if screenshot_after else None, settle)
    )
