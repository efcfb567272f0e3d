"""Training runs get the judge endpoint the Settings page stored."""
from studio.runner.supervisor import Supervisor
from studio.services.judge_endpoint import JUDGE_KEY_SECRET, JUDGE_URL_SETTING
from studio.store import Store


def test_run_environment_carries_judge_settings_and_studio_home(tmp_path):
    store = Store(tmp_path)
    store.settings.set(JUDGE_URL_SETTING, "http://127.0.0.1:9/v1")
    store.secrets.set(JUDGE_KEY_SECRET, "sk-local-judge")
    env = Supervisor(store, tmp_path, gpus=[]).launcher._environment([])
    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:9/v1"
    assert env["OPENAI_API_KEY"] == "sk-local-judge"
    assert env["STUDIO_HOME"] == str(tmp_path)
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert "sk-local-judge" not in (tmp_path / "db.json").read_text()
