"""Everything ``main_thu.py`` and ``main_act.py`` do: parse, build, then train or test.

Training writes into ``--output_dir`` (default ``runs/<dataset>/<group>/<model_name>``):
``<dataset>_latest.pth`` every epoch, ``<dataset>_best.pth`` on a new best, ``epoch_NNN/`` with the
results JSON and ``metrics.json`` of each evaluation, and ``metrics.csv`` with one line per epoch.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from config import parse_args
from dataset.annotations import load_videos, read_split
from dataset.features import open_feature_store
from dataset.pairs import PairDataset
from dataset.videos import VideoDataset
from eval.detection import format_table
from losses.criterion import build_criterion
from models import build_model, load_state_dict_checked
from utils.checkpoint import load_checkpoint, save_checkpoint
from utils.device import resolve_device
from utils.run_log import RunLogger
from utils.seeding import (capture_rng_states, epoch_generator, restore_rng_states,
                           seed_everything, worker_init_fn)
from utils.testing import TestReport, evaluate
from utils.training import EpochStats, TrainingDiverged, train_one_epoch

REPO_ROOT = Path(__file__).resolve().parents[1]
# Size of the --synthetic datasets: small enough to train and test in minutes on a 2-core CPU.
SYNTHETIC = {
    "THUMOS": {"name": "thumos", "num_videos": 120, "feature_dim": 256},
    "ActivityNet": {"name": "activitynet", "num_videos": 1200, "feature_dim": 256},
}


def prepare_synthetic(args: argparse.Namespace) -> None:
    """Generate (once, cached under ``data/``) the synthetic dataset and point ``args`` at it."""
    from dataset.synthetic import GENERATOR_VERSION, generate

    spec = SYNTHETIC[args.dataset]
    root = REPO_ROOT / "data" / f"synthetic_{spec['name']}"
    meta_path = root / "meta.json"
    wanted = {"num_videos": spec["num_videos"], "feature_dim": spec["feature_dim"], "seed": 0,
              "generator_version": GENERATOR_VERSION}
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    if any(meta.get(k) != v for k, v in wanted.items()):
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"generating the synthetic {args.dataset} dataset under {root} ...")
        generate(tmp, dataset=spec["name"], num_videos=spec["num_videos"],
                 feature_dim=spec["feature_dim"], seed=0)
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
        meta = json.loads(meta_path.read_text())
    args.data_dir = str(root)
    args.feature_dim = int(meta["feature_dim"])
    args.eval_untrained = True


def _data_files(args: argparse.Namespace, split: str) -> tuple[Path, Path]:
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"--data_dir {data_dir}: folder not found (see the README's data "
                                "preparation, or run with --synthetic)")
    gt_path, split_path = data_dir / "gt.json", data_dir / f"split_{split}.txt"
    for path in (gt_path, split_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: file not found (expected in --data_dir)")
    return gt_path, split_path


def _videos_and_store(args: argparse.Namespace, split: str):
    gt_path, split_path = _data_files(args, split)
    videos = load_videos(gt_path, split_path, args.class_names)
    store = open_feature_store(args.data_dir, split, args.feature_dim, args.feature_format)
    return videos, store, read_split(split_path)


def _loader(dataset, args: argparse.Namespace, device: torch.device, *, batch_size: int,
            shuffle: bool, epoch: int = 0) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                      generator=epoch_generator(args.seed, epoch) if shuffle else None,
                      num_workers=args.num_workers, worker_init_fn=worker_init_fn,
                      pin_memory=device.type == "cuda", drop_last=False)


def _select_value(report: TestReport, key: str) -> float:
    """The checkpoint-selection metric: an average range such as "0.1:0.7", or one tIoU."""
    result = report.primary
    if key in result.averages:
        return float(result.averages[key])
    for tiou, value in zip(result.tiou, result.mAP):
        if f"{float(tiou):.2f}".rstrip("0") == key.rstrip("0"):
            return float(value)
    raise ValueError(f"--select_metric {key!r}: not available; choose one of "
                     f"{sorted(result.averages)} or a single tIoU of {list(result.tiou)}")


def _report_text(report: TestReport, title: str) -> str:
    lines = [f"== {title}: {report.num_videos} videos, video accuracy {report.accuracy:.4f}, "
             f"classification mAP {report.cls_map:.4f}", format_table(report.primary)]
    for conv, result in report.by_convention.items():
        avg = "  ".join(f"{k} {v * 100:.2f}" for k, v in result.averages.items())
        lines.append(f"average mAP (%), gt_videos={conv}: {avg}")
    return "\n".join(lines)


def _jsonable(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items()
            if isinstance(v, (str, int, float, bool, list, type(None)))}


def _load_weights(model: torch.nn.Module, path: str) -> dict[str, Any]:
    ckpt = load_checkpoint(path)
    missing = load_state_dict_checked(model, ckpt["model_state_dict"],
                                      allow_missing=("feature_trans.",), source=path)
    if missing:
        print(f"{path}: no feature_trans weights (an ACM-stage checkpoint); they start freshly "
              "initialised")
    return ckpt


def run_test(args: argparse.Namespace, device: torch.device) -> TestReport:
    """``--test``: evaluate ``--checkpoint`` on the test split and print the mAP table."""
    if not args.checkpoint:
        raise ValueError("--test needs --checkpoint PATH")
    model = build_model(args).to(device)
    _load_weights(model, args.checkpoint)
    videos, store, split_ids = _videos_and_store(args, "test")
    loader = _loader(VideoDataset(videos, store, args.sample_segments_num, train=False), args,
                     device, batch_size=1, shuffle=False)
    out_dir = Path(args.output_dir or Path(args.checkpoint).resolve().parent /
                   f"test_{Path(args.checkpoint).stem}")
    report = evaluate(model, loader, build_criterion(args), args, device, out_dir, split_ids)
    print(_report_text(report, f"test of {args.checkpoint}"))
    print(f"results and metrics written to {out_dir}")
    return report


def _log_values(stats: EpochStats, report: TestReport | None, best: float) -> dict[str, float]:
    values = {f"train_{k}_loss" if k != "loss" else "train_loss": v for k, v in stats.losses.items()}
    values.update(train_acc=stats.accuracy, train_skipped_steps=stats.skipped)
    if report is not None:
        values.update({f"test_{k}_loss" if k != "loss" else "test_loss": v
                       for k, v in report.losses.items()})
        values.update(test_acc=report.accuracy, test_cls_mAP=report.cls_map)
        for tiou, value in zip(report.primary.tiou, report.primary.mAP):
            values[f"test_mAP@{float(tiou):.2f}"] = float(value)
        for conv, result in report.by_convention.items():
            for key, value in result.averages.items():
                values[f"test_avg_mAP_{key}_{conv}"] = float(value)
        values["best_test_mAP"] = best
    return values


def run_training(args: argparse.Namespace, device: torch.device) -> float:
    """Train for ``--epochs`` epochs (resuming with ``--resume``); return the best metric."""
    out_dir = Path(args.output_dir or f"runs/{args.dataset}/{args.group}/{args.model_name}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"--output_dir {out_dir}: cannot create it ({err.strerror})") from None
    latest, best_path = out_dir / f"{args.dataset}_latest.pth", out_dir / f"{args.dataset}_best.pth"
    if args.checkpoint and not args.resume and Path(args.checkpoint).resolve() in (
            latest.resolve(), best_path.resolve()):
        raise ValueError(f"--checkpoint {args.checkpoint}: this run would overwrite it (it is in "
                         f"--output_dir {out_dir}); give this run another --model_name or "
                         "--output_dir")

    model = build_model(args).to(device)
    train_videos, train_store, _ = _videos_and_store(args, "train")
    test_videos, test_store, test_ids = _videos_and_store(args, "test")
    if args.ftcl:
        train_set = PairDataset(train_videos, train_store, args.sample_segments_num,
                                seed=args.seed, resample_each_epoch=args.resample_pairs)
        if len(train_set) == 0:
            raise ValueError(f"{args.data_dir}: no two training videos share the same label set, "
                             "so --ftcl has no positive pairs to train on")
    else:
        train_set = VideoDataset(train_videos, train_store, args.sample_segments_num, train=True,
                                 seed=args.seed)
    test_loader = _loader(VideoDataset(test_videos, test_store, args.sample_segments_num,
                                       train=False), args, device, batch_size=1, shuffle=False)
    criterion = build_criterion(args)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999),
                                 weight_decay=args.weight_decay)

    start_epoch, best, best_epoch = args.start_epoch, -math.inf, -1
    if args.resume:
        ckpt = load_checkpoint(latest)
        saved = ckpt.get("args", {})
        for key in ("dataset", "ftcl", "feature_dim"):
            if key in saved and saved[key] != getattr(args, key):
                raise ValueError(f"{latest}: saved with {key}={saved[key]!r}, this run has "
                                 f"{key}={getattr(args, key)!r}")
        load_state_dict_checked(model, ckpt["model_state_dict"], allow_missing=(), source=latest)
        optimizer.load_state_dict(ckpt["optimizer_state_dict"])
        start_epoch, best, best_epoch = ckpt["epoch"] + 1, ckpt["best_metric"], ckpt["best_epoch"]
        restore_rng_states(ckpt["rng"])
        if "criterion_rng" in ckpt:
            criterion.set_rng_state(ckpt["criterion_rng"])
        print(f"resumed from {latest}: epoch {ckpt['epoch']} done, best {best:.4f} "
              f"(epoch {best_epoch})")
    elif args.checkpoint:
        _load_weights(model, args.checkpoint)

    logger = RunLogger(out_dir, use_wandb=not args.without_wandb,
                       project=f"FTCL_{args.dataset}", name=args.model_name, group=args.group,
                       config=_jsonable(args))
    initial, start_name = None, "start" if args.checkpoint else "untrained"
    if args.eval_untrained and not args.resume:
        report = evaluate(model, test_loader, criterion, args, device, out_dir / start_name,
                          test_ids)
        tqdm.write(_report_text(report, f"model before training ({args.checkpoint})"
                                if args.checkpoint else "untrained model"))
        initial = _select_value(report, args.select_metric)

    report = None
    for epoch in tqdm(range(start_epoch, args.epochs), desc="epochs", dynamic_ncols=True):
        train_set.set_epoch(epoch)
        loader = _loader(train_set, args, device, batch_size=args.batch_size, shuffle=True,
                         epoch=epoch)
        stats = train_one_epoch(model, loader, criterion, optimizer, device, pair_mode=args.ftcl,
                                cls_threshold=args.cls_threshold, desc=f"epoch {epoch}")
        losses = "  ".join(f"{k} {v:.4f}" for k, v in stats.losses.items())
        tqdm.write(f"epoch {epoch}: {stats.steps} steps, {stats.skipped} skipped (non-finite "
                   f"loss), train acc {stats.accuracy:.4f} | {losses}")
        report = None
        if epoch >= args.start_test_epoch:
            report = evaluate(model, test_loader, criterion, args, device,
                              out_dir / f"epoch_{epoch:03d}", test_ids)
            metric = _select_value(report, args.select_metric)
            if metric > best:
                best, best_epoch = metric, epoch
            tqdm.write(_report_text(report, f"epoch {epoch} test ({args.select_metric} "
                                            f"{metric * 100:.2f}, best {best * 100:.2f} at "
                                            f"epoch {best_epoch})"))
        payload = {
            "epoch": epoch,
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(),
            "best_metric": best,
            "best_epoch": best_epoch,
            "select_metric": args.select_metric,
            "args": _jsonable(args),
            "rng": capture_rng_states(),
        }
        if hasattr(criterion, "rng_state"):
            payload["criterion_rng"] = criterion.rng_state()
        if best_epoch == epoch:
            save_checkpoint(best_path, payload)
        save_checkpoint(latest, payload)
        values = _log_values(stats, report, best)
        logger.append_csv({"epoch": epoch, **values})
        logger.log(values, step=epoch)
    logger.finish()
    if best_epoch >= 0:
        print(f"best {args.select_metric} mAP {best * 100:.2f} at epoch {best_epoch} "
              f"({best_path}); last epoch's report is above")
    if initial is not None:
        trained = f"{best * 100:.2f} (best, epoch {best_epoch})" if best_epoch >= 0 else "not tested"
        print(f"{args.select_metric} mAP (%): {start_name} {initial * 100:.2f} -> trained {trained}")
    return best


def main(dataset: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of ``main_thu.py`` / ``main_act.py``; returns the process exit code."""
    args = parse_args(dataset, argv)
    try:
        if args.synthetic:
            prepare_synthetic(args)
        device = resolve_device(args.device, args.gpu)
        seed_everything(args.seed, args.deterministic)
        if args.test:
            run_test(args, device)
        else:
            run_training(args, device)
    except (FileNotFoundError, ValueError, OSError, TrainingDiverged) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
