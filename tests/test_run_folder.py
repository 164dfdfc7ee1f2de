"""One run per folder: a training command aimed at a folder that already holds a run is refused
(one line, before any work) unless --resume continues it or --overwrite starts it afresh; the
console is copied into the run's train.log."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import torch

from config import parse_config
from engine.run import main
from engine.run_folder import run_records, training_outputs
from tests.helpers import DIM, run_args


@pytest.fixture(scope="module")
def data_dir(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=40, feature_dim=DIM, seed=2)


@pytest.fixture(autouse=True)
def keep_torch_threads(monkeypatch: pytest.MonkeyPatch):
    """The runs below set torch's thread count in this process; give the next test its own."""
    for name in ("FTCL_SWEEP_THREADS", "SLURM_CPUS_PER_TASK"):
        monkeypatch.delenv(name, raising=False)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def args(data: Path, out: Path, *extra: str) -> list[str]:
    return run_args(data, out, "--threads", "1", *extra, batch_size=4, segments=60)


def epochs_in_csv(out: Path) -> list[int]:
    with open(out / "metrics.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_finished_run_is_refused_then_overwritten_to_the_bit(data_dir, tmp_path, capsys):
    out, fresh = tmp_path / "run", tmp_path / "fresh"
    assert main("THUMOS", args(data_dir, out, "--epochs", "2")) == 0
    before = {name: (out / name).read_bytes() for name in ("metrics.csv", "summary.json",
                                                           "THUMOS_latest.pth")}
    capsys.readouterr()

    # The same command again: refused before any work, nothing rewritten.
    assert main("THUMOS", args(data_dir, out, "--epochs", "1")) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"error: --output_dir {out} already holds a run (metrics.csv, "
                           "summary.json, THUMOS_latest.pth)")
    assert "--resume" in line and "--overwrite" in line
    assert {name: (out / name).read_bytes() for name in before} == before

    # --overwrite: the previous run's files go (epoch_001/ of its 2 epochs included), and the
    # new run equals the same command in a fresh folder.
    assert main("THUMOS", args(data_dir, out, "--epochs", "1", "--overwrite")) == 0
    assert "a fresh start, removed the previous run's" in capsys.readouterr().out
    assert main("THUMOS", args(data_dir, fresh, "--epochs", "1")) == 0
    assert epochs_in_csv(out) == [0]
    assert not (out / "epoch_001").exists()
    assert (out / "metrics.csv").read_bytes() == (fresh / "metrics.csv").read_bytes()
    assert json.loads((out / "summary.json").read_text())["rules"] == \
        json.loads((fresh / "summary.json").read_text())["rules"]
    assert json.loads((out / "config.json").read_text())["run"]["overwrite"] is True


def test_resume_and_overwrite_flag_errors_come_before_any_work(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main("THUMOS", args(data_dir, out, "--epochs", "1", "--resume")) == 1
    assert f"--resume: {out / 'THUMOS_latest.pth'} does not exist" in one_error_line(capsys)
    assert not (out / "config.json").exists() and not (out / "train.log").exists()
    assert main("THUMOS", args(data_dir, out, "--resume", "--overwrite")) == 1
    assert "give one of them" in one_error_line(capsys)


def test_leftovers_of_a_run_without_a_finished_epoch_are_replaced(data_dir, tmp_path, capsys):
    """A run that ended before its first epoch left no record: a new run starts there without a
    flag and removes what it left (an epoch folder of another run's length included)."""
    out = tmp_path / "run"
    for name in ("untrained", "epoch_007"):
        (out / name).mkdir(parents=True)
    (out / "config.json").write_text("{}")
    (out / "THUMOS_best.pth").write_bytes(b"stale")
    cfg = parse_config("THUMOS", args(data_dir, out))
    assert run_records(out, "THUMOS") == []
    assert {p.name for p in training_outputs(out, cfg)} == {"untrained", "epoch_007",
                                                             "config.json", "THUMOS_best.pth"}
    assert main("THUMOS", args(data_dir, out, "--epochs", "1")) == 0
    assert not (out / "epoch_007").exists() and (out / "epoch_000").is_dir()
    assert (out / "THUMOS_best.pth").read_bytes() != b"stale"
    assert epochs_in_csv(out) == [0]


def test_train_log_keeps_every_invocation_and_resume_continues(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main("THUMOS", args(data_dir, out, "--epochs", "1")) == 0
    assert main("THUMOS", args(data_dir, out, "--epochs", "2", "--resume")) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert epochs_in_csv(out) == [0, 1]
    log = (out / "train.log").read_text()
    header = re.compile(r"== \d{4}-\d\d-\d\d \d\d:\d\d:\d\d main:THUMOS .* \(pid \d+\)$")
    headers = [line for line in log.splitlines() if header.match(line)]
    assert len(headers) == 2 and "--resume" in headers[1] and "--resume" not in headers[0]
    for line in ("CPU threads: 1 (--threads)", "epoch 0: ", "epoch 1: ", "resumed from "):
        assert line in log, line
    # The copy holds exactly what was printed, stdout and stderr (no progress bars here).
    body = [line for line in log.splitlines() if not header.match(line)]
    assert sorted(body) == sorted((printed + captured.err).splitlines())


def test_a_crash_leaves_its_traceback_in_train_log(data_dir, tmp_path, monkeypatch):
    from engine import trainer

    def broken_fit(self):
        raise RuntimeError("simulated crash in fit")

    monkeypatch.setattr(trainer.Trainer, "fit", broken_fit)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        main("THUMOS", args(data_dir, out, "--epochs", "1"))
    log = (out / "train.log").read_text()
    assert "Traceback" in log and "RuntimeError: simulated crash in fit" in log
