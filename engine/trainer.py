"""Training: build everything from the run config, then the epoch loop with evaluation cadence,
model selection, checkpoints and logging.

A run folder (``--output_dir``, default ``runs/<dataset>/<group>/<model_name>``) gets
``config.json`` (the resolved config), ``<dataset>_latest.pth`` every epoch,
``<dataset>_best.pth`` when the selection rule (``--select_on``) picks a new evaluation (and, for
a method with a ``state_dict_file`` such as AICL's ``CAS_Only.pkl``, the bare state dict of the
same weights), ``epoch_NNN/`` with the results JSON and ``metrics.json`` of each evaluation
(``heldout/`` inside it for the held-out part), ``metrics.csv`` with one line per epoch and, at
the end, ``summary.json``: the test mAP at the evaluation each selection rule picks. The entry
scripts add ``train.log``, a copy of the console. A folder that already holds a run is refused
unless ``--resume`` continues it or ``--overwrite`` starts it afresh (``engine.run_folder``).

Cadence: every ``--test_every`` epochs from ``--start_test_epoch`` (at the epoch's end), or with
``--eval_every_steps N`` after every N-th training step counted over the whole run (AICL's
original: 50), from ``--start_test_epoch`` on. A record of the history is still one epoch (its
``step`` says when), so N may not be below the steps of one epoch; ``<dataset>_best.pth`` then
holds the weights of the evaluated step, not of the epoch's end. A method's record may shift the
step cadence (``eval_step_offset``: CO2-Net evaluates after steps 201, 401, ...).

A method may bring its own training batches (its record's ``train_batches``, a
``methods.record.BatchSource``: CO2-Net's class-pair batches, one per step); an epoch is then
``steps_per_epoch`` of its batches, and its random stream is saved in every checkpoint and
restored by ``--resume``. Its record may also list the split videos itself (``split_ids``) and
select on the W-TALC convention's table (``select_protocol``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from config.run_config import RunConfig
from engine import checkpoints
from engine.build import (build_optimizer, criterion_from_config, model_from_config, stage_of)
from engine.data import Split, hold_out, load_split, make_loader, test_dataset, training_dataset
from engine.evaluator import (MAP_IMAGE, EvalSetup, TestReport, evaluate, log_values, map_image,
                              report_text)
from engine.selection import RULES, choose_epoch, metric_value, summarize_run, write_summary
from engine.run_folder import CONFIG_JSON, clear_for_fresh_start, latest_path, open_run_folder
from engine.setup import eval_setup, heldout_setup, open_logger
from engine.steps import EpochStats, progress, train_one_epoch
from eval.results import write_json_atomic
from methods import method_entry
from utils.checkpoint import load_checkpoint, save_checkpoint
from utils.run_log import RunLogger


@dataclass
class Evaluation:
    """Where and how one split is evaluated during training."""

    setup: EvalSetup
    loader: Any
    folder: str                       # sub-folder of epoch_NNN/ ("" for the test split)


def _slim(report: TestReport, protocol: str = "primary") -> dict[str, Any]:
    """The part of a report the selection history keeps (no per-class table): the primary result,
    or the W-TALC convention's when ``protocol`` is "wtalc" and the report has it."""
    chosen = report.wtalc if protocol == "wtalc" and report.wtalc is not None else report.primary
    full = chosen.to_json()
    return {k: full[k] for k in ("tiou", "mAP", "average")}


def _is_test_epoch(cfg: RunConfig, epoch: int) -> bool:
    """Evaluated from ``--start_test_epoch`` on, every ``--test_every`` epochs (epoch % N == 0:
    ACM-Net's ActivityNet cadence tests even epochs only); never with a step cadence."""
    return (not cfg.eval.eval_every_steps and epoch >= cfg.eval.start_test_epoch
            and epoch % cfg.eval.test_every == 0)


def _is_test_step(cfg: RunConfig, epoch: int, step: int, offset: int = 0) -> bool:
    """With ``--eval_every_steps N``: evaluated after global step N + offset, 2N + offset, ...
    (counted from 1; ``offset`` from the method's record, 0 for most), from
    ``--start_test_epoch`` on."""
    every, k = cfg.eval.eval_every_steps, step - offset
    return bool(every) and epoch >= cfg.eval.start_test_epoch and k > 0 and k % every == 0


