"""The "Delete study" confirmation, on the study page and the Studies page: it names the study and
how many trial experiments it has, and lets the user delete those too or keep them."""
from __future__ import annotations

import html
import logging

import gradio as gr

from studio.runner.run_folder_reader import TERMINAL_STATUSES
from studio.ui import session

log = logging.getLogger(__name__)


def build(ctx, page: str) -> dict:
    """The hidden dialog; ``ask`` opens it for a study, ``confirm`` deletes (wire both with ``outputs``).

    ``page`` ("study" or "studies") names its elements, since both pages are in the document at once."""
    pending = gr.State(None)
    done = gr.State(False)  # whether the last confirm deleted the study (what the page does next)
    with gr.Column(visible=False, elem_classes=["studio-modal", "small"], elem_id=f"{page}-confirm-delete") as modal:
        with gr.Column(elem_classes=["studio-modal-body"]):
            text = gr.Markdown(elem_id=f"{page}-confirm-delete-text")
            with_trials = gr.Checkbox(False, label="Also delete its trial experiments",
                                      elem_id=f"{page}-delete-trials")
            with gr.Row():
                yes = gr.Button("Delete study", variant="stop", elem_id=f"{page}-confirm-delete-yes")
                no = gr.Button("Cancel", elem_id=f"{page}-confirm-delete-no")

    def ask(study_id: str | None) -> list:
        row = ctx.studies.get(study_id) if study_id else None
        if row is None:
            gr.Warning("That study no longer exists.")
            return [gr.update(visible=False), gr.skip(), gr.skip(), None]
        trials = ctx.studies.trial_experiments(study_id)
        live = sum(1 for t in trials if t.get("status") not in TERMINAL_STATUSES)
        lines = [f"### Delete study {html.escape(row['name'])!s}?",
                 f"Its optuna journal (every trial's parameters and values) is removed for good. "
                 f"It has **{len(trials)} trial experiment{'s' * (len(trials) != 1)}**"
                 + (f", {live} of them queued or running: they are stopped first." if live else ".")]
        if row["status"] == "Running":
            lines.append("The study is running: it is stopped first, and queues no more trials.")
        label = f"Also delete its {len(trials)} trial experiment{'s' * (len(trials) != 1)} (run folders, " \
                "checkpoints); unticked, they stay as ordinary experiments"
        return [gr.update(visible=True), "\n\n".join(lines),
                gr.update(value=False, label=label, visible=bool(trials)), study_id]

    def confirm(request: gr.Request, study_id: str | None, delete_trials: bool) -> list:
        """Hides the dialog; returns whether the study was deleted."""
        if not study_id:
            return [gr.update(visible=False), None, False]
        try:
            deleted = ctx.studies.delete(study_id, bool(delete_trials), session.actor(ctx, request))
        except Exception as exc:  # AccessDenied, StudyError, StoreError: said as it is, nothing changed
            log.warning("deleting study %s: %s", study_id, exc)
            gr.Warning(str(exc))
            return [gr.update(visible=False), None, False]
        trials = (f"; its {deleted.trials_deleted} trial experiments were deleted" if deleted.trials_deleted else
                  f"; its {deleted.trials_kept} trial experiments were kept" if deleted.trials_kept else "")
        gr.Info(f"Deleted study {deleted.name}{trials}.")
        return [gr.update(visible=False), None, True]

    no.click(lambda: (gr.update(visible=False), None), None, [modal, pending])
    return {"modal": modal, "pending": pending, "yes": yes, "ask": ask,
            "ask_outputs": [modal, text, with_trials, pending],
            "confirm": confirm, "confirm_inputs": [pending, with_trials], "confirm_outputs": [modal, pending, done],
            "done": done}
