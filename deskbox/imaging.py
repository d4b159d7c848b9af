"""Image sizing and encoding, in one place for every screen source.

The desktop's own grabs and the screenshots a reduced mode receives from elsewhere (E2B's
stock template sends PNG files) are cropped, sized and encoded here, so both answer a
screenshot request the same way. PNG is written with no row filter at zlib level 1,
much faster than Pillow's default and about as small for screen content, and its
deflate stream is made in parallel slices the way pigz does (zlib drops the GIL).
"""

from __future__ import annotations

import base64
import functools
import io
import itertools
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from PIL import Image as PILImage

from .actions import Image, ImageFormat, MediaType, ScreenshotOptions, media_type, target_size
from .errors import InvalidActionError


@dataclass(frozen=True, slots=True)
class Encoded:
    format: ImageFormat
    width: int
    height: int
    data: bytes

    @property
    def media_type(self) -> MediaType:
        return media_type(self.format)

    def to_model(self) -> Image:
        """The JSON form: base64 of the bytes."""
        return Image(
            format=self.format,
            width=self.width,
            height=self.height,
            data=base64.b64encode(self.data).decode("ascii"),
        )


def encode_options(image: PILImage.Image, options: ScreenshotOptions) -> Encoded:
    """A whole-screen image cropped to ``options.region``, sized and encoded as asked."""
    region = options.region
    if region is not None:
        if region.x + region.width > image.width or region.y + region.height > image.height:
            raise InvalidActionError.at(
                ("region",), f"the region does not fit the {image.width}x{image.height} screen"
            )
        image = image.crop((region.x, region.y, region.x + region.width, region.y + region.height))
    size = target_size(
        image.width, image.height, to_width=options.width, to_height=options.height, scale=options.scale
    )
    return encode(image, options.format, options.quality, size)


def encode(
    image: PILImage.Image, fmt: ImageFormat, quality: int = 80, size: tuple[int, int] | None = None
) -> Encoded:
    """Encode an RGB image, resized to ``size`` if given."""
    width, height = image.width, image.height
    if size is not None and size != (width, height):
        image = resize(image, size)
        width, height = size
    if fmt == "png":
        return Encoded("png", width, height, fast_png(image.tobytes(), width, height))
    buffer = io.BytesIO()
    if fmt == "jpeg":
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, "WEBP", quality=quality, method=0)
    return Encoded(fmt, width, height, buffer.getvalue())


_SLICES = max(1, min(4, os.cpu_count() or 1))
_slice_workers = ThreadPoolExecutor(max_workers=_SLICES, thread_name_prefix="deskbox-encode")
"""Runs the parts of one resize or one deflate beside the calling thread, which does a
part itself; callers are never workers of this pool, so a call cannot wait on itself."""
_MIN_SLICE = 256 * 1024
_MIN_BAND_ROWS = 64


def resize(image: PILImage.Image, size: tuple[int, int]) -> PILImage.Image:
    """A Lanczos resize: it keeps small UI text legible in scaled-down screenshots.

    With libvips (pyvips, in the server's extra) it is vips' lanczos3, which is
    vectorised: 6-8 ms for 1280x800 to 1024x640 where Pillow took 26 ms on one thread and
    15 ms in bands, with a mean difference from Pillow's of 0.16 levels of 255. Without
    it, Pillow's, in bands on several threads.
    """
    if image.mode in ("RGB", "RGBA", "L"):
        pixels = vips_resize(image.tobytes(), image.size, len(image.getbands()), size)
        if pixels is not None:
            return PILImage.frombytes(image.mode, size, pixels)
    return pillow_resize(image, size)


def resize_bgrx(
    pixels: bytes | bytearray, source: tuple[int, int], size: tuple[int, int]
) -> PILImage.Image | None:
    """A grabbed BGRX frame resized to an RGB image, or None without libvips. Resized as it
    was grabbed, so the full-size frame is never converted: 2.5 ms less per screenshot."""
    scaled = vips_resize(pixels, source, 4, size)
    return None if scaled is None else PILImage.frombuffer("RGB", size, scaled, "raw", "BGRX", 0, 1)


def vips_resize(
    pixels: bytes | bytearray, source: tuple[int, int], bands: int, size: tuple[int, int]
) -> bytes | None:
    """Interleaved 8-bit pixels resized with vips' lanczos3; None without libvips, or in
    the odd case where vips rounds the size another way."""
    vips = _vips()
    if vips is None:
        return None
    (width, height), (to_width, to_height) = source, size
    scaled = vips.Image.new_from_memory(pixels, width, height, bands, "uchar").resize(
        to_width / width, vscale=to_height / height, kernel="lanczos3"
    )
    if (scaled.width, scaled.height) != size:
        return None
    data: bytes = scaled.write_to_memory()
    return data


