"""End to end: both scripts train one short epoch on tiny synthetic data, test, resume, and fail
clearly on bad checkpoints."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import torch

from dataset.synthetic import generate
from config import parse_config
from engine.build import model_from_config
from engine.run import main
from tests.helpers import DIM, REPO_ROOT, run_args


@pytest.fixture(scope="module")
def thumos_dir(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=60, feature_dim=DIM, seed=1)


@pytest.fixture(scope="module")
def anet_dir(synthetic_data) -> Path:
    return synthetic_data("activitynet", num_videos=500, feature_dim=DIM, seed=1)


common = partial(run_args, batch_size=4, segments=120)


def check_run_folder(out: Path, dataset: str, epochs: int) -> None:
    for name in (f"{dataset}_latest.pth", f"{dataset}_best.pth", "metrics.csv"):
        assert (out / name).is_file(), name
    ckpt = torch.load(out / f"{dataset}_latest.pth", weights_only=True)
    assert ckpt["epoch"] == epochs - 1
    assert {"model_state_dict", "optimizer_state_dict", "best_metric", "best_epoch", "rng",
            "config", "criterion", "history"} <= set(ckpt)
    assert ckpt["config"]["dataset"] == dataset
    assert json.loads((out / "config.json").read_text()) == ckpt["config"]
    assert json.loads((out / "summary.json").read_text())["complete"] is True
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == list(range(epochs))
    for epoch in range(epochs):
        folder = out / f"epoch_{epoch:03d}"
        results = json.loads((folder / f"{dataset}_results.json").read_text())
        assert set(results) >= {"version", "results", "external_data"}
        metrics = json.loads((folder / "metrics.json").read_text())
        assert set(metrics) >= {"tiou", "mAP", "average", "per_class"}
        assert len(metrics["mAP"]) == len(metrics["tiou"])


@pytest.mark.parametrize("script_dataset,fixture", [
    ("THUMOS", "thumos_dir"), pytest.param("ActivityNet", "anet_dir", marks=pytest.mark.slow)])
def test_train_then_ftcl_stage_then_test(request, tmp_path, capsys, script_dataset, fixture):
    data_dir = request.getfixturevalue(fixture)
    acm = tmp_path / "acm"
    assert main(script_dataset, common(data_dir, acm, "--epochs", "1")) == 0
    check_run_folder(acm, script_dataset, 1)

    ftcl = tmp_path / "ftcl"
    best = acm / f"{script_dataset}_best.pth"
    before = best.read_bytes()
    # Training into the checkpoint's own folder would overwrite it: refused, file untouched,
    # even with --overwrite (which would otherwise delete the folder's run first).
    capsys.readouterr()
    assert main(script_dataset, common(data_dir, acm, "--epochs", "1", "--ftcl", "--overwrite",
                                       "--checkpoint", str(best))) == 1
    assert "this run would overwrite it" in capsys.readouterr().err
    assert best.read_bytes() == before
    assert main(script_dataset, common(data_dir, ftcl, "--epochs", "1", "--ftcl",
                                       "--checkpoint", str(best))) == 0
    check_run_folder(ftcl, script_dataset, 1)

    test_out = tmp_path / "test"
    assert main(script_dataset, common(data_dir, test_out, "--test", "--checkpoint",
                                       str(ftcl / f"{script_dataset}_latest.pth"))) == 0
    assert (test_out / f"{script_dataset}_results.json").is_file()
    metrics = json.loads((test_out / "metrics.json").read_text())
    assert all(0.0 <= m <= 1.0 for m in metrics["mAP"])


@pytest.mark.slow
def test_resume_is_bit_exact(thumos_dir, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert main("THUMOS", common(thumos_dir, straight, "--epochs", "2")) == 0
    assert main("THUMOS", common(thumos_dir, resumed, "--epochs", "1")) == 0
    assert main("THUMOS", common(thumos_dir, resumed, "--epochs", "2", "--resume")) == 0
    a = torch.load(straight / "THUMOS_latest.pth", weights_only=True)
    b = torch.load(resumed / "THUMOS_latest.pth", weights_only=True)
    assert a["epoch"] == b["epoch"] == 1
    for key, value in a["model_state_dict"].items():
        assert torch.equal(value, b["model_state_dict"][key]), key
    rows = list(csv.DictReader((resumed / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1]


@pytest.mark.slow
def test_ftcl_resume_is_bit_exact(thumos_dir, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    args = ("--ftcl", "--resample_pairs")
    assert main("THUMOS", common(thumos_dir, straight, "--epochs", "2", *args)) == 0
    assert main("THUMOS", common(thumos_dir, resumed, "--epochs", "1", *args)) == 0
    assert main("THUMOS", common(thumos_dir, resumed, "--epochs", "2", "--resume", *args)) == 0
    a = torch.load(straight / "THUMOS_latest.pth", weights_only=True)["model_state_dict"]
    b = torch.load(resumed / "THUMOS_latest.pth", weights_only=True)["model_state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_original_format_checkpoint_loads_for_test(thumos_dir, tmp_path, capsys):
    """A published checkpoint is {"model_state_dict": ...} with the original key names."""
    args = parse_config("THUMOS", ["--feature_dim", str(DIM)])
    torch.manual_seed(0)
    state = model_from_config(args).state_dict()
    state = {k: v for k, v in state.items() if not k.startswith("feature_trans.")}
    path = tmp_path / "THUMOS_best.pth"
    torch.save({"epoch": 3, "model_state_dict": state}, path)
    assert main("THUMOS", common(thumos_dir, tmp_path / "t", "--test", "--checkpoint",
                                 str(path))) == 0
    assert "average mAP" in capsys.readouterr().out


@pytest.mark.parametrize("problem", ["missing", "corrupt", "wrong_key", "wrong_shape"])
def test_bad_checkpoints_fail_clearly(thumos_dir, tmp_path, capsys, problem):
    args = parse_config("THUMOS", ["--feature_dim", str(DIM)])
    state = model_from_config(args).state_dict()
    path = tmp_path / "ckpt.pth"
    if problem == "corrupt":
        path.write_bytes(b"not a checkpoint at all")
    elif problem == "wrong_key":
        state["snippet_cls.extra"] = torch.zeros(1)
        torch.save({"model_state_dict": state}, path)
    elif problem == "wrong_shape":
        state["snippet_cls.weight"] = torch.zeros(5, DIM)
        torch.save({"model_state_dict": state}, path)
    code = main("THUMOS", common(thumos_dir, tmp_path / "t", "--test", "--checkpoint", str(path)))
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and str(path) in err


def test_ftcl_without_positive_pairs_fails_clearly(tmp_path, capsys):
    data_dir = generate(tmp_path / "few", dataset="thumos", num_videos=10, feature_dim=DIM, seed=1)
    code = main("THUMOS", common(data_dir, tmp_path / "o", "--ftcl", "--epochs", "1"))
    err = capsys.readouterr().err.strip()
    assert code == 1 and "no positive pairs" in err and len(err.splitlines()) == 1


def test_missing_data_dir_is_one_clear_line(tmp_path, capsys):
    code = main("THUMOS", ["--data_dir", str(tmp_path / "nowhere"), "--without_wandb",
                           "--output_dir", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "nowhere" in err and len(err.splitlines()) == 1


def test_scripts_run_as_commands():
    for script in ("main_thu.py", "main_act.py"):
        proc = subprocess.run([sys.executable, script, "--help"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "--ftcl" in proc.stdout and "--data_dir" in proc.stdout


@pytest.mark.slow
def test_without_wandb_never_imports_wandb(thumos_dir, tmp_path):
    code = ("import sys; from engine.run import main; "
            f"rc = main('THUMOS', {common(thumos_dir, tmp_path / 'o', '--epochs', '1')!r}); "
            "assert 'wandb' not in sys.modules, 'wandb was imported'; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
