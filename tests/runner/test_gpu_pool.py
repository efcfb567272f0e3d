"""The GPU pool: runs ask for N GPUs, strict FIFO with head-of-line reservation, torchrun for N > 1,
every rank stopped together and found again after a restart."""
from __future__ import annotations

import json

from run_watch import pid_alive, read_events, status_of, wait_for
from studio.runner.gpu_pool import DevicePlan, GpuPool, plan_devices
from studio.runner.launch_command import distributed, engine_argv
from studio.store.database import forget_database
from studio.ui import config_form


def test_pool_hands_out_free_gpus_lowest_first_and_refuses_when_too_few():
    pool = GpuPool(["0", "1", "2", "3"])
    assert pool.take("a", 1) == ["0"]
    assert pool.take("b", 2) == ["1", "2"]
    assert pool.take("c", 2) is None  # one is free, two are asked: nothing is taken
    assert pool.free() == ["3"]
    pool.release("b")
    assert pool.take("c", 3) == ["1", "2", "3"]
    assert not pool.can_ever_fit(5) and pool.can_ever_fit(4)
    assert pool.take("cpu", 0) == []


def test_devices_are_one_process_per_gpu_and_cpu_processes_without_gpus():
    assert plan_devices(4, machine_has_gpus=True) == DevicePlan(num_gpus=4, num_processes=4)
    assert plan_devices(2, machine_has_gpus=False) == DevicePlan(num_gpus=0, num_processes=2)
    assert plan_devices(0, machine_has_gpus=True) == DevicePlan(num_gpus=1, num_processes=1)


def test_a_multi_process_run_is_the_engine_under_torchrun():
    argv = engine_argv("/venv/python", "/home/runs/x")
    assert distributed(argv, 1) == ["/venv/python", "-m", "training", "/home/runs/x"]
    assert distributed(argv, 4) == ["/venv/python", "-m", "torch.distributed.run", "--standalone",
                                    "--nproc_per_node=4", "-m", "training", "/home/runs/x"]


def test_the_gpu_count_field_shows_only_on_a_machine_with_gpus(monkeypatch):
    field = config_form.field_by_path("environment.number_of_gpus")
    assert field.default == 1 and field.needs_gpu
    monkeypatch.setattr(config_form, "machine_has_gpus", lambda: False)
    assert not config_form.visible(field, {})
    monkeypatch.setattr(config_form, "machine_has_gpus", lambda: True)
    assert config_form.visible(field, {})


def _env(studio_home, experiment_id) -> dict:
    return json.loads((studio_home / "runs" / experiment_id / "env.json").read_text())


