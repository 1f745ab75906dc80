"""Photos: type sniffed from content, size and pixel limits, scaled down, EXIF/GPS removed."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cetate.domains.citizens.photos import NotAnImage, PhotoTooLarge, process_photo
from tests.domains.citizens.conftest import jpeg_with_gps

LIMITS = {"max_bytes": 8_000_000, "max_dimension": 800, "max_pixels": 40_000_000}


def _encoded(fmt: str, mode: str = "RGB", size: tuple[int, int] = (1000, 500)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 30, 128)[: len(mode)]).save(out, format=fmt)
    return out.getvalue()


def test_jpeg_with_gps_loses_every_exif_tag_and_is_scaled_down() -> None:
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as before:
        exif = before.getexif()
        assert exif[0x010F] == "CetateTestCam"
        assert exif.get_ifd(0x8825)[1] == "N"  # the fixture really carries GPS
    photo = process_photo(original, **LIMITS)
    assert photo.format == "JPEG"
    assert photo.content_type == "image/jpeg"
    assert (photo.width, photo.height) == (800, 400)
    with Image.open(io.BytesIO(photo.data)) as after:
        assert after.format == "JPEG"
        assert after.size == (800, 400)
        assert len(after.getexif()) == 0
        assert after.getexif().get_ifd(0x8825) == {}
        assert "exif" not in after.info
    assert b"CetateTestCam" not in photo.data
    assert b"Exif" not in photo.data


@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "RGBA"), ("PNG", "RGB"), ("WEBP", "RGB")])
def test_png_and_webp_are_accepted_in_their_own_format(fmt: str, mode: str) -> None:
    photo = process_photo(_encoded(fmt, mode), **LIMITS)
    assert photo.format == fmt
    with Image.open(io.BytesIO(photo.data)) as after:
        assert after.format == fmt
        assert max(after.size) == 800
        assert after.mode == mode


def test_the_type_comes_from_the_content_not_the_name() -> None:
    with pytest.raises(NotAnImage, match="not a JPEG, PNG or WebP"):
        process_photo(b"GIF89a" + b"\x00" * 100, **LIMITS)
    with pytest.raises(NotAnImage, match="not a JPEG, PNG or WebP"):
        process_photo(b"<html><script>alert(1)</script></html>", **LIMITS)
    with pytest.raises(NotAnImage):
        process_photo(_encoded("GIF", "RGB"), **LIMITS)
    with pytest.raises(NotAnImage, match="empty"):
        process_photo(b"", **LIMITS)


def test_a_damaged_image_is_refused() -> None:
    data = _encoded("PNG")
    with pytest.raises(NotAnImage):
        process_photo(data[: len(data) // 2], **LIMITS)


def test_too_many_bytes_or_pixels_are_refused() -> None:
    data = _encoded("PNG")
    with pytest.raises(PhotoTooLarge, match="bytes") as too_big:
        process_photo(data, max_bytes=len(data) - 1, max_dimension=800, max_pixels=10**8)
    assert too_big.value.status == 413
    with pytest.raises(PhotoTooLarge, match="pixels"):
        process_photo(data, max_bytes=10**8, max_dimension=800, max_pixels=1000 * 500 - 1)


def test_small_photos_keep_their_size() -> None:
    photo = process_photo(_encoded("JPEG", size=(300, 200)), **LIMITS)
    assert (photo.width, photo.height) == (300, 200)
