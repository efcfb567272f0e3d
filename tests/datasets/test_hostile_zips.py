"""Hostile ZIP uploads, built byte by byte here (small on disk), through the real importer.

Zip bombs (a 1 GB-inflating index CSV, a 500 MB zero-padded image, a header that lies about
the size, one image used by thousands of rows), encrypted, unsupported-method and bad-CRC
members, an image that decodes to too many pixels, and random damage to a valid archive:
each must be refused (or imported) before anything large is inflated, with the store intact.
"""
from __future__ import annotations

import io
import os
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.config.data_bounds import MAX_IMAGE_PIXELS
from studio.store import Store
from tests.datasets.hostile_corpus import attempt, deflate_bomb, plain_zip, png, raw_zip, stored

FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
INDEX = b"image,label\na.png,x\n"
MIB = 1024 * 1024


@pytest.fixture()
def store(studio_home):
    return Store()


@pytest.fixture(scope="module")
def gigabyte_index_bomb() -> bytes:
    chunk = b"a.png,x\n" * (MIB // 8)
    data, crc, size = deflate_bomb(b"image,label\n", chunk, 1024)
    assert size == 1024 * MIB + 12 and len(data) < 3 * MIB  # 1 GB inflated from under 3 MB
    return raw_zip([{"name": "index.csv", "data": data, "method": zipfile.ZIP_DEFLATED, "crc": crc, "size": size},
                    stored("a.png", png())])


def test_a_gigabyte_index_csv_is_refused_before_it_is_inflated(store, gigabyte_index_bomb):
    with zipfile.ZipFile(io.BytesIO(gigabyte_index_bomb)) as archive, archive.open("index.csv") as member:
        assert member.read(MIB).startswith(b"image,label\na.png,x\n")  # a real bomb: it does inflate
    message = attempt(store, gigabyte_index_bomb, "bomb.zip", "zip bomb")
    assert "bomb.zip/index.csv" in message and "looks like a zip bomb" in message


def test_a_500_mb_zero_padded_image_is_refused_before_it_is_inflated(store):
    image = png()
    data, crc, size = deflate_bomb(image, bytes(MIB), 500)
    archive = raw_zip([stored("index.csv", INDEX),
                       {"name": "a.png", "data": data, "method": zipfile.ZIP_DEFLATED, "crc": crc, "size": size}])
    message = attempt(store, archive, "padded.zip", "zip bomb")
    assert "padded.zip/index.csv row 1" in message and "a.png" in message  # refused by its declared size
    assert "the image file has 500 MB, more than the 64 MB an image may have" in message


@FUZZ
@given(declared=st.integers(1, 4096), megabytes=st.integers(8, 256))
def test_a_header_that_understates_the_inflated_size_cannot_inflate_more(store, declared, megabytes):
    data, crc, _ = deflate_bomb(b"image,label\n", b"a.png,x\n" * (MIB // 8), megabytes)
    archive = raw_zip([{"name": "index.csv", "data": data, "method": zipfile.ZIP_DEFLATED, "crc": crc,
                        "size": declared}, stored("a.png", png())])
    attempt(store, archive, "liar.zip", "zip bomb")  # at most `declared` bytes are ever inflated


def test_one_image_used_by_thousands_of_rows_counts_once_per_row(store):
    noise = io.BytesIO()
    Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3)).save(noise, format="PNG")
    index = b"image\n" + b"a.png\n" * 5000  # ~5 GB of image cells from a 1 MB archive
    message = attempt(store, plain_zip({"index.csv": index, "a.png": noise.getvalue()}, zipfile.ZIP_STORED),
                      "reused.zip", "zip bomb")
    assert "would hold more than" in message


def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded(store):
    side = int(MAX_IMAGE_PIXELS ** 0.5) + 100
    message = attempt(store, plain_zip({"index.csv": INDEX, "a.png": png((side, side), mode="1")}),
                      "pixels.zip", "image pixel bomb")
    assert f"{side}x{side} pixels, more than the" in message


@FUZZ
@given(member=st.sampled_from(["index.csv", "a.png"]), flags=st.integers(0, 0xFFFF).map(lambda f: f | 1))
def test_encrypted_members_are_refused_with_the_member_named(store, member, flags):
    entries = [stored("index.csv", INDEX), stored("a.png", png())]
    entries = [dict(e, flags=flags) if e["name"] == member else e for e in entries]
    message = attempt(store, raw_zip(entries), "locked.zip", "encrypted zip member")
    assert f"locked.zip/{member}" in message


@FUZZ
@given(member=st.sampled_from(["index.csv", "a.png"]),
       method=st.integers(0, 0xFFFF).filter(lambda m: m not in (0, 8, 12, 14)))
def test_unsupported_compression_methods_are_refused_with_the_member_named(store, member, method):
    entries = [dict(e, method=method) if e["name"] == member else e
               for e in (stored("index.csv", INDEX), stored("a.png", png()))]
    message = attempt(store, raw_zip(entries), "method.zip", "unsupported zip method")
    assert f"method.zip/{member}: compression method {method} is not supported" in message


@FUZZ
@given(member=st.sampled_from(["index.csv", "a.png"]), position=st.integers(0, 10_000), bit=st.integers(0, 7),
       deflated=st.booleans())
def test_a_damaged_member_is_a_clean_error(store, member, position, bit, deflated):
    data = {"index.csv": INDEX, "a.png": png()}
    entries = []
    for name, content in data.items():
        body = zlib.compress(content)[2:-4] if deflated else content  # raw deflate
        entry = {"name": name, "data": body, "method": zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED,
                 "crc": zlib.crc32(content), "size": len(content)}
        if name == member:
            damaged = bytearray(body)
            damaged[position % len(damaged)] ^= 1 << bit
            entry["data"] = bytes(damaged)
        entries.append(entry)
    attempt(store, raw_zip(entries), "damaged.zip", "bad CRC / damaged member")


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), min_size=1, max_size=8))
def test_random_damage_to_a_valid_archive_never_crashes_the_importer(store, flips):
    archive = bytearray(plain_zip({"data/index.csv": b"image,label\nimg/a.png,x\nimg/b.png,y\n",
                                   "data/img/a.png": png(), "data/img/b.png": png((5, 5))}))
    for position, value in flips:
        archive[position % len(archive)] = value
    attempt(store, bytes(archive), "fuzzed.zip", "random zip damage")


def test_too_many_zip_entries_are_refused(store):
    from studio.config.data_bounds import ImportLimits
    from studio.datasets import DatasetError, import_dataset

    archive = plain_zip({**{f"e{i}.txt": b"" for i in range(50)}, "index.csv": INDEX, "a.png": png()})
    with pytest.raises(DatasetError, match="lists 52 entries, more than the 40 allowed"):
        import_dataset(store, archive, "many.zip", "many", limits=ImportLimits(max_zip_members=40))
    assert store.datasets.list() == []


def test_a_stored_zero_padded_image_over_the_image_size_bound_is_refused_before_reading(store):
    from studio.config.data_bounds import MAX_IMAGE_BYTES

    padded = png() + bytes(MAX_IMAGE_BYTES)  # opens fine in PIL; stored, so no ratio gives it away
    message = attempt(store, plain_zip({"index.csv": INDEX, "a.png": padded}, zipfile.ZIP_STORED),
                      "stored-padding.zip", "zip bomb")
    assert "a.png" in message and "more than the 64 MB an image may have" in message
