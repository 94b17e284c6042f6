"""Upload checks: only real PNG, JPEG and WebP images within the limits pass; what is stored has no metadata."""

import io

import pytest
from PIL import Image

from apps.assets import images
from apps.assets.errors import ImageRejected
from apps.assets.tests.pictures import SVG, exif_gps, picture, png_header_only


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp")],
)
def test_each_allowed_format_passes_with_a_thumbnail(fmt, content_type, extension):
    checked = images.image_check(picture(fmt, size=(600, 300)))

    assert (checked.content_type, checked.extension, checked.width, checked.height) == (
        content_type,
        extension,
        600,
        300,
    )
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.format == fmt and stored.size == (600, 300)
    with Image.open(io.BytesIO(checked.thumbnail)) as thumbnail:
        assert thumbnail.format == "WEBP" and thumbnail.size == (256, 128)
    import hashlib

    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()


def _rejected(data: bytes) -> str:
    with pytest.raises(ImageRejected) as caught:
        images.image_check(data)
    assert caught.value.code == "image_rejected" and caught.value.status == 422
    assert caught.value.fields == {"file": [caught.value.reason]}
    return caught.value.reason


def test_a_truncated_png_is_refused():
    data = picture("PNG", size=(300, 300), colour=(1, 2, 3))
    assert "truncated or corrupt" in _rejected(data[: len(data) // 2])


def test_a_text_file_named_png_an_svg_and_a_gif_are_not_images():
    assert "not a PNG, JPEG or WebP" in _rejected(b"hello, I am a text file called face.png\n")
    assert "not a PNG, JPEG or WebP" in _rejected(SVG)
    assert "not a PNG, JPEG or WebP" in _rejected(picture("GIF"))


def test_a_20000x20000_bomb_is_refused_from_its_header():
    data = png_header_only(20000, 20000)
    assert len(data) < 200
    assert "too many pixels" in _rejected(data)


def test_pixels_over_the_setting_are_refused_before_decoding(settings):
    assert "5000x5000 pixels" in _rejected(png_header_only(5000, 5000))
    settings.ASSET_MAX_PIXELS = 60 * 40
    assert "64x48 pixels" in _rejected(picture("PNG"))


def test_pillows_bomb_warning_is_a_refusal_too(settings):
    settings.ASSET_MAX_PIXELS = 10**9  # our own limit out of the way: Pillow warns from ~89M pixels
    assert "too many pixels" in _rejected(png_header_only(10000, 10000))


def test_bytes_over_the_limit_are_refused_reading_at_most_one_more(settings):
    settings.ASSET_MAX_BYTES = 1000
    data = picture("PNG", size=(400, 400), colour=(5, 5, 5)) + b"\0" * 2000
    stream = io.BytesIO(data)
    with pytest.raises(ImageRejected, match="larger than"):
        images.image_read(stream)
    assert stream.tell() == 1001
    assert images.image_read(io.BytesIO(b"x" * 1000)) == b"x" * 1000
    with pytest.raises(ImageRejected, match="empty"):
        images.image_read(io.BytesIO(b""))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_gps_and_text_are_stripped(fmt):
    extra = {"pnginfo": _png_text()} if fmt == "PNG" else {}
    data = picture(fmt, size=(80, 60), exif=exif_gps().tobytes(), **extra)
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(0x8825)  # the GPS is there going in

    checked = images.image_check(data)

    with Image.open(io.BytesIO(checked.data)) as stored:
        assert not stored.getexif() and "exif" not in stored.info
        assert not {"author", "xmp", "XML:com.adobe.xmp"} & set(stored.info)
        assert stored.size == (80, 60)
    assert b"PhoneMaker" not in checked.data and b"Exif" not in checked.data


def _png_text():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("author", "someone@example.com")
    return info


def test_the_exif_orientation_is_applied_before_stripping():
    # a 80x40 landscape stored sideways: orientation 6 means "rotate 90 degrees clockwise to view"
    data = picture("JPEG", size=(80, 40), exif=exif_gps(orientation=6).tobytes())

    checked = images.image_check(data)

    assert (checked.width, checked.height) == (40, 80)
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.size == (40, 80) and not stored.getexif()


def test_transparency_survives():
    checked = images.image_check(picture("PNG", colour=(10, 20, 30, 0), alpha=True))
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.mode == "RGBA" and stored.getpixel((0, 0))[3] == 0
