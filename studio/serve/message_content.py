"""Text and images out of validated OpenAI message content, every decoding failure a RequestError."""
from __future__ import annotations

import base64
import binascii
import io
import warnings

from studio.config import serving as limits


class RequestError(ValueError):
    """A request the model cannot answer as asked; becomes an HTTP 400 naming ``param``."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


def message_text(content) -> str:
    """The text of an OpenAI message content: a string or a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def message_images(content, param: str = "messages") -> list:
    """The image parts of a message as RGB PIL images; base64 data URIs only."""
    if not isinstance(content, list):
        return []
    images = []
    for index, part in enumerate(content):
        if part.get("type") == "image_url":
            images.append(decode_image(part["image_url"]["url"], f"{param}.content.{index}.image_url.url"))
    return images


def decode_image(url: str, param: str):
    from PIL import Image

    header, comma, payload = url.partition(",")
    if not (header.startswith("data:") and header.endswith(";base64") and comma):
        raise RequestError("images must be sent as base64 data URIs (data:image/png;base64,...); "
                           "URLs are not fetched", param)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("the image is not valid base64", param) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size  # read from the header, before any pixel is decoded
            if width * height > limits.MAX_IMAGE_PIXELS:
                raise RequestError(f"the image is {width}x{height} pixels; at most {limits.MAX_IMAGE_PIXELS} "
                                   "pixels are accepted", param)
            return image.convert("RGB")
    except RequestError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise RequestError("the image cannot be read (send a PNG, JPEG, GIF, BMP or WebP file)", param) from None
