"""The real wandb package, offline (``WANDB_MODE=offline``: no network, no login): training runs
of both methods and a ``--test`` run log their metrics and the mAP figure without changing a bit
of the run; a failing logging channel is reported once and the run goes on; the shipped sweep
file, turned into a command line by wandb's own agent code, trains a seed folder."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from engine.evaluator import MAP_IMAGE
from engine.run import main
from tests.helpers import DIM, REPO_ROOT, run_args
from tests.wandb_log import read_offline_runs
from utils.run_log import RunLogger

TEST_KEY = "test_avg_mAP_0.1:0.7_subset"


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """wandb offline, its settings and caches in the test's folder."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb_cache"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb_data"))


@pytest.fixture(scope="module")
def data_dir(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=40, feature_dim=DIM, seed=3)


def ftcl_args(data: Path, out: Path, *extra: str) -> list[str]:
    """No wandb flag: each test adds --wandb or --without_wandb."""
    return run_args(data, out, "--epochs", "3", *extra, wandb=True, batch_size=4, segments=64)


def aicl_args(data: Path, out: Path, *extra: str) -> list[str]:
    return run_args(data, out, "--epochs", "2", "--eval_every_steps", "5", *extra,
                    method="aicl", embed_dim=8, wandb=True, batch_size=4, segments=64)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model_state_dict"]


def assert_same_run(plain: Path, logged: Path, dataset: str = "THUMOS") -> None:
    """Same weights (latest and best), metrics.csv and selection as the run without wandb."""
    for name in (f"{dataset}_latest.pth", f"{dataset}_best.pth"):
        a, b = weights(plain / name), weights(logged / name)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert (plain / "metrics.csv").read_text() == (logged / "metrics.csv").read_text()
    rules = [json.loads((d / "summary.json").read_text())["rules"] for d in (plain, logged)]
    assert rules[0] == rules[1]


def assert_logged(out: Path) -> dict:
    """The offline run under ``out/wandb`` holds every metrics.csv row that has a test mAP (at
    its epoch), the image at each evaluation, and the last test mAP in its summary; returns
    the summary."""
    (run,) = read_offline_runs(out)
    rows = [r for r in csv.DictReader((out / "metrics.csv").open()) if r.get(TEST_KEY)]
    assert rows, "the run evaluated nothing"
    logged = {h["_step"]: h for h in run.history}
    for row in rows:
        entry = logged[int(row["epoch"])]
        assert entry[TEST_KEY] == pytest.approx(float(row[TEST_KEY]), rel=1e-12, abs=1e-15)
        assert entry[f"{MAP_IMAGE}/_type"] == "image-file"
    assert run.summary[TEST_KEY] == pytest.approx(float(rows[-1][TEST_KEY]), rel=1e-12,
                                                  abs=1e-15)
    image = run.folder / "files" / run.summary[f"{MAP_IMAGE}/path"]
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run.summary[f"{MAP_IMAGE}/width"] > 300 and run.summary[f"{MAP_IMAGE}/height"] > 300
    return run.summary


@pytest.mark.slow
def test_ftcl_training_with_wandb_logs_and_changes_nothing(data_dir, tmp_path, capsys):
    assert main("THUMOS", ftcl_args(data_dir, tmp_path / "plain", "--without_wandb")) == 0
    assert not (tmp_path / "plain" / "wandb").exists()     # --without_wandb never starts it
    assert main("THUMOS", ftcl_args(data_dir, tmp_path / "wandb", "--wandb")) == 0
    assert "warning: logging" not in capsys.readouterr().out
    assert_same_run(tmp_path / "plain", tmp_path / "wandb")
    summary = assert_logged(tmp_path / "wandb")
    assert summary["best_test_mAP"] == pytest.approx(
        json.loads((tmp_path / "wandb" / "summary.json").read_text())["rules"]["test"]["test"]
        ["average"]["0.1:0.7"])
    (run,) = read_offline_runs(tmp_path / "wandb")
    assert run.config["run"]["output_dir"] == str(tmp_path / "wandb")


def test_aicl_training_with_wandb_logs_and_changes_nothing(data_dir, tmp_path):
    assert main("THUMOS", aicl_args(data_dir, tmp_path / "plain", "--without_wandb")) == 0
    assert main("THUMOS", aicl_args(data_dir, tmp_path / "wandb", "--wandb")) == 0
    assert_same_run(tmp_path / "plain", tmp_path / "wandb")
    assert_logged(tmp_path / "wandb")
    bare = [torch.load(d / "CAS_Only.pkl", weights_only=True) for d in
            (tmp_path / "plain", tmp_path / "wandb")]
    assert all(torch.equal(bare[0][k], bare[1][k]) for k in bare[0])


