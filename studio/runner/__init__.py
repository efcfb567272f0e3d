"""Run experiments as training processes: a FIFO queue, GPU slots, stop, resume, restart recovery."""
from .errors import RunError
from .run_folder_reader import MetricsTail, read_final_metrics, read_status, tail_log
from .supervisor import Supervisor

__all__ = ["MetricsTail", "RunError", "Supervisor", "read_final_metrics", "read_status", "tail_log"]