def test_a_two_gpu_run_at_the_head_is_not_overtaken_by_one_gpu_runs(store, studio_home, add_experiment,
                                                                     make_supervisor):
    first, big, small = add_experiment("wait"), add_experiment("wait", gpus=2), add_experiment("complete")
    supervisor = make_supervisor(gpus=["0", "1"], max_concurrent=2)
    for experiment_id in (first, big, small):
        supervisor.submit(experiment_id)
    wait_for(lambda: status_of(store, first) == "Training", message="first run training")
    wait_for(lambda: store.experiments.get(big).get("stage") == "waiting for 2 free GPU(s)", message="big waits")
    assert _env(studio_home, first)["CUDA_VISIBLE_DEVICES"] == "0"
    assert status_of(store, small) == "Queued", "GPU 1 is free, but the 2-GPU run is ahead of it"

    (studio_home / "runs" / first / "release").touch()
    wait_for(lambda: status_of(store, big) == "Training", timeout=60, message="the 2-GPU run training")
    row = store.experiments.get(big)
    assert row["gpus"] == ["0", "1"] and row["num_processes"] == 2
    assert _env(studio_home, big)["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert _env(studio_home, big)["WORLD_SIZE"] == "2"
    assert "-m torch.distributed.run --standalone --nproc_per_node=2" in \
        (studio_home / "runs" / big / "system.log").read_text()
    assert status_of(store, small) == "Queued"

    (studio_home / "runs" / big / "release").touch()
    wait_for(lambda: status_of(store, small) == "Completed", timeout=60, message="the small run completed")
    assert status_of(store, big) == "Completed"
    starts = [run for kind, run, _ in read_events(studio_home) if kind == "start"]
    assert starts == [first, big, small]


def test_a_run_asking_more_gpus_than_the_machine_has_fails_with_the_field_named(store, add_experiment,
                                                                                make_supervisor):
    experiment_id = add_experiment("complete", gpus=3)
    make_supervisor(gpus=["0", "1"]).submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Failed", message="run failed")
    assert store.experiments.get(experiment_id)["error"].startswith(
        "environment.number_of_gpus is 3 but this machine has 2 GPU(s)")


def test_stop_ends_every_rank_and_restart_reattaches_a_multi_process_run(store, studio_home, add_experiment,
                                                                          make_supervisor):
    stopped, reattached = add_experiment("wait", gpus=2), add_experiment("wait", gpus=2)
    before = make_supervisor(max_concurrent=2)  # CPU: two gloo-style processes per run
    before.submit(stopped)
    before.submit(reattached)
    rank_files = [studio_home / "runs" / i / name for i in (stopped, reattached) for name in ("rank1.json", "env.json")]
    wait_for(lambda: all(path.exists() for path in rank_files), timeout=60, message="both runs' ranks")
    rank_files = rank_files[::2]
    ranks = {path.parent.name: [json.loads(path.read_text())["pid"], _env(studio_home, path.parent.name)["pid"]]
             for path in rank_files}
    assert _env(studio_home, stopped)["CUDA_VISIBLE_DEVICES"] == ""

    before.stop(stopped)
    wait_for(lambda: status_of(store, stopped) == "Stopped", timeout=30, message="run stopped")
    wait_for(lambda: not any(pid_alive(pid) for pid in ranks[stopped]), timeout=10, message="every rank gone")

    before.shutdown()
    forget_database(studio_home / "db.json")
    after = make_supervisor(max_concurrent=2)
    assert after.running_ids() == [reattached]
    assert all(pid_alive(pid) for pid in ranks[reattached])
    (studio_home / "runs" / reattached / "release").touch()
    wait_for(lambda: status_of(store, reattached) == "Completed", timeout=30, message="reattached run completed")


def test_resources_count_the_gpus_of_the_allocation_and_cost_gpu_hours(store, studio_home):
    from studio.services.experiments import PRICE_SETTING, ExperimentService
    from studio.runner import Supervisor
    service = ExperimentService(store, Supervisor(store, studio_home, gpus=["0", "1", "2", "3"]), studio_home)
    store.settings.set(PRICE_SETTING, 2.0)
    local = {"gpus": ["1", "2"], "num_gpus": 2, "runtime_s": 1800.0, "status": "Completed"}
    on_ray = {"gpus": [], "num_gpus": 4, "runtime_s": 3600.0, "status": "Completed"}
    on_cpu = {"gpus": [], "num_gpus": 0, "num_processes": 2, "runtime_s": 3600.0, "status": "Completed"}
    assert (service.resources(local).gpus, service.resources(local).total_cost) == (2, 2.0)
    assert (service.resources(on_ray).gpus, service.resources(on_ray).total_cost) == (4, 8.0)
    assert (service.resources(on_cpu).gpus, service.resources(on_cpu).total_cost) == (0, 0.0)


def test_a_forced_kill_reaches_ranks_that_torchrun_put_in_groups_of_their_own(store, studio_home, add_experiment,
                                                                              make_supervisor):
    experiment_id = add_experiment("wait", gpus=2)
    supervisor = make_supervisor()
    supervisor.submit(experiment_id)
    rank_file = studio_home / "runs" / experiment_id / "rank1.json"
    wait_for(rank_file.exists, timeout=60, message="rank 1 started")
    rank_pid = json.loads(rank_file.read_text())["pid"]
    wait_for(lambda: rank_pid in supervisor._live[experiment_id].pids, message="the runner saw rank 1")
    run = supervisor._live[experiment_id]
    run.executor.stop(run.job, force=True)  # what a hung run or the end of a stop's grace period gets
    wait_for(lambda: not pid_alive(rank_pid), timeout=10, message="rank 1 killed")
    wait_for(lambda: status_of(store, experiment_id) == "Failed", timeout=20, message="run ended")