def test_test_run_with_wandb_logs_its_table(data_dir, tmp_path):
    assert main("THUMOS", ftcl_args(data_dir, tmp_path / "train", "--without_wandb")) == 0
    ckpt = tmp_path / "train" / "THUMOS_best.pth"
    test = ["--data_dir", str(data_dir), "--feature_dim", str(DIM), "--test", "--checkpoint",
            str(ckpt)]
    assert main("THUMOS", [*test, "--output_dir", str(tmp_path / "plain"),
                           "--without_wandb"]) == 0
    assert main("THUMOS", [*test, "--output_dir", str(tmp_path / "logged"), "--wandb"]) == 0
    metrics = [(tmp_path / d / "metrics.json").read_text() for d in ("plain", "logged")]
    assert metrics[0] == metrics[1]
    (run,) = read_offline_runs(tmp_path / "logged")
    expected = json.loads(metrics[0])["average"]["0.1:0.7"]
    assert run.summary[TEST_KEY] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert run.summary[f"{MAP_IMAGE}/_type"] == "image-file"


@pytest.mark.slow
def test_failing_channels_are_reported_once_and_the_run_goes_on(data_dir, tmp_path, capsys,
                                                                monkeypatch):
    """wandb images fail (a figure that cannot be drawn) and metrics.csv cannot be written (a
    full disk): two warning lines in all, the same weights as a clean run."""
    import engine.trainer
    import utils.run_log

    assert main("THUMOS", ftcl_args(data_dir, tmp_path / "plain", "--without_wandb")) == 0
    capsys.readouterr()

    def no_figure(*args, **kwargs):
        raise RuntimeError("cannot draw\nthis figure")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine.trainer, "map_image", no_figure)
    monkeypatch.setattr(utils.run_log, "atomic_write", full_disk)
    assert main("THUMOS", ftcl_args(data_dir, tmp_path / "failing", "--wandb")) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines()
                if line.startswith("warning: logging")]
    assert len(warnings) == 2, warnings
    assert "wandb (images) failed (RuntimeError: cannot draw this figure)" in warnings[0]
    assert "metrics.csv failed (OSError: [Errno 28] No space left on device)" in warnings[1]
    assert not (tmp_path / "failing" / "metrics.csv").exists()
    for name in ("THUMOS_latest.pth", "THUMOS_best.pth"):
        a, b = weights(tmp_path / "plain" / name), weights(tmp_path / "failing" / name)
        assert all(torch.equal(a[k], b[k]) for k in a)
    (run,) = read_offline_runs(tmp_path / "failing")
    assert TEST_KEY in run.summary and f"{MAP_IMAGE}/_type" not in run.summary


def test_a_wandb_that_cannot_start_does_not_end_the_run(data_dir, tmp_path, capsys,
                                                        monkeypatch):
    import wandb

    def refuse(*args, **kwargs):
        raise wandb.errors.CommError("no route to host")

    monkeypatch.setattr(wandb, "init", refuse)
    logger = RunLogger(tmp_path, use_wandb=True, project="p", name="n", group="g", config={})
    assert not logger.uses_wandb
    logger.log({"x": 1.0}, step=0)
    logger.log_images(lambda: {"y": np.zeros((4, 4, 3), np.uint8)}, step=0)
    logger.append_csv({"epoch": 0, "x": 1.0})
    logger.finish()
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("warning:")] == [
        "warning: logging to wandb (start) failed (CommError: no route to host); the run goes "
        "on (further failures of wandb (start) are not reported)"]
    assert (tmp_path / "metrics.csv").read_text().splitlines() == ["epoch,x", "0,1.0"]


@pytest.mark.slow
def test_shipped_sweep_file_through_the_real_wandb_agent(tmp_path, monkeypatch):
    """wandb's agent builds the command of ``tools/wandb_sweep.yaml`` for seed 3 (its own code:
    ``wandb_agent.Agent._command_run``); run as the agent would (shortened: a small synthetic
    set, one epoch, an output folder of the test's), it trains ``seed_3`` and logs to wandb
    under the sweep run's id."""
    from wandb import wandb_agent

    config = yaml.safe_load((REPO_ROOT / "tools" / "wandb_sweep.yaml").read_text())
    command = list(config["command"])
    command[command.index("--out") + 1] = str(tmp_path / "sweep")
    command += [f"--data_dir={tmp_path / 'synthetic'}", "--epochs=1", "--start_test_epoch=0",
                "--sample_segments_num=64"]
    started = {}

    class Process:                                   # records the command instead of running it
        def __init__(self, command=None, env=None, **kwargs):
            started.update(command=command, env=env)

    monkeypatch.setattr(wandb_agent, "AgentProcess", Process)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SWEEP_ID", "sweep0")
    monkeypatch.setenv("WANDB_RUN_ID", "unset")          # restored after the agent sets it
    agent = wandb_agent.Agent.__new__(wandb_agent.Agent)
    agent.__dict__.update(_sweep_command=command, _function=None, _in_jupyter=False,
                          _run_processes={}, _forward_signals=False)
    agent._command_run({"run_id": "run0003", "program": config["program"],
                        "args": {"seed": {"value": 3}}})
    argv = started["command"]
    assert argv[:4] == ["/usr/bin/env", "python", "-m", "tools.sweep"]
    assert argv[argv.index("--") - 1] == "--seed=3"
    env = dict(started["env"], PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                     os.environ["PATH"]]))
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    seed = tmp_path / "sweep" / "seed_3"
    summary = json.loads((seed / "summary.json").read_text())
    assert summary["complete"] and summary["seed"] == 3
    (run,) = read_offline_runs(seed)
    assert run.folder.name.endswith("-run0003")              # the sweep's run id
    assert TEST_KEY in run.summary
