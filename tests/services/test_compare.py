"""Compare: config diff, metrics side by side with the best per metric, same-row predictions, project view."""
from __future__ import annotations

import pytest

from studio.runner.supervisor import Supervisor
from studio.services.compare import CompareError, CompareService, parse_ids
from studio.services.experiments import ExperimentService
from studio.store import Store
from studio.ui import compare_charts
from tests.compare_runs import completed_evaluation, completed_image_runs, completed_run


@pytest.fixture()
def setup(studio_home):
    store = Store(studio_home)
    service = CompareService(store, ExperimentService(store, Supervisor(store, studio_home, gpus=[]), studio_home),
                             studio_home)
    runs = [completed_run(store, studio_home, "slow", 1e-4, quality=0.5),
            completed_run(store, studio_home, "fast", 3e-4, quality=2.0),
            completed_run(store, studio_home, "mid", 2e-4, quality=1.0)]
    return service, runs


def test_the_config_diff_lists_only_the_keys_that_differ(setup):
    service, runs = setup
    comparison = service.load([r["id"] for r in runs])
    diff = service.config_diff(comparison)
    assert diff["key"].tolist() == ["training.learning_rate"]
    assert diff.iloc[0][["slow", "fast", "mid"]].tolist() == ["0.0001", "0.0003", "0.0002"]
    assert "training.batch_size" in service.config_diff(comparison, all_keys=True)["key"].tolist()


def test_metrics_side_by_side_name_the_best_run_per_metric(setup):
    service, runs = setup
    frame, best = service.metrics_table(service.load([r["id"] for r in runs]))
    assert frame["experiment"].tolist() == ["slow", "fast", "mid"]
    assert best == {"loss": "fast", "Perplexity": "fast"}  # both lower-is-better
    assert {"runtime (min)", "GPUs", "cost"} <= set(frame.columns)


def test_predictions_of_the_same_rows_sit_side_by_side(setup):
    service, runs = setup
    table = service.predictions(service.load([r["id"] for r in runs]))
    assert table.columns.tolist() == ["row", "prompt", "target", "slow", "fast", "mid"]
    assert table.iloc[0][["slow", "fast"]].tolist() == ["slow-0", "fast-0"]


def test_curves_overlay_one_trace_per_run_and_the_project_chart_plots_settings(setup):
    service, runs = setup
    comparison = service.load([r["id"] for r in runs])
    assert comparison.shared_metrics == ["loss", "Perplexity"]
    figure = compare_charts.overlay(comparison, "validation", "Perplexity", "Validation Perplexity")
    assert [trace.name for trace in figure.data] == ["slow", "fast", "mid"]
    frame = service.project_runs(None, "text_causal_language_modeling", "Perplexity")
    assert len(frame) == 3 and "training.learning_rate" in frame.columns
    parallel = compare_charts.parallel(frame, "Perplexity")
    assert parallel.data[0].type == "parcoords"


def test_bad_selections_are_refused_with_a_reason(setup):
    service, runs = setup
    assert parse_ids("a, b,,a") == ["a", "b"]
    with pytest.raises(CompareError, match="choose 2 to 8"):
        service.load([runs[0]["id"]])
    with pytest.raises(CompareError, match="no experiment with id 'nope'"):
        service.load([runs[0]["id"], "nope"])


def test_stored_win_rates_of_the_compared_runs_show_against_what(setup, studio_home):
    service, runs = setup
    slow, fast, _mid = runs
    assert service.win_rates(service.load([slow["id"], fast["id"]])).empty
    completed_evaluation(service.store, studio_home, fast, "base", "base model tiny", ["win", "win", "tie", "loss"])
    completed_evaluation(service.store, studio_home, fast, slow["id"], "slow", ["win"] * 3 + ["tie"])
    service.store.evaluations.add({"experiment_id": slow["id"], "baseline": "base",
                                             "baseline_name": "base model tiny", "judge_model": "judge",
                                             "pid": 999_999_999})
    table = service.win_rates(service.load([slow["id"], fast["id"]]))
    assert table["experiment"].tolist() == ["slow", "fast", "fast"]
    assert table.iloc[0]["status"] == "Failed" and table.iloc[0]["win rate"] != table.iloc[0]["win rate"]  # no rate
    head_to_head = table[table["against"] == "slow (compared here)"].iloc[0]
    assert (head_to_head["wins"], head_to_head["ties"], head_to_head["losses"]) == (3, 1, 0)
    assert head_to_head["win rate"] == "87.5%"
    base = table[(table["against"] == "base model tiny") & (table["experiment"] == "fast")].iloc[0]
    assert base["win rate"] == "62.5%" and base["prompts"] == 4
    low, high = base["95% CI"].rstrip("%").split("–")
    assert 0 < float(low) < 62.5 < float(high) < 100


