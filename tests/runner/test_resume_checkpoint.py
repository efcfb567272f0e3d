"""A save interrupted between its two renames still leaves a resumable run."""
import json

from studio.runner.run_folder_reader import has_resume_checkpoint
from training.checkpoint import _recover_interrupted_save


def test_a_checkpoint_left_as_last_old_is_resumable_and_restored(tmp_path):
    last = tmp_path / "checkpoint" / "last"
    assert not has_resume_checkpoint(tmp_path)
    old = last.with_name("last.old")
    old.mkdir(parents=True)
    (old / "state.json").write_text(json.dumps({"step": 20}))
    assert has_resume_checkpoint(tmp_path)
    _recover_interrupted_save(last)
    assert json.loads((last / "state.json").read_text()) == {"step": 20}
    assert not old.exists()


def test_an_empty_checkpoint_folder_is_not_resumable(tmp_path):
    (tmp_path / "checkpoint" / "last").mkdir(parents=True)
    assert not has_resume_checkpoint(tmp_path)
