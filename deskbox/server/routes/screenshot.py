"""Screenshots as image bytes, or as base64 JSON for agents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import ValidationError

from ...actions import MAX_SETTLE_SECONDS, Image, ImageFormat, ScreenshotOptions, parse_region
from ...desktop import Desktop
from ...errors import InvalidActionError
from ...imaging import Encoded
from ..deps import get_desktop

router = APIRouter(tags=["screenshot"])


async def screenshot_options(
    format: ImageFormat = "png",
    quality: Annotated[int, Query(ge=1, le=100)] = 80,
    width: Annotated[int | None, Query(gt=0, le=8192)] = None,
    height: Annotated[int | None, Query(gt=0, le=8192)] = None,
    scale: Annotated[float | None, Query(gt=0, le=4)] = None,
    region: Annotated[str | None, Query(description="x,y,width,height in screen pixels")] = None,
    cursor: bool = False,
) -> ScreenshotOptions:
    """Screenshot options from query parameters, with errors located in the query."""
    parsed_region = parse_region(region) if region is not None else None
    try:
        return ScreenshotOptions(
            format=format,
            quality=quality,
            width=width,
            height=height,
            scale=scale,
            region=parsed_region,
            cursor=cursor,
        )
    except ValidationError as exc:
        raise InvalidActionError.at(
            ("query", "scale"), exc.errors()[0]["msg"].removeprefix("Value error, ")
        ) from None


async def take_screenshot(desktop: Desktop, options: ScreenshotOptions, settle: float = 0.0) -> Encoded:
    """A screenshot after checking that the region fits the screen."""
    if options.region is not None:
        width, height = await desktop.screen_size()
        if (
            options.region.x + options.region.width > width
            or options.region.y + options.region.height > height
        ):
            raise InvalidActionError.at(
                ("query", "region"), f"the region does not fit the {width}x{height} screen"
            )
    return await desktop.screenshot(options, settle)


Options = Annotated[ScreenshotOptions, Depends(screenshot_options)]
Settle = Annotated[
    float,
    Query(
        ge=0,
        le=MAX_SETTLE_SECONDS,
        description="Wait up to this many seconds for the screen to stop changing before capturing it",
    ),
]
DesktopDep = Annotated[Desktop, Depends(get_desktop)]


@router.get(
    "/screenshot",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}},
)
async def screenshot(desktop: DesktopDep, options: Options, settle: Settle = 0.0) -> Response:
    """The screen as image bytes. The size is in the X-Image-Width/Height headers."""
    encoded = await take_screenshot(desktop, options, settle)
    return Response(
        encoded.data,
        media_type=encoded.media_type,
        headers={
            "X-Image-Width": str(encoded.width),
            "X-Image-Height": str(encoded.height),
            "Cache-Control": "no-store",
        },
    )


@router.get("/screenshot/base64", response_model=Image)
async def screenshot_base64(desktop: DesktopDep, options: Options, settle: Settle = 0.0) -> Image:
    """The screen as base64 in JSON, the form agents put in a model's context."""
    return (await take_screenshot(desktop, options, settle)).to_model()
