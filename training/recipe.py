"""The fine-tuning recipe: one loop for every problem type (torchtune style).

``FinetuneRecipe(run_dir).setup(); .train(); .cleanup()``. What differs between problem
types is delegated to ``training.problems.<type>``; this file owns the optimizer, the
schedule, gradient accumulation, clipping, evaluation cadence, checkpoints and logging.
Under torchrun the same loop runs on every rank: ``training.distributed`` says which rank this
is (only rank 0 writes the run folder) and ``training.parallel`` wraps the model (DDP / FSDP2).
"""
from __future__ import annotations

import math
import os
import platform
import random
import time
from pathlib import Path

import numpy as np
import torch

from studio.atomic_io import write_atomic, write_json_atomic
from studio.config import ExperimentConfig, dump_yaml, load_yaml, resolve
from training import checkpoint, data, modeling, optim, sampler, stop_signal
from training.best_evaluation import BestEvaluation
from training.compiled_layers import compile_decoder_layers
from training.distributed import QuietMetrics, RankLogs, Ranks
from training.parallel import build_parallel
from training.problems import EvalContext, Evaluation, Problem, problem_class
from training.run_folder import MetricsWriter, RunLogs, StatusWriter


class FinetuneRecipe:
    def __init__(self, run_dir: Path, *, resume: bool = False, status: StatusWriter | None = None,
                 logs: RunLogs | None = None, ranks: Ranks | None = None):
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.ranks = ranks or Ranks(device=modeling.pick_device())
        self.status = status or StatusWriter(self.run_dir)
        self.logs = logs or RunLogs(self.run_dir)
        self.metrics: MetricsWriter | None = None
        self.last_eval: Evaluation | None = None
        self.step = 0

    # ---- setup: each component from one builder -------------------------------------------
    def setup(self) -> None:
        self.status.update("Starting", stage="loading config", progress=0.0)
        self.logs.capture_warnings()
        self.device = self.ranks.device
        self._log_system()
        cfg = self._load_config()
        self.problem: Problem = problem_class(cfg.problem_type)(cfg, self.logs, self.device)
        self.cfg = cfg = self._resolve(cfg)
        self.problem.cfg = cfg
        self._seed(cfg.environment.seed)

        self.status.update(stage="loading data")
        train, validation, notes = data.load_splits(cfg, self.problem.required_columns(), cfg.environment.seed)
        for note in notes:
            self.logs.train(note)
        self.logs.train(f"data: {len(train.frame)} training rows, {len(validation.frame)} validation rows")
        self.problem.observe_data(train, validation)

        self.status.update(stage="loading model")
        self.autocast_dtype, needs_scaler, sentence = modeling.precision(cfg, self.device)
        self.logs.system(sentence)
        self.problem.autocast_dtype = self.autocast_dtype
        self.parallel = build_parallel(cfg, self.ranks, self.autocast_dtype, self.logs)
        load_kwargs = modeling.load_kwargs(cfg, self.device)
        self.logs.system(f"attention implementation: {load_kwargs['attn_implementation']}")
        model = self._trainable_model(load_kwargs, self.logs)
        if "quantization_config" not in load_kwargs:
            model.to(self.device)
        if cfg.environment.compile_model:
            self.logs.system(f"torch.compile: {compile_decoder_layers(model)} decoder layers (dynamic shapes)")
        self.model = self.parallel.wrap(model)

        self.status.update(stage="preparing data")
        self.problem.build_datasets(train, validation)
        self.token_lengths = self.problem.train_lengths()  # for tokens/s; None for non-text types
        self.lengths = self.token_lengths if cfg.training.use_length_based_sampler else None

        tr = cfg.training
        n_batches = math.ceil(self.problem.train_size() / tr.batch_size)
        # One optimizer step takes grad_accumulation micro-batches on each of world_size ranks.
        self.batches_per_step = tr.grad_accumulation * self.ranks.world_size
        self.steps_per_epoch = math.ceil(n_batches / self.batches_per_step)
        self.total_steps = max(1, math.ceil(tr.epochs * self.steps_per_epoch))
        self.eval_every = (self.total_steps if tr.train_validation_data
                           else max(1, round(tr.evaluation_epochs * self.steps_per_epoch)))
        self.optimizer = optim.build_optimizer(self.model, cfg)
        self.scheduler = optim.build_scheduler(self.optimizer, cfg, self.steps_per_epoch, self.total_steps)
        self.scaler = torch.amp.GradScaler("cuda") if needs_scaler else None
        if self.resume:
            self.step = checkpoint.load_last(self.run_dir / "checkpoint" / "last", self.parallel, self.model,
                                             self.optimizer, self.scheduler, self.scaler)
            self.logs.train(f"resumed from checkpoint/last at step {self.step}/{self.total_steps}")
        self.metrics = (MetricsWriter(self.run_dir, keep_until_step=self.step if self.resume else None)
                        if self.ranks.is_main else QuietMetrics())
        self.best = BestEvaluation(cfg.prediction.metrics)
        if self.resume:
            self.best.replay(self.metrics.records())
        world = self.ranks.world_size
        self.logs.train(f"plan: {tr.epochs:g} epochs x {self.steps_per_epoch} optimizer steps "
                        f"(global batch {tr.batch_size * self.batches_per_step} = batch {tr.batch_size} x "
                        f"{world} process{'es' if world > 1 else ''} x grad accumulation {tr.grad_accumulation}), "
                        f"evaluation every {self.eval_every} steps")

    def _trainable_model(self, load_kwargs: dict, logs) -> torch.nn.Module:
        """The problem's base model with the training mode (LoRA / QLoRA / full) applied, not yet wrapped."""
        model = self.problem.build_model(load_kwargs)
        dropout_blocks = modeling.add_mlp_dropout(model, self.cfg.architecture.intermediate_dropout)
        if dropout_blocks:
            logs.train(f"intermediate dropout {self.cfg.architecture.intermediate_dropout:g} on the output of "
                       f"{dropout_blocks} MLP blocks")
        return modeling.apply_training_mode(
            model, self.cfg, task_type=self.problem.lora_task_type, head_modules=self.problem.head_modules,
            exclude=self.problem.lora_exclude, logs=logs)

    def _load_config(self) -> ExperimentConfig:
        text = (self.run_dir / "config.yaml").read_text(encoding="utf-8")
        if self.ranks.is_main and not self.resume and not (self.run_dir / "config.input.yaml").exists():
            write_atomic(self.run_dir / "config.input.yaml", text)
        return load_yaml(text)

    def _resolve(self, cfg: ExperimentConfig) -> ExperimentConfig:
        cfg, notes = resolve(cfg, max_position_embeddings=self.problem.max_position_embeddings())
        for note in notes:
            self.logs.train(f"config: {note}")
        if self.ranks.is_main:
            write_atomic(self.run_dir / "config.yaml", dump_yaml(cfg))
        return cfg

    def _seed(self, seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        self.logs.system(f"seed {seed}")

    def _log_system(self) -> None:
        import peft
        import psutil
        import transformers

        self.logs.system(f"pid {os.getpid()}, python {platform.python_version()}, torch {torch.__version__}, "
                         f"transformers {transformers.__version__}, peft {peft.__version__}")
        memory = psutil.virtual_memory()
        self.logs.system(f"device {self.device}; {os.cpu_count()} CPUs, {memory.total / 2**30:.1f} GiB RAM "
                         f"({memory.available / 2**30:.1f} GiB free)")
        if self.device.type == "cuda":
            props = torch.cuda.get_device_properties(self.device)
            self.logs.system(f"GPU {props.name}, {props.total_memory / 2**30:.1f} GiB")

    # ---- the loop --------------------------------------------------------------------------
    def train(self) -> None:
        cfg, tr = self.cfg, self.cfg.training
        if tr.evaluate_before_training and self.step == 0:
            self.evaluate(final=False)
        self.status.update("Training", stage=self._stage(), progress=self._progress())
        log_every = max(1, self.total_steps // 20)
        started, tokens = time.time(), 0
        while self.step < self.total_steps:
            epoch = self.step // self.steps_per_epoch
            batches = sampler.epoch_batches(self.problem.train_size(), tr.batch_size, cfg.environment.seed,
                                            epoch, self.lengths)
            size = self.batches_per_step
            groups = [batches[i:i + size] for i in range(0, len(batches), size)]
            if self.step % self.steps_per_epoch == 0:
                self.logs.train(f"epoch {epoch + 1}/{math.ceil(tr.epochs)} begins")
            for group in groups[self.step % self.steps_per_epoch:]:
                loss = self._optimizer_step(group)
                tokens += sum(self._n_tokens(i) for batch in group for i in batch)
                self.step += 1
                epoch_f = self.step / self.steps_per_epoch
                self.metrics.log(self.step, epoch_f, "train", "loss", loss)
                self.metrics.log(self.step, epoch_f, "train", "lr", self.scheduler.get_last_lr()[0])
                self.status.update(stage=self._stage(), progress=self._progress())
                if self.step % log_every == 0:
                    speed = (f", {tokens / max(1e-9, time.time() - started):.0f} tokens/s"
                             if self.token_lengths is not None else "")
                    self.logs.train(f"{self._stage()}: train loss {loss:.4f}, "
                                    f"lr {self.scheduler.get_last_lr()[0]:.3g}{speed}")
                done = self.step >= self.total_steps
                if done or self.step % self.eval_every == 0:
                    self.evaluate(final=done)
                    self.status.update("Training", stage=self._stage(), progress=self._progress())
                if done:
                    break

    def _optimizer_step(self, group: list[list[int]]) -> float:
        """Forward/backward this rank's micro-batches of the group, then one clipped optimizer step.

        Returns the group's mean loss over every rank: the same number a single process with
        the same global batch logs.
        """
        total = 0.0
        shares = rank_share(group, self.ranks.rank, self.ranks.world_size)
        for position, (indices, weight) in enumerate(shares):
            batch = self.problem.collate_train([self.problem.train_sample(i) for i in indices])
            batch = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in batch.items()}
            with self.parallel.gradient_sync(self.model, sync=position == len(shares) - 1):
                loss = self.problem.training_loss(self.model, batch) * weight
                (self.scaler.scale(loss) if self.scaler else loss).backward()
            total += float(loss.detach())
        total = self.ranks.mean(total)
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        if self.cfg.training.gradient_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.training.gradient_clip)
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total

    def _n_tokens(self, index: int) -> int:
        return self.token_lengths[index] if self.token_lengths is not None else 0

    def evaluate(self, *, final: bool) -> Evaluation:
        epoch = self.step / self.steps_per_epoch
        self.status.update("Validation", stage=f"validation at step {self.step}/{self.total_steps}")
        result = self.problem.evaluate(self.model, EvalContext(step=self.step, epoch=epoch, final=final))
        with stop_signal.deferred():  # a Stop or a prune seen in these metrics waits for their checkpoint
            self._record(result, epoch)
        return result

    def _record(self, result: Evaluation, epoch: float) -> None:
        self.metrics.log(self.step, epoch, "validation", "loss", result.loss)
        for name, value in result.metrics.items():
            self.metrics.log(self.step, epoch, "validation", name, value)
        shown = ", ".join([f"loss {result.loss:.4f}"] + [f"{k} {v:.4f}" for k, v in result.metrics.items()])
        self.logs.train(f"validation at step {self.step} (epoch {epoch:.2f}): {shown}")
        for name, reason in result.failed.items():
            self.logs.train(f"metric {name} failed: {reason}")
        tracked = self.best.name
        if self.best.offer(self.step, epoch, result.loss if tracked == "loss" else result.metrics.get(tracked)):
            self.logs.train(f"best {tracked} so far: {self.best.best[tracked]:.4f} at step {self.step}")
        self.last_eval = result
        if self.step > 0:
            checkpoint.save_last(self.run_dir / "checkpoint" / "last", self.parallel, self.model, self.optimizer,
                                 self.scheduler, self.scaler, self.step)

    # ---- outputs ------------------------------------------------------------------------
    def save(self) -> None:
        self.status.update(stage="saving model", progress=0.97)
        plain = self.parallel.plain_model(self.model, self._model_to_receive_weights)
        if plain is None:  # not rank 0: the model is written by rank 0 alone
            return
        ckpt = self.run_dir / "checkpoint"
        mode = self.cfg.architecture.training_mode
        if mode in ("lora", "qlora"):
            plain.save_pretrained(str(ckpt / "adapter"))
        if mode == "qlora":
            # Merging into 4-bit weights would round the update away: merge into a full-precision base.
            from peft import PeftModel

            base = self.problem.build_model(modeling.load_kwargs(self.cfg, self.device, quantize=False))
            self.problem.save_model(PeftModel.from_pretrained(base, str(ckpt / "adapter")), ckpt / "model")
        else:
            self.problem.save_model(plain, ckpt / "model")
        self.logs.train(f"saved the merged model to {ckpt / 'model'}")
        result = self.last_eval
        if result is not None:
            if result.predictions is not None:
                result.predictions.to_parquet(self.run_dir / "predictions.parquet", index=False)
            final = {"loss": result.loss, **result.metrics}
            if self.best.best is not None:
                final["best"] = self.best.best
                self.logs.train(f"best evaluation: {self.best.name} {self.best.best[self.best.name]:.4f} at step "
                                f"{self.best.best['step']}; checkpoint/model holds the final model (step {self.step})")
            write_json_atomic(self.run_dir / "final_metrics.json", final)
        self.status.update("Completed", stage="completed", progress=1.0)
        self.logs.train("run completed")

    def _model_to_receive_weights(self) -> torch.nn.Module:
        """A fresh, unsharded copy of the model on CPU, for FSDP's gathered weights (rank 0)."""
        self.logs.system("FSDP: gathering the full weights into a fresh copy of the model on rank 0 to save it")
        own_logs, self.problem.logs = self.problem.logs, RankLogs(self.ranks.rank)  # said once already
        try:
            return self._trainable_model(modeling.load_kwargs(self.cfg, torch.device("cpu")), self.problem.logs)
        finally:
            self.problem.logs = own_logs

    def cleanup(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
        if getattr(self, "device", None) is not None and self.device.type == "cuda":
            self.logs.system(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
        self.logs.close()

    def _progress(self) -> float:
        return 0.95 * self.step / self.total_steps

    def _stage(self) -> str:
        epochs = math.ceil(self.cfg.training.epochs)
        epoch = min(epochs, max(0, self.step - 1) // self.steps_per_epoch + 1)
        return f"epoch {epoch}/{epochs}, step {self.step}/{self.total_steps}"


def rank_share(group: list[list[int]], rank: int, world_size: int) -> list[tuple[list[int], float]]:
    """This rank's micro-batches of an optimizer step's group, each with its loss weight.

    Rank r takes micro-batches r, r + W, ...; each weighs W / len(group), so that once DDP/FSDP
    average the gradients over the W ranks, the step is the mean over the group's micro-batches,
    exactly as one process accumulating them all. A short last group leaves some ranks a
    micro-batch short: they repeat the group's first one with weight 0, because every rank must
    run the same number of forward/backward passes (collectives) per step.
    """
    mine = [(batch, world_size / len(group)) for batch in group[rank::world_size]]
    per_rank = math.ceil(len(group) / world_size)
    return mine + [(group[0], 0.0)] * (per_rank - len(mine))
