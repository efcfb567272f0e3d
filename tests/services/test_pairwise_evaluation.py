"""Evaluate against…: verdict parsing, position-swap and tie handling, the win-rate interval, and a
real evaluation (two studio.serve processes on tiny models, a scripted local judge) end to end."""
from __future__ import annotations

import time

import pytest

from studio.services import pairwise_judge as pj
from studio.services.evaluations import BASE_MODEL, EvaluationError, EvaluationService
from studio.services.judge_endpoint import save_judge_endpoint
from studio.store import Store
from tests.evaluation_fixtures import PROMPTS, completed_experiment, scripted_judge


@pytest.fixture()
def judge_url():
    with scripted_judge() as url:
        yield url


@pytest.mark.parametrize("reply,verdict", [
    ("Verdict: A\nA is right.", "A"), ("verdict: b because", "B"), ("Verdict: **tie**", "tie"),
    ("Verdict: A ... on reflection Verdict: B", "B"), ("I like both", None), ("", None), (None, None)])
def test_parse_verdict(reply, verdict):
    assert pj.parse_verdict(reply) == verdict


@pytest.mark.parametrize("first,second,expected", [
    ("A", "B", pj.WIN),    # the candidate preferred in both orders
    ("B", "A", pj.LOSS),   # the baseline preferred in both orders
    ("A", "A", pj.TIE),    # a judge that always picks the first answer: position bias cancels out
    ("B", "B", pj.TIE),    # ... or always the second
    ("tie", "B", pj.TIE), ("A", "tie", pj.TIE), ("tie", "tie", pj.TIE), (None, "B", pj.TIE)])
def test_a_prompt_is_won_only_when_both_orders_agree(first, second, expected):
    assert pj.outcome(first, second) == expected


def test_win_rate_counts_ties_as_half_and_gives_wilsons_interval():
    result = pj.win_rate([pj.WIN] * 4 + [pj.TIE] * 2 + [pj.LOSS] * 4)
    assert (result.wins, result.ties, result.losses, result.rate) == (4, 2, 4, 0.5)
    low, high = result.interval()
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)  # Wilson, n=10, p=0.5
    low, high = pj.win_rate([pj.WIN] * 10).interval()
    assert round(high, 9) == 1.0 and round(low, 4) == 0.7225


def wait_done(service, record, timeout=420):
    deadline = time.time() + timeout
    while time.time() < deadline:
        described = service.describe(record)
        if described["state"]["status"] in ("Completed", "Failed"):
            return described
        time.sleep(1)
    raise AssertionError(f"evaluation still {service.describe(record)['state']} after {timeout}s")


@pytest.mark.slow
def test_evaluate_against_the_base_model_with_a_scripted_judge(studio_home, tmp_path, tiny_llama_dir, judge_url):
    store = Store(studio_home)
    service = EvaluationService(store, studio_home)
    row = completed_experiment(store, studio_home, tiny_llama_dir, seed=3)
    with pytest.raises(EvaluationError, match="no judge endpoint"):
        service.start(row["id"], BASE_MODEL, "judge")
    save_judge_endpoint(store, judge_url)
    assert service.baselines(row["id"])[0] == (f"Base model ({tiny_llama_dir})", BASE_MODEL)

    record = service.start(row["id"], BASE_MODEL, "judge")
    done = wait_done(service, record)
    assert done["state"]["status"] == "Completed", done["state"]
    verdicts = service.verdicts(record)
    assert verdicts["prompt"].tolist() == PROMPTS
    expected = []
    for _, v in verdicts.iterrows():
        if "bias" in v["prompt"] or "tie" in v["prompt"]:
            expected.append(pj.TIE)  # always-first and explicit ties are ties
        else:
            c, b = v["candidate_answer"], v["baseline_answer"]
            expected.append(pj.WIN if c > b else pj.LOSS if b > c else pj.TIE)
    assert verdicts["outcome"].tolist() == expected
    biased = verdicts[verdicts["prompt"].str.contains("bias")].iloc[0]
    assert (biased["verdict_candidate_first"], biased["verdict_baseline_first"]) == ("A", "A")
    result = done["result"]
    counts = pj.win_rate(expected)
    assert (result["wins"], result["ties"], result["losses"]) == (counts.wins, counts.ties, counts.losses)
    assert result["ci_low"] <= result["win_rate"] <= result["ci_high"]
    assert result["baseline"] == f"base model {tiny_llama_dir}"
    # it is stored with the experiment: a new app process reads the same result
    again = EvaluationService(Store(studio_home), studio_home).for_experiment(row["id"])
    assert again[0]["result"] == result and again[0]["state"]["status"] == "Completed"


def test_an_unfinished_or_foreign_experiment_is_refused_with_the_reason(studio_home):
    store = Store(studio_home)
    service = EvaluationService(store, studio_home)
    running = store.experiments.add({"name": "r", "status": "Training", "problem_type": "text_causal_language_modeling"})
    with pytest.raises(EvaluationError, match="is Training, not Completed"):
        service.start(running["id"], BASE_MODEL, "judge")
    image = store.experiments.add({"name": "i", "status": "Completed", "problem_type": "image_classification"})
    with pytest.raises(EvaluationError, match="only Causal LM and preference-tuned"):
        service.start(image["id"], BASE_MODEL, "judge")
