"""The Home page's low-disk warning (issue 9, item 3), on a real small file system filled up."""
from __future__ import annotations

import shutil

from studio.config.disk_space import LOW_DISK_FREE_BYTES
from studio.services.disk_space import disk_space, low_disk_warning
from tests.small_disk import fill, small_tmpfs

MB = 1024**2


def test_warns_once_the_disk_is_nearly_full_and_not_before(tmp_path):
    with small_tmpfs(tmp_path / "disk", size_mb=32) as home:
        assert low_disk_warning(home, min_free_bytes=8 * MB, min_free_fraction=0.05) is None
        fill(home, leave_bytes=4 * MB)
        warning = low_disk_warning(home, min_free_bytes=8 * MB, min_free_fraction=0.05)
        assert warning is not None and str(home) in warning and "Low disk space" in warning
        assert "free of 33.6 MB" in warning  # 32 MiB written in decimal units
        (home / "filler.bin").unlink()
        assert low_disk_warning(home, min_free_bytes=8 * MB, min_free_fraction=0.05) is None


def test_fraction_rule_and_the_default_threshold(tmp_path):
    with small_tmpfs(tmp_path / "disk", size_mb=32) as home:
        fill(home, leave_bytes=1 * MB)  # 3% free: under the 5% rule however few bytes are asked for
        assert low_disk_warning(home, min_free_bytes=1, min_free_fraction=0.05)
        assert low_disk_warning(home)  # a 32 MB disk is always under the default 5 GiB
    assert LOW_DISK_FREE_BYTES >= 1024**3


def test_reads_the_real_usage_and_survives_a_missing_folder(tmp_path):
    space = disk_space(tmp_path)
    assert space.total_bytes == shutil.disk_usage(tmp_path).total
    assert disk_space(tmp_path / "gone") is None and low_disk_warning(tmp_path / "gone") is None
