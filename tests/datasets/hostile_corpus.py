"""The hostile-input harness: run one upload through the real importer and prove it was handled.

``attempt`` imports one generated file and asserts what every hostile input must get: a row or
a ``DatasetError`` (never any other exception), within ``TIME_LIMIT_S`` and ``RSS_GROWTH_LIMIT``,
and a store left intact (a refused import leaves no row and no folder, and the store still
takes writes). Each outcome is counted per attack class, and the tally is printed at the end of
the session ("cases tried per class, crashes, clean errors").
"""
from __future__ import annotations

import io
import resource
import struct
import time
import zipfile
import zlib
from collections import Counter, defaultdict

from PIL import Image

from studio.datasets import DatasetError, import_dataset

TIME_LIMIT_S = 5.0
RSS_GROWTH_LIMIT = 300 * 1024 * 1024
TALLY: dict[str, Counter] = defaultdict(Counter)


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def attempt(store, data: bytes, filename: str, attack: str, time_limit_s: float = TIME_LIMIT_S) -> dict | str:
    """The imported row, or the DatasetError's message; any other outcome fails the test."""
    TALLY[attack]["tried"] += 1
    before_rows = len(store.datasets.list())
    datasets = store.home / "datasets"
    before_folders = sorted(p.name for p in datasets.iterdir()) if datasets.exists() else []
    peak, started = _peak_rss(), time.monotonic()
    try:
        outcome = import_dataset(store, data, filename, f"{attack}-{TALLY[attack]['tried']}")
        TALLY[attack]["accepted"] += 1
    except DatasetError as exc:
        outcome = str(exc)
        TALLY[attack]["clean errors"] += 1
    except BaseException:
        TALLY[attack]["crashes"] += 1
        raise
    elapsed, growth = time.monotonic() - started, _peak_rss() - peak
    assert elapsed < time_limit_s, f"{attack}: {filename} took {elapsed:.1f} s"
    assert growth < RSS_GROWTH_LIMIT, f"{attack}: {filename} grew the peak RSS by {growth >> 20} MB"
    if isinstance(outcome, str):
        assert len(store.datasets.list()) == before_rows, f"{attack}: a refused import left a row"
        after = sorted(p.name for p in datasets.iterdir()) if datasets.exists() else []
        assert after == before_folders, f"{attack}: a refused import left {set(after) - set(before_folders)}"
        assert len(outcome) < 2000, f"{attack}: a {len(outcome)}-character error message"
    store.settings.set("hostile-probe", TALLY[attack]["tried"])  # the store still takes writes
    return outcome


def report_lines() -> list[str]:
    lines = ["hostile import corpus: attack class: tried / clean errors / accepted / crashes"]
    for attack, counts in sorted(TALLY.items()):
        lines.append(f"  {attack}: {counts['tried']} / {counts['clean errors']} / {counts['accepted']} / "
                     f"{counts['crashes']}")
    return lines


def png(size=(4, 4), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


def plain_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def raw_zip(entries: list[dict]) -> bytes:
    """A zip written byte by byte, so headers can say what they like: each entry has ``name``,
    ``data`` (bytes as stored), ``method``, ``crc``, ``size`` (declared inflated size), ``flags``."""
    out, central = io.BytesIO(), []
    for entry in entries:
        name, data = entry["name"].encode(), entry["data"]
        flags, method, crc, size = entry.get("flags", 0), entry["method"], entry["crc"], entry["size"]
        offset = out.tell()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0, crc, len(data), size, len(name), 0))
        out.write(name + data)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0, crc, len(data), size,
                                   len(name), 0, 0, 0, 0, 0, offset) + name)
    directory = b"".join(central)
    start = out.tell()
    out.write(directory)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))
    return out.getvalue()


def stored(name: str, data: bytes, **header) -> dict:
    return {"name": name, "data": data, "method": zipfile.ZIP_STORED, "crc": zlib.crc32(data), "size": len(data),
            **header}


def deflate_bomb(head: bytes, chunk: bytes, times: int) -> tuple[bytes, int, int]:
    """Raw deflate of ``head + chunk * times``, built without compressing it all: after a full
    flush the compressor starts afresh, so every chunk's block is the same bytes. Returns the
    stream, its true CRC-32 and its inflated size (a real bomb: zipfile would inflate all of it)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH) == block
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    return start + block * times + compressor.flush(), crc, len(head) + len(chunk) * times