@functools.cache
def _vips() -> Any:
    """pyvips, or None where it is not installed or libvips does not load. Imported on
    first use, not with the server: its libraries take 30 ms to load, a cost kept off the start."""
    try:
        import pyvips  # type: ignore[import-untyped]
    except (ImportError, OSError):
        return None
    pyvips.cache_set_max(0)  # every frame is new: vips' operation cache would only hold memory
    return pyvips


def pillow_resize(image: PILImage.Image, size: tuple[int, int]) -> PILImage.Image:
    """Pillow's Lanczos resize, done in horizontal bands on several threads, as Pillow's
    resampling drops the GIL.

    Each band is the same resize restricted to its rows through Pillow's ``box``, which
    still reads the source pixels around the box, so the bands join into the image one
    resize would make: exactly for the usual agent scalings, and otherwise but for a few
    values that round one level the other way at a band's fractional edge.
    """
    width, height = size
    bands = min(_SLICES, max(1, height // _MIN_BAND_ROWS))
    lanczos = PILImage.Resampling.LANCZOS
    if bands == 1:
        return image.resize(size, lanczos)
    rows_per_source_row = image.height / height
    edges = [round(band * height / bands) for band in range(bands + 1)]

    def band(top: int, bottom: int) -> PILImage.Image:
        box = (0, top * rows_per_source_row, image.width, bottom * rows_per_source_row)
        return image.resize((width, bottom - top), lanczos, box)

    spans = list(itertools.pairwise(edges))
    pending = [_slice_workers.submit(band, top, bottom) for top, bottom in spans[1:]]
    parts = [band(*spans[0])] + [future.result() for future in pending]
    joined = PILImage.new(image.mode, size)
    for (top, _), part in zip(spans, parts, strict=True):
        joined.paste(part, (0, top))
    return joined


def _deflate_slice(data: memoryview, level: int, last: bool) -> tuple[bytes, int]:
    """Raw deflate of one slice, and the slice's Adler-32."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)  # raw deflate, no header
    # A sync flush ends the slice on a byte boundary with the stream still open, so the
    # slices concatenate into one valid deflate stream.
    body = compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    return body, zlib.adler32(data)


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two buffers joined, from theirs (zlib's adler32_combine)."""
    base = 65521
    remainder = second_length % base
    sum1 = first & 0xFFFF
    sum2 = (remainder * sum1) % base
    sum1 = (sum1 + (second & 0xFFFF) + base - 1) % base
    sum2 = (sum2 + (first >> 16) + (second >> 16) + base - remainder) % base
    return sum1 | (sum2 << 16)


def parallel_zlib(data: bytes | bytearray, level: int = 1) -> bytes:
    """``zlib.compress(data, level)``'s format, compressed in slices on several threads."""
    slices = min(_SLICES, max(1, len(data) // _MIN_SLICE))
    if slices == 1:
        return zlib.compress(data, level)
    view = memoryview(data)
    step = -(-len(data) // slices)
    bounds = [(start, min(start + step, len(data))) for start in range(0, len(data), step)]
    pending = [
        _slice_workers.submit(_deflate_slice, view[start:end], level, end == len(data))
        for start, end in bounds[1:]
    ]
    parts = [_deflate_slice(view[bounds[0][0] : bounds[0][1]], level, False)]
    parts += [future.result() for future in pending]
    checksum = parts[0][1]
    for (_, adler), (start, end) in zip(parts[1:], bounds[1:], strict=True):
        checksum = adler32_combine(checksum, adler, end - start)
    return b"".join([b"\x78\x01", *(body for body, _ in parts), struct.pack(">I", checksum)])


def fast_png(rgb: bytes, width: int, height: int) -> bytes:
    """A valid RGB PNG: filter type 0 on every row, zlib level 1."""
    stride = width * 3
    rows = bytearray((stride + 1) * height)
    for row in range(height):
        start = row * (stride + 1) + 1  # the byte before stays 0: "no filter"
        rows[start : start + stride] = rgb[row * stride : (row + 1) * stride]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", parallel_zlib(rows, 1)),
            chunk(b"IEND", b""),
        )
    )
