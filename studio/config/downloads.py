"""How long a download link (a run's logs or model zip) works after it was asked for.

Each request gets its own unguessable folder, deleted after this many seconds (an admin
may change it with the ``download_link_ttl_s`` setting). Ten minutes is enough to start a
multi-GB model download; a link copied into a chat or a log stops working soon after.
"""
from __future__ import annotations

DOWNLOAD_LINK_TTL_S = 600.0
DOWNLOAD_LINK_TTL_SETTING = "download_link_ttl_s"
