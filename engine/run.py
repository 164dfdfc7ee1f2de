"""Entry point of ``main_thu.py`` / ``main_act.py``: parse, set up, then train or test."""
from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Sequence

import torch

from config import parse_config
from config.run_config import RunConfig
from engine import checkpoints
from engine.build import criterion_from_config, model_from_config
from engine.data import load_split, make_loader, test_dataset
from engine.evaluator import (MAP_IMAGE, TestReport, evaluate, log_values, map_image,
                              report_text)
from engine.run_folder import open_run_folder
from engine.setup import eval_setup, open_logger, prepare_output_dir, prepare_synthetic
from engine.steps import TrainingDiverged
from engine.trainer import Trainer
from methods import method_entry
from utils.console_log import TRAIN_LOG, ConsoleCopy
from utils.device import resolve_device
from utils.seeding import fix_threads, seed_everything
from utils.threads import choose_threads


def run_test(cfg: RunConfig, device: torch.device) -> TestReport:
    """``--test``: evaluate ``--checkpoint`` on the test split and print the mAP table. The model
    and post-processing come from the checkpoint's config when it has one."""
    if not cfg.run.checkpoint:
        raise ValueError("--test needs --checkpoint PATH")
    ckpt_path = Path(cfg.run.checkpoint)
    cfg = checkpoints.config_for_test(cfg, ckpt_path)
    out_dir = prepare_output_dir(cfg.run.output_dir or
                                 ckpt_path.resolve().parent / f"test_{ckpt_path.stem}")
    record = method_entry(cfg.run.method, cfg.dataset)

    def split(name: str):
        return load_split(cfg.data, cfg.class_names, name,
                          record.split_ids(cfg, name) if record.split_ids else None)

    test = split("test")
    model = model_from_config(cfg).to(device)
    checkpoints.load_weights(model, ckpt_path, cfg)
    if record.model_context is not None:     # e.g. STCL-Net's bank of training videos
        record.model_context(model, split("train"), cfg, None)
    loader = make_loader(test_dataset(test, cfg.data), cfg.data, device, batch_size=1,
                         shuffle=False)
    setup = eval_setup(cfg, test, checkpoint=str(ckpt_path))
    report = evaluate(model, loader, criterion_from_config(cfg), setup, device, out_dir,
                      cfg.postprocess.cls_threshold)
    print(report_text(report, f"test of {ckpt_path}"))
    print(f"results and metrics written to {out_dir}")
    logger = open_logger(cfg, out_dir)
    logger.log(log_values(report), step=0)
    logger.log_images(lambda: {MAP_IMAGE: map_image({"test": report}, ckpt_path.name)}, step=0)
    logger.finish()
    return report


def main(dataset: str, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` for ``dataset`` and run; returns the process exit code (1 with one
    ``error:`` line for bad input). A training run copies its console into
    ``<run folder>/train.log`` (``utils.console_log``)."""
    cfg = parse_config(dataset, argv)
    try:    # checks that need no work: the run folder and the thread count
        if cfg.run.output_dir:
            cfg.run.output_dir = cfg.run.output_dir.replace("{seed}", str(cfg.run.seed))
        out_dir = None if cfg.run.test else open_run_folder(cfg)
        threads = choose_threads(cfg.run.threads)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    command = sys.argv if argv is None else [f"main:{dataset}", *argv]
    with ConsoleCopy(out_dir / TRAIN_LOG, command) if out_dir else nullcontext():
        try:
            if cfg.run.synthetic:
                prepare_synthetic(cfg)
            device = resolve_device(cfg.run.device, cfg.run.gpu)
            # On the CPU, deterministic algorithms always: with several threads some kernels
            # otherwise vary from run to run on a loaded machine (seen at 1e-7 after one epoch).
            seed_everything(cfg.run.seed, cfg.run.deterministic or device.type == "cpu")
            # One thread count for the whole run, recorded in config.json and the checkpoints.
            cfg.run.threads = fix_threads(threads.count)
            print(f"CPU threads: {cfg.run.threads} ({threads.source})", flush=True)
            if cfg.run.test:
                run_test(cfg, device)
            else:
                Trainer(cfg, device).fit()
        except (FileNotFoundError, ValueError, OSError, TrainingDiverged) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0
