"""Bounds of the serving API (``python -m studio.serve``): what one request may ask for.

Checked once at the edge, before a request reaches the model: a body over the byte limit is
refused by its Content-Length (or while it streams in) before any parsing, and a parsed
request over any other bound is a 400 naming the field. Generous for real use (a few photos,
a long conversation), small enough that no request can hold the process for long or grow it.
"""
from __future__ import annotations

# A 4 MB photo is about 5.4 MB of base64; two of them still fit.
MAX_REQUEST_BYTES = 12 * 1024 * 1024
MAX_MESSAGES = 1024
MAX_CONTENT_PARTS = 64  # per message
# Characters of text over all messages; tokenizing this many takes well under a second.
MAX_TEXT_CHARS = 400_000
MAX_IMAGES = 8  # per request
MAX_IMAGE_PIXELS = 40_000_000  # after decoding; a larger image is refused, not resized
MAX_NEW_TOKENS = 1_048_576  # the schema bound; the model's context length clamps it further
MAX_STOP_SEQUENCES = 16
MAX_STOP_CHARS = 256  # per stop sequence
MAX_MODEL_NAME_CHARS = 256
MAX_BEAMS = 64  # as prediction.num_beams
