"""Jobs on a Ray cluster through Ray's Jobs API (``ray.job_submission.JobSubmissionClient``).

The same engine command the local executor runs (``python -m training RUN_DIR`` or its
torchrun form) is submitted as a Ray job whose entrypoint asks for the run's GPUs and
CPUs, so Ray places it on a node with room and queues it while none has. Ray, not the
studio, owns the GPU placement: Ray sets ``CUDA_VISIBLE_DEVICES`` for the entrypoint.

Assumptions, written down in docs/scale.md: STUDIO_HOME (the run folders) is on storage
every node mounts at the same path (NFS, a cluster file system), and every node has the
same Python environment and studio checkout at the same paths. The engine then writes
its run folder as always, and the supervisor reads it as always; only start, status,
stop and the job's own output go through Ray.
"""
from __future__ import annotations

import logging
import shlex
import time
import uuid
from pathlib import Path

from .base import Executor, ExecutorError, Job, JobState, LaunchSpec

log = logging.getLogger(__name__)

# Ray's own job output (stdout/stderr of the entrypoint), kept in the run folder at the end.
JOB_LOG = "ray_job.log"
CLUSTER_GPUS_TTL_S = 60.0  # nodes come and go; asking once a minute is enough


class RayExecutor(Executor):
    name = "ray"
    schedules_gpus = True

    def __init__(self, address: str, cpus_per_process: float = 1.0):
        self.address = address
        self.cpus_per_process = cpus_per_process
        self._client = None
        self._gpus_seen: tuple[float, bool] | None = None

    def cluster_has_gpus(self) -> bool:
        """Whether any node offers a GPU: runs then ask for GPUs, else for CPU processes."""
        if self._gpus_seen is None or time.monotonic() - self._gpus_seen[0] > CLUSTER_GPUS_TTL_S:
            try:
                from ray.util.state import list_nodes
                nodes = list_nodes(address=self.address)
                has = any((node.resources_total or {}).get("GPU", 0) > 0 for node in nodes)
            except Exception as exc:  # unreachable: the submission will say so
                log.warning("cannot list the Ray cluster's nodes at %s: %s", self.address, exc)
                has = False
            self._gpus_seen = (time.monotonic(), has)
        return self._gpus_seen[1]

    def client(self):
        if self._client is None:
            try:
                from ray.job_submission import JobSubmissionClient
            except ImportError as exc:
                raise ExecutorError("the ray executor needs the ray package: pip install 'ray[default]'") from exc
            try:
                self._client = JobSubmissionClient(self.address)
            except Exception as exc:  # connection refused, bad URL, version mismatch
                raise ExecutorError(f"cannot reach the Ray cluster at {self.address}: {exc}") from exc
        return self._client

    def start(self, spec: LaunchSpec) -> Job:
        submission_id = f"studio-{spec.experiment_id}-{uuid.uuid4().hex[:8]}"
        env = dict(spec.env)
        if spec.num_gpus:
            env.pop("CUDA_VISIBLE_DEVICES", None)  # Ray sets it to the GPUs it gave the entrypoint
        else:
            env["CUDA_VISIBLE_DEVICES"] = ""
        try:
            self.client().submit_job(
                entrypoint=shlex.join(spec.argv), submission_id=submission_id,
                runtime_env={"env_vars": env},
                entrypoint_num_gpus=spec.num_gpus or None,
                entrypoint_num_cpus=self.cpus_per_process * spec.num_processes,
                metadata={"studio_experiment_id": spec.experiment_id, "run_dir": str(spec.run_dir)},
            )
        except ExecutorError:
            raise
        except Exception as exc:
            raise ExecutorError(f"Ray refused the job: {exc}") from exc
        with open(spec.log_path, "a", encoding="utf-8") as output:
            output.write(f"[studio] submitted Ray job {submission_id} to {self.address}: {shlex.join(spec.argv)} "
                         f"({spec.num_gpus} GPU, {self.cpus_per_process * spec.num_processes:g} CPU)\n")
        return Job(self.name, spec.experiment_id, spec.run_dir, job_id=submission_id)

    def poll(self, job: Job) -> JobState:
        from ray.job_submission import JobStatus
        try:
            info = self.client().get_job_info(job.job_id)
        except Exception as exc:
            if _job_unknown(exc):  # a new head forgot it: the run folder tells how it ended
                return JobState(alive=False)
            log.warning("Ray job %s: status unavailable (%s)", job.job_id, exc)
            return JobState(alive=True)  # the head is unreachable for now: keep waiting
        if not info.status.is_terminal():
            return JobState(alive=True)
        self._keep_job_log(job)
        if info.status == JobStatus.SUCCEEDED:
            return JobState(alive=False, exit_code=0)
        if info.status == JobStatus.STOPPED:
            return JobState(alive=False, exit_code=-15)
        code = info.driver_exit_code
        return JobState(alive=False, exit_code=code if code is not None else 1)

    def stop(self, job: Job, force: bool = False) -> None:
        # Ray sends SIGTERM to the entrypoint and its children, then SIGKILL after
        # RAY_JOB_STOP_WAIT_TIME_S; asking again (force) is harmless.
        try:
            self.client().stop_job(job.job_id)
        except Exception as exc:
            log.warning("stopping Ray job %s failed: %s", job.job_id, exc)

    def logs(self, job: Job, lines: int) -> str:
        try:
            text = self.client().get_job_logs(job.job_id)
        except Exception:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def reattach(self, row: dict, run_dir: Path) -> Job | None:
        job_id = row.get("job_id")
        if not job_id:
            return None
        job = Job(self.name, row["id"], run_dir, job_id=job_id)
        try:
            self.client().get_job_status(job_id)
        except ExecutorError:
            return job  # the head is down for now: keep watching, poll retries it
        except Exception as exc:
            return None if _job_unknown(exc) else job  # unknown to the cluster: the run is gone
        return job

    def _keep_job_log(self, job: Job) -> None:
        try:
            (job.run_dir / JOB_LOG).write_text(self.client().get_job_logs(job.job_id), encoding="utf-8")
        except Exception:  # the run's own logs are in its folder already
            pass


def _job_unknown(exc: Exception) -> bool:
    """Whether the Jobs API answered that it has no such job (HTTP 404), not that it is unreachable."""
    text = str(exc)
    return not isinstance(exc, ExecutorError) and ("status code 404" in text or "does not exist" in text)
