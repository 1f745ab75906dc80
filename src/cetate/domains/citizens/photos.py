"""Photos attached to reports: checked, scaled down and cleaned before anything is stored.

:func:`process_photo` takes the uploaded bytes and returns a new image file:

1. the size is checked against the limit (:class:`PhotoTooLarge`, HTTP 413);
2. the type is sniffed from the content by Pillow, never taken from the file name or the
   client's Content-Type; only JPEG, PNG and WebP are accepted (:class:`NotAnImage`, 415);
3. the pixel count declared in the header is checked before decoding (decompression bombs);
4. the EXIF orientation is applied, then the pixels are copied into a *new* image, which has
   no EXIF, GPS, XMP, ICC, comments or other metadata of the upload;
5. the new image is scaled down to the maximum dimension and encoded again in the same format.

The original bytes are never kept: only the returned :class:`Photo` is stored.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

from cetate.domains.citizens.errors import Open311Error

ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP")
CONTENT_TYPES: Final = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS: Final = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


class PhotoTooLarge(Open311Error):
    def __init__(self, description: str) -> None:
        super().__init__(413, description)


class NotAnImage(Open311Error):
    def __init__(self, description: str) -> None:
        super().__init__(415, description)


@dataclass(frozen=True, slots=True)
class Photo:
    """A cleaned photo, ready to store."""

    data: bytes
    format: str
    """``JPEG``, ``PNG`` or ``WEBP``"""
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoTooLarge(f"the photo has more than {max_pixels} pixels") from None
    except UnidentifiedImageError:
        raise NotAnImage(
            "the media file is not a JPEG, PNG or WebP image (its content was checked, "
            "not its name)"
        ) from None
    width, height = image.size
    if width * height > max_pixels:
        raise PhotoTooLarge(
            f"the photo has {width}×{height} pixels; at most {max_pixels} pixels are accepted"
        )
    try:
        image.load()
    except (OSError, SyntaxError, ValueError):
        raise NotAnImage(f"the {image.format} image is damaged and cannot be read") from None
    return image


def _clean_copy(image: Image.Image) -> Image.Image:
    """The pixels of ``image`` in a new image without any metadata, in RGB or RGBA."""
    upright = ImageOps.exif_transpose(image) or image
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    mode = "RGBA" if has_alpha and image.format != "JPEG" else "RGB"
    pixels = upright.convert(mode)
    return Image.frombytes(mode, pixels.size, pixels.tobytes())


def process_photo(data: bytes, *, max_bytes: int, max_dimension: int, max_pixels: int) -> Photo:
    """A cleaned, scaled-down copy of an uploaded photo (see the module docstring)."""
    if not data:
        raise NotAnImage("the media file is empty")
    if len(data) > max_bytes:
        raise PhotoTooLarge(
            f"the photo has {len(data)} bytes; at most {max_bytes} bytes are accepted"
        )
    image = _open(data, max_pixels)
    source_format = image.format or "JPEG"
    clean = _clean_copy(image)
    image.close()
    clean.thumbnail((max_dimension, max_dimension), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if source_format == "JPEG":
        clean.save(out, format="JPEG", quality=85, optimize=True)
    elif source_format == "PNG":
        clean.save(out, format="PNG", optimize=True)
    else:
        clean.save(out, format="WEBP", quality=80)
    return Photo(out.getvalue(), source_format, clean.width, clean.height)