class Trainer:
    """One training run (see the module docstring); :meth:`fit` returns the selected metric."""

    def __init__(self, cfg: RunConfig, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        self.logger: RunLogger | None = None
        self.out_dir = open_run_folder(cfg)
        self.latest = latest_path(self.out_dir, cfg.dataset)
        self.best_path = self.out_dir / f"{cfg.dataset}_best.pth"
        self.record = record = method_entry(cfg.run.method, cfg.dataset)
        bare = record.bare_file(cfg.dataset)
        self.bare_path = self.out_dir / bare if bare else None
        self._refuse_overwriting_start()
        train, test = (load_split(cfg.data, cfg.class_names, s,
                                  record.split_ids(cfg, s) if record.split_ids else None)
                       for s in ("train", "test"))
        train, held = hold_out(train, cfg.data)
        self.model = model_from_config(cfg).to(device)
        self.batch_source = record.train_batches(train, cfg) if record.train_batches else None
        if record.model_context is not None:     # e.g. STCL-Net's bank of training videos
            record.model_context(self.model, train, cfg, self.batch_source)
        if self.batch_source is not None:
            self.train_set = None
            self.steps_per_epoch = int(self.batch_source.steps_per_epoch)
        else:
            self.train_set = training_dataset(stage_of(cfg), train, cfg.data, cfg.run.seed)
            self.steps_per_epoch = math.ceil(len(self.train_set) / cfg.train.batch_size)
        self._check_step_cadence()
        self.criterion = criterion_from_config(cfg)
        self.optimizer = build_optimizer(cfg.optimizer, self.model.parameters())
        self.evaluations = [self._evaluation(eval_setup(cfg, test), test, "")]
        if held is not None:
            self.evaluations.append(self._evaluation(heldout_setup(cfg, held), held, "heldout"))
        test_setup = self.evaluations[0].setup
        self.correct = partial(test_setup.localizer.correct,
                               params=test_setup.localizer.params(test_setup.params))
        self.state = checkpoints.TrainState(start_epoch=cfg.train.start_epoch)
        self.step = 0                 # training steps (batches) done over the whole run
        if cfg.run.resume:
            self.state = checkpoints.resume(self.latest, self.model, self.optimizer,
                                            self.criterion, cfg)
            saved = load_checkpoint(self.latest)
            self.step = int(saved.get(
                "step", (self.state.start_epoch - cfg.train.start_epoch) * self.steps_per_epoch))
            if self.batch_source is not None:
                if "batch_source" not in saved:
                    raise ValueError(f"{self.latest}: no batch_source state to resume the "
                                     "method's training batches from")
                self.batch_source.load_state_dict(saved["batch_source"])
        elif cfg.run.checkpoint:
            checkpoints.load_weights(self.model, cfg.run.checkpoint, cfg)
        if not cfg.run.resume:
            removed = clear_for_fresh_start(self.out_dir, cfg)
            if removed:
                print(f"{self.out_dir}: a fresh start, removed the previous run's "
                      f"{', '.join(removed)}", flush=True)
        write_json_atomic(self.out_dir / CONFIG_JSON, cfg.to_dict())

    def _check_step_cadence(self) -> None:
        every = self.cfg.eval.eval_every_steps
        if every and every < self.steps_per_epoch:
            raise ValueError(f"--eval_every_steps {every}: below the {self.steps_per_epoch} "
                             "steps of one epoch (the history, metrics.csv and epoch_NNN/ keep "
                             "one evaluation per epoch); use at least "
                             f"{self.steps_per_epoch}, or --eval_every_steps 0 with --test_every")

    def _refuse_overwriting_start(self) -> None:
        start = self.cfg.run.checkpoint
        own = [self.latest, self.best_path] + ([self.bare_path] if self.bare_path else [])
        if start and not self.cfg.run.resume and Path(start).resolve() in [p.resolve()
                                                                           for p in own]:
            raise ValueError(f"--checkpoint {start}: this run would overwrite it (it is in "
                             f"--output_dir {self.out_dir}); give this run another --model_name "
                             "or --output_dir")

    def _evaluation(self, setup: EvalSetup, split: Split, folder: str) -> Evaluation:
        loader = make_loader(test_dataset(split, self.cfg.data), self.cfg.data, self.device,
                             batch_size=1, shuffle=False)
        return Evaluation(setup=setup, loader=loader, folder=folder)

    def evaluate_all(self, name: str, epoch: int | None) -> dict[str, TestReport]:
        """Evaluate every split (test, held-out) into ``<out_dir>/<name>/``."""
        reports = {}
        for ev in self.evaluations:
            folder = self.out_dir / name / ev.folder if ev.folder else self.out_dir / name
            reports[ev.folder or "test"] = evaluate(
                self.model, ev.loader, self.criterion, ev.setup, self.device, folder,
                self.cfg.postprocess.cls_threshold, epoch=epoch)
        return reports

    def _select(self, epoch: int, reports: dict[str, TestReport]) -> float:
        """Record the epoch in the history; if the selection rule now picks it, it is the best."""
        key = self.cfg.eval.select_metric
        self.state.history.append({"epoch": epoch, "step": self.step,
                                   "test": _slim(reports["test"], self.record.select_protocol),
                                   "heldout": _slim(reports["heldout"])
                                   if "heldout" in reports else None})
        metric = metric_value(self.state.history[-1]["test"], key)
        rule = self.cfg.eval.select_on
        if choose_epoch(self.state.history, rule, key) == epoch:
            record = self.state.history[-1]
            self.state.best_epoch = epoch
            self.state.best_metric = metric_value(record["heldout" if rule == "heldout"
                                                         else "test"], key)
        return metric

    def _evaluate_and_select(self, epoch: int) -> dict[str, float]:
        """Evaluate every split into ``epoch_NNN/``, record it, and save the best checkpoint(s)
        with the current weights when the selection rule picks this evaluation; returns the
        values to log."""
        cfg = self.cfg
        reports = self.evaluate_all(f"epoch_{epoch:03d}", epoch)
        metric = self._select(epoch, reports)
        when = f"epoch {epoch} step {self.step}" if cfg.eval.eval_every_steps else f"epoch {epoch}"
        print(report_text(reports["test"], f"{when} test ({cfg.eval.select_metric} "
                                           f"{metric * 100:.2f}; selected by "
                                           f"{cfg.eval.select_on}: epoch "
                                           f"{self.state.best_epoch})"), flush=True)
        values: dict[str, float] = {}
        for name, report in reports.items():
            values.update(log_values(report, prefix=name))
        values["best_test_mAP"] = self.state.best_metric
        if cfg.eval.eval_every_steps:
            values["eval_step"] = self.step
        if self.state.best_epoch == epoch:
            self._save_best(self._content(epoch))
        if self.logger is not None:
            self.logger.log_images(lambda: {MAP_IMAGE: map_image(reports, f"epoch {epoch}")},
                                   step=epoch)
        return values

    def _content(self, epoch: int) -> dict[str, Any]:
        content = checkpoints.payload(epoch, self.model, self.optimizer, self.criterion,
                                      self.state, self.cfg)
        content["step"] = self.step
        if self.batch_source is not None:
            content["batch_source"] = self.batch_source.state_dict()
        return content

    def _save_best(self, content: dict[str, Any]) -> None:
        """``<dataset>_best.pth``, and the method's bare state dict file (the original's format,
        CPU tensors) when it has one."""
        checkpoints.save(self.best_path, content)
        if self.bare_path is not None:
            save_checkpoint(self.bare_path,
                            {k: v.detach().cpu() for k, v in self.model.state_dict().items()})

    def _after_step(self, epoch: int, values: dict[str, float]) -> None:
        self.step += 1
        if _is_test_step(self.cfg, epoch, self.step, self.record.eval_step_offset):
            values.update(self._evaluate_and_select(epoch))

    def _epoch(self, epoch: int, logger: RunLogger) -> None:
        cfg = self.cfg
        if self.batch_source is not None:
            loader = self.batch_source.epoch_batches(epoch)
        else:
            self.train_set.set_epoch(epoch)
            loader = make_loader(self.train_set, cfg.data, self.device,
                                 batch_size=cfg.train.batch_size, shuffle=True,
                                 seed=cfg.run.seed, epoch=epoch)
        evaluated: dict[str, float] = {}
        stats = train_one_epoch(self.model, loader, self.criterion, self.optimizer, self.device,
                                cls_threshold=cfg.postprocess.cls_threshold,
                                desc=f"epoch {epoch}", correct=self.correct,
                                after_step=partial(self._after_step, epoch, evaluated))
        losses = "  ".join(f"{k} {v:.4f}" for k, v in stats.losses.items())
        print(f"epoch {epoch}: {stats.steps} steps, {stats.skipped} skipped (non-finite), train "
              f"acc {stats.accuracy:.4f} | {losses}", flush=True)
        values = _train_values(stats)
        values.update(evaluated)
        if _is_test_epoch(cfg, epoch):
            values.update(self._evaluate_and_select(epoch))
        # The row first, then the checkpoint: a run stopped between the two redoes this epoch on
        # --resume, which drops the rows from its start epoch on (one row per epoch either way).
        logger.append_csv({"epoch": epoch, **values})
        logger.log(values, step=epoch)
        checkpoints.save(self.latest, self._content(epoch))

    def fit(self) -> float:
        """Train from the start (or resume) epoch to ``--epochs``; returns the selected metric."""
        cfg = self.cfg
        logger = self.logger = open_logger(cfg, self.out_dir)
        if cfg.run.resume:
            logger.drop_csv_rows_from(self.state.start_epoch)
        initial = self._initial_evaluation()
        for epoch in progress(range(self.state.start_epoch, cfg.train.epochs), "epochs",
                              leave=True):
            self._epoch(epoch, logger)
        logger.finish()
        self._finish(initial)
        return self.state.best_metric

    def _initial_evaluation(self) -> tuple[str, float] | None:
        if not self.cfg.run.eval_untrained or self.cfg.run.resume:
            return None
        name = "start" if self.cfg.run.checkpoint else "untrained"
        report = self.evaluate_all(name, None)["test"]
        print(report_text(report, f"model before training ({self.cfg.run.checkpoint})"
                          if self.cfg.run.checkpoint else "untrained model"), flush=True)
        return name, metric_value(report.primary.to_json(), self.cfg.eval.select_metric)

    def _finish(self, initial: tuple[str, float] | None) -> None:
        cfg, key = self.cfg, self.cfg.eval.select_metric
        summary = summarize_run(self.state.history, key, RULES)
        steps = {record["epoch"]: record.get("step") for record in self.state.history}
        for chosen in summary["rules"].values():
            chosen["step"] = steps[chosen["epoch"]]
        summary.update(complete=True, seed=cfg.run.seed, epochs=cfg.train.epochs,
                       steps=self.step, select_on=cfg.eval.select_on, config=cfg.to_dict())
        write_summary(self.out_dir, summary)
        picked = [f"{rule} (epoch {r['epoch']}) {metric_value(r['test'], key) * 100:.2f}"
                  for rule, r in summary["rules"].items() if r["test"] is not None]
        if picked:
            print(f"test {key} mAP (%) at the epoch each rule selects: " + ", ".join(picked))
            print(f"{self.best_path} holds the epoch selected by --select_on "
                  f"{cfg.eval.select_on} (epoch {self.state.best_epoch})")
        if initial is not None:
            name, value = initial
            rule = summary["rules"].get(cfg.eval.select_on)
            trained = (f"{metric_value(rule['test'], key) * 100:.2f} ({cfg.eval.select_on}, "
                       f"epoch {rule['epoch']})" if rule and rule["test"] else "not tested")
            print(f"{key} mAP (%): {name} {value * 100:.2f} -> trained {trained}")


def _train_values(stats: EpochStats) -> dict[str, float]:
    values = {f"train_{k}_loss" if k != "loss" else "train_loss": v
              for k, v in stats.losses.items()}
    values.update(train_acc=stats.accuracy, train_skipped_steps=stats.skipped)
    return values
