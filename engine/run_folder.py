"""One training run per folder: a training command whose ``--output_dir`` already holds a run
continues it (``--resume``), starts it afresh (``--overwrite``) or is refused, so that two runs
never mix (``metrics.csv`` holding epochs 0, 1, 2, 0, 1, 2).

A folder *holds a run* when it has one of the records of training progress: ``metrics.csv``,
``summary.json`` or ``<dataset>_latest.pth``. A run that ended before finishing its first epoch
leaves none of them (only ``config.json``, ``untrained/``, perhaps ``epoch_000/``); a new run
there starts without a flag. Starting afresh, with or without ``--overwrite``, first removes the
training outputs listed by :func:`training_outputs`. Logs (``train.log``, a sweep's ``log.txt``,
a scheduler's output) and ``wandb/`` stay: they are appended to, never rewritten.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from config.run_config import RunConfig
from engine.selection import SUMMARY_FILE
from engine.setup import prepare_output_dir
from methods import method_entry

METRICS_CSV = "metrics.csv"
CONFIG_JSON = "config.json"
# Evaluation folders of a run besides epoch_NNN/: before training, from scratch or from
# --checkpoint.
START_FOLDERS = ("untrained", "start")


def run_folder(cfg: RunConfig) -> Path:
    """The run's folder: ``--output_dir``, default ``runs/<dataset>/<group>/<model_name>``."""
    return Path(cfg.run.output_dir or f"runs/{cfg.dataset}/{cfg.run.group}/{cfg.run.model_name}")


def latest_path(out: Path, dataset: str) -> Path:
    """The checkpoint ``--resume`` continues from."""
    return out / f"{dataset}_latest.pth"


def run_records(out: Path, dataset: str) -> list[Path]:
    """The records of training progress present in ``out`` (empty: it holds no run)."""
    candidates = [out / METRICS_CSV, out / SUMMARY_FILE, latest_path(out, dataset)]
    return [path for path in candidates if path.exists()]


def training_outputs(out: Path, cfg: RunConfig) -> list[Path]:
    """Every file and folder a training run writes into ``out`` that is present: the records,
    ``config.json``, the best checkpoint (and the method's bare state dict), ``epoch_NNN/`` and
    the evaluations before training."""
    bare = method_entry(cfg.run.method, cfg.dataset).bare_file(cfg.dataset)
    files = [*run_records(out, cfg.dataset), out / CONFIG_JSON, out / f"{cfg.dataset}_best.pth"]
    if bare:
        files.append(out / bare)
    folders = sorted(out.glob("epoch_[0-9][0-9][0-9]*")) + [out / name for name in START_FOLDERS]
    return [path for path in dict.fromkeys(files + folders) if path.exists()]


def open_run_folder(cfg: RunConfig) -> Path:
    """Create the run folder, check that it is writable and that this command may train there
    (see the module docstring); returns it. ValueError with one line when ``--resume`` has no
    checkpoint to continue, when ``--resume`` and ``--overwrite`` are both given, or when the
    folder holds a run and neither is."""
    out = prepare_output_dir(run_folder(cfg))
    run = cfg.run
    if run.resume and run.overwrite:
        raise ValueError("--resume continues the run in --output_dir, --overwrite deletes it: "
                         "give one of them")
    latest = latest_path(out, cfg.dataset)
    if run.resume and not latest.is_file():
        raise ValueError(f"--resume: {latest} does not exist, there is no run to continue in "
                         f"{out} (leave --resume out to start one)")
    records = run_records(out, cfg.dataset)
    if records and not run.resume and not run.overwrite:
        names = ", ".join(path.name for path in records)
        raise ValueError(f"--output_dir {out} already holds a run ({names}): add --resume to "
                         "continue it, --overwrite to delete it and start afresh, or give "
                         "another --output_dir")
    return out


def clear_for_fresh_start(out: Path, cfg: RunConfig) -> list[str]:
    """Remove the training outputs in ``out`` (a run that is not resumed starts afresh); returns
    the names removed. Call once the run's set-up has succeeded, so that a refused command leaves
    the folder as it was."""
    removed = []
    for path in training_outputs(out, cfg):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            removed.append(path.name + "/")
        else:
            path.unlink()
            removed.append(path.name)
    return removed
