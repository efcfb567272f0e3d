"""`python app.py` on a corrupt database stops with an actionable message and leaves the file alone."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_app_refuses_a_corrupt_database_without_touching_it(tmp_path):
    db = tmp_path / "db.json"
    db.write_text('{"_default": {')
    done = subprocess.run([sys.executable, "app.py", "--port", "1"], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, STUDIO_HOME=str(tmp_path)), timeout=120)
    assert done.returncode == 1
    assert "Studio cannot start" in done.stderr and "db.json is corrupt" in done.stderr
    assert "Traceback" not in done.stderr
    assert db.read_text() == '{"_default": {'
