"""When the Home page warns that STUDIO_HOME's disk is nearly full.

A run that fills the disk fails part way (a checkpoint cut short, a status it cannot
write), so the warning comes early: below 5 GiB free or below 5% of the disk free,
whichever comes first.
"""
from __future__ import annotations

LOW_DISK_FREE_BYTES = 5 * 1024**3
LOW_DISK_FREE_FRACTION = 0.05