@pytest.mark.parametrize("problem_type", ["image_classification", "object_detection"])
def test_image_runs_predictions_come_with_the_rows_images(studio_home, problem_type):
    import io

    from PIL import Image

    from studio.ui.compare_predictions import predictions_table

    store = Store(studio_home)
    service = CompareService(store, ExperimentService(store, Supervisor(store, studio_home, gpus=[]), studio_home),
                             studio_home)
    runs = completed_image_runs(store, studio_home, ["vit-a", "vit-b"], problem_type)
    comparison = service.load([r["id"] for r in runs])
    frame = service.predictions(comparison)
    assert frame.columns.tolist() == ["row", "target", "vit-a", "vit-b"] and frame["row"].tolist() == [1, 2, 3]
    images = service.prediction_images(comparison, frame["row"].tolist())
    assert sorted(images) == [1, 2, 3]
    assert all(Image.open(io.BytesIO(data)).size == (32, 32) for data in images.values())  # the dataset's own

    table = predictions_table(frame, images, problem_type, ["vit-a", "vit-b"]).value
    assert table["headers"][:2] == ["row", "image"]
    cells = [row[1] for row in table["data"]]
    assert all(cell.startswith("<img src='data:image/jpeg;base64,") and "alt='row" in cell for cell in cells)
    if problem_type == "object_detection":  # each run's cell: the image with that run's boxes
        assert all("<img src='data:image/jpeg" in row[3] and "predicted: 1 box" in row[3] for row in table["data"])


def test_text_runs_predictions_have_no_image_column(setup):
    from studio.ui.compare_predictions import predictions_table

    service, runs = setup
    comparison = service.load([r["id"] for r in runs])
    frame = service.predictions(comparison)
    assert service.prediction_images(comparison, frame["row"].tolist()) == {}
    assert "image" not in predictions_table(frame, {}, comparison.runs[0].problem_type, []).value["headers"]


def test_a_long_curve_is_thinned_to_the_chart_width_keeping_its_ends_and_a_spike():
    import numpy as np

    from studio.ui.curve_thinning import MAX_POINTS, thin

    xs = np.arange(1, 5001)
    ys = 3.0 * np.exp(-xs / 1000)
    ys[2345] = 50.0  # a loss spike, one step wide
    tx, ty = thin(xs, ys)
    assert len(tx) == MAX_POINTS and (tx[0], tx[-1]) == (1, 5000) and np.all(np.diff(tx) > 0)
    assert 50.0 in ty  # plain striding would have dropped it
    assert np.allclose(np.interp(xs, tx, ty)[::50][:40], ys[::50][:40], atol=0.01)  # the shape is kept
    short_x, short_y = thin([1, 2, 3], [3.0, float("nan"), 1.0])
    assert short_x.tolist() == [1, 2, 3] and np.isnan(short_y[1])  # short curves stay as they are


def test_the_compare_charts_draw_every_run_thinned_and_as_svg(studio_home):
    store = Store(studio_home)
    service = CompareService(store, ExperimentService(store, Supervisor(store, studio_home, gpus=[]), studio_home),
                             studio_home)
    runs = [completed_run(store, studio_home, f"r{i}", 1e-4, points=1000) for i in range(2)]
    figure = compare_charts.overlay(service.load([r["id"] for r in runs]), "train", "loss", "Training loss")
    assert [t.type for t in figure.data] == ["scatter", "scatter"]
    assert all(len(t.x) == 600 and t.x[0] == 1 and t.x[-1] == 1000 for t in figure.data)
