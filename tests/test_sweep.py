"""tools.sweep: seed parsing, resumable sweeps with a fake training script, summaries."""
from __future__ import annotations

import csv
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.selection import read_summary, write_summary
from eval.detection import range_averages
from tests.helpers import FAKE_SCRIPT, REPO_ROOT
from tools import sweep

TIOU = np.arange(0.1, 0.75, 0.1)


@pytest.fixture
def fake_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "fake_train.py"
    path.write_text(FAKE_SCRIPT)
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    for name in ("FAKE_FAIL", "FAKE_INTERRUPT", "FAKE_NO_SUMMARY", "SLURM_CPUS_PER_TASK",
                 "FTCL_SWEEP_THREADS"):
        monkeypatch.delenv(name, raising=False)
    return path


def calls(out: Path, seed: int) -> list[str]:
    path = out / f"seed_{seed}" / "calls.txt"
    return path.read_text().splitlines() if path.is_file() else []


def test_parse_seeds() -> None:
    assert sweep.parse_seeds("0:5") == [0, 1, 2, 3, 4]
    assert sweep.parse_seeds("0,3,7") == [0, 3, 7]
    assert sweep.parse_seeds("4") == [4]
    assert sweep.parse_seeds("0:2,9") == [0, 1, 9]
    for bad in ("5:2", "3:3", "a", "0:", "1,,2", "-1", "0:3,2", ""):
        with pytest.raises(ValueError, match="--seeds"):
            sweep.parse_seeds(bad)


def test_interrupted_sweep_resumes(fake_script: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    out = tmp_path / "sweep"
    argv = ["--seeds", "0:5", "--jobs", "2", "--out", str(out), "--", str(fake_script),
            "--epochs", "3"]
    monkeypatch.setenv("FAKE_FAIL", "2")
    monkeypatch.setenv("FAKE_INTERRUPT", "1")
    monkeypatch.setenv("FAKE_NO_SUMMARY", "4")
    assert sweep.main(argv) == 1
    printed = capsys.readouterr().out
    assert "seed 0: ok" in printed and "seed 3: ok" in printed
    assert "seed 2: FAILED, exit 3" in printed and "boom: seed cannot train" in printed
    assert "seed 1: FAILED, exit 130" in printed and "interrupted at epoch 1" in printed
    assert "seed 4: FAILED, exit 0 but no complete summary.json" in printed
    assert "3 of 5 seeds failed" in printed
    assert "Sweep summary: 2 runs" in printed, "the finished seeds are summarized"
    log = (out / "seed_2" / "log.txt").read_text()
    assert "--seed 2 --output_dir" in log.splitlines()[0] and "boom" in log
    assert read_summary(out / "seed_0")["complete"] is True

    for name in ("FAKE_FAIL", "FAKE_INTERRUPT", "FAKE_NO_SUMMARY"):
        monkeypatch.delenv(name)
    assert sweep.main(argv) == 0
    printed = capsys.readouterr().out
    assert "seed 0: already complete, skipped" in printed
    assert "seed 1: resuming from its latest checkpoint" in printed
    assert len(calls(out, 0)) == len(calls(out, 3)) == 1, "finished seeds are not redone"
    assert calls(out, 1)[-1].endswith("--resume") and not calls(out, 1)[0].endswith("--resume")
    assert not calls(out, 2)[-1].endswith("--resume"), "no checkpoint: a fresh start"
    assert calls(out, 4)[-1].endswith("--resume")
    assert calls(out, 3)[0] == f"--epochs 3 --seed 3 --output_dir {out / 'seed_3'}"
    assert "Sweep summary: 5 runs" in printed
    assert (out / "summary.md").is_file() and (out / "sweep.csv").is_file()

    # Everything complete: nothing runs again.
    assert sweep.main(argv) == 0
    assert all(len(calls(out, s)) == n for s, n in [(0, 1), (1, 2), (2, 2), (3, 1), (4, 2)])


def test_each_run_gets_its_share_of_the_cores(fake_script: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """--jobs 2 in a 4-CPU Slurm task: 2 threads per run, said once and in each seed's log."""
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "4")
    out = tmp_path / "sweep"
    assert sweep.main(["--seeds", "0:2", "--jobs", "2", "--out", str(out), "--",
                       str(fake_script)]) == 0
    assert "torch threads per run: 2 (4 cores (SLURM_CPUS_PER_TASK) / 2 jobs)" in \
        capsys.readouterr().out
    for seed in (0, 1):
        assert (out / f"seed_{seed}" / "threads.txt").read_text() == "2"
        assert "FTCL_SWEEP_THREADS=2 " in (out / f"seed_{seed}" / "log.txt").read_text()
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "4 CPUs")
    assert sweep.main(["--seeds", "2", "--out", str(out), "--", str(fake_script)]) == 1
    assert "SLURM_CPUS_PER_TASK='4 CPUs'" in capsys.readouterr().err
    assert not (out / "seed_2").exists()


def test_help_prints_and_exits_0(capsys) -> None:
    for argv in (["--help"], ["-h"], ["summarize", "--help"]):
        with pytest.raises(SystemExit) as stop:
            sweep.main(argv)
        assert stop.value.code == 0
        printed = capsys.readouterr()
        assert printed.out.startswith("usage: python -m tools.sweep") and printed.err == ""
    assert "FTCL_SWEEP_THREADS" in sweep._sweep_parser().format_help()


def test_failing_seed_does_not_stop_the_others(fake_script: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_FAIL", "0")
    out = tmp_path / "sweep"
    assert sweep.main(["--seeds", "0,1,2", "--out", str(out), "--", str(fake_script)]) == 1
    assert read_summary(out / "seed_0") is None
    assert all(read_summary(out / f"seed_{s}")["complete"] for s in (1, 2))


def test_print_commands(fake_script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys) -> None:
    out = tmp_path / "sweep"
    argv = ["--seeds", "0:3", "--out", str(out), "--print-commands", "--", str(fake_script),
            "--epochs", "2"]
    assert sweep.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [shlex.join([sys.executable, str(fake_script), "--epochs", "2", "--seed", str(s),
                            "--output_dir", str(out / f"seed_{s}")]) for s in range(3)]
    assert lines == expected
    assert not out.exists(), "printing runs nothing and writes nothing"

    (out / "seed_1").mkdir(parents=True)
    (out / "seed_1" / "THUMOS_latest.pth").write_bytes(b"x")
    (out / "seed_0").mkdir()
    write_summary(out / "seed_0", {"complete": True, "seed": 0})
    assert sweep.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"# seed 0: complete ({out / 'seed_0' / 'summary.json'})",
                     expected[1] + " --resume", expected[2]]
    # A wandb agent passes --seed=K: one seed.
    assert sweep.main(["--seed=2", *argv[2:]]) == 0
    assert capsys.readouterr().out.splitlines() == [expected[2]]


def test_bad_sweep_arguments(fake_script: Path, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "sweep")
    for argv, message in [
        (["--seeds", "0:2", "--out", out, "--", str(fake_script), "--seed=3"],
         "--seed is set by the sweep"),
        (["--seeds", "0:2", "--out", out, "--", str(fake_script), "--output_dir", "x"],
         "--output_dir is set by the sweep"),
        (["--seeds", "0:2", "--out", out, "--", str(tmp_path / "missing.py")],
         "missing.py: no such training script"),
        (["--seeds", "2:0", "--out", out, "--", str(fake_script)], "--seeds '2:0'"),
        (["--seeds", "0:2", "--jobs", "0", "--out", out, "--", str(fake_script)],
         "--jobs 0: must be at least 1"),
    ]:
        assert sweep.main(argv) == 1
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sweep.main(["--seeds", "0:2", "--out", out, str(fake_script)])  # no "--"


def test_other_command_in_the_same_folder_is_refused(fake_script: Path, tmp_path: Path,
                                                     capsys) -> None:
    out = str(tmp_path / "sweep")
    assert sweep.main(["--seeds", "0", "--out", out, "--", str(fake_script)]) == 0
    capsys.readouterr()
    assert sweep.main(["--seeds", "1", "--out", out, "--", str(fake_script), "--epochs",
                       "5"]) == 1
    assert "holds a sweep of" in capsys.readouterr().err
    assert not (tmp_path / "sweep" / "seed_1").exists()


def made_up_run(run_dir: Path, seed: int, rng: np.random.Generator,
                heldout: bool = False) -> dict:
    """Write a complete summary.json with random test metrics; return it."""
    def test_metrics() -> dict:
        m_ap = rng.random(len(TIOU))
        return {"tiou": TIOU.tolist(), "mAP": m_ap.tolist(),
                "average": range_averages(TIOU, m_ap)}

    rules = {"test": {"epoch": int(rng.integers(0, 50)), "selected_on": 0.5,
                      "test": test_metrics()},
             "last": {"epoch": 49, "selected_on": None, "test": test_metrics()}}
    if heldout:
        rules["heldout"] = {"epoch": 7, "selected_on": 0.4, "test": test_metrics()}
    summary = {"complete": True, "seed": seed,
               "config": {"dataset": "THUMOS", "train": {"lr": 1e-4},
                          "run": {"seed": seed, "output_dir": str(run_dir)}},
               "select_metric": "0.1:0.7", "rules": rules}
    run_dir.mkdir(parents=True)
    write_summary(run_dir, summary)
    return summary


def read_csv(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(path, newline="") as f:
        return {(row["rule"], row["metric"]): row for row in csv.DictReader(f)}


def test_summary_statistics_match_numpy(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    root = tmp_path / "cluster"
    summaries = {s: made_up_run(root / f"job_{s}", s, rng, heldout=s in (1, 3)) for s in range(5)}
    incomplete = root / "job_9"
    incomplete.mkdir()
    write_summary(incomplete, {"complete": False, "seed": 9})

    assert sweep.main(["summarize", *(str(root / f"job_{s}") for s in range(5)),
                       str(incomplete)]) == 0
    printed = capsys.readouterr().out
    assert "sample standard deviation (ddof=1" in printed
    assert "job_9: left out, summary.json does not say complete" in printed
    rows = read_csv(root / "sweep.csv")
    assert (root / "summary.md").read_text().strip() in printed

    for rule, seeds in (("test", range(5)), ("last", range(5)), ("heldout", (1, 3))):
        for k, tiou in enumerate(TIOU):
            values = np.array([100 * summaries[s]["rules"][rule]["test"]["mAP"][k]
                               for s in seeds])
            row = rows[(rule, f"mAP@{tiou:.2f}".rstrip("0"))]
            assert int(row["n"]) == len(values)
            assert float(row["mean"]) == pytest.approx(values.mean(), rel=1e-9)
            assert float(row["std"]) == pytest.approx(values.std(ddof=1), rel=1e-9)
            assert float(row["min"]) == pytest.approx(values.min(), rel=1e-9)
            assert float(row["max"]) == pytest.approx(values.max(), rel=1e-9)
            for s, value in zip(seeds, values):
                assert float(row[f"job_{s}"]) == pytest.approx(value, rel=1e-9)
            assert f"{values.mean():.2f} ± {values.std(ddof=1):.2f}" in printed
        avg = np.array([100 * summaries[s]["rules"][rule]["test"]["average"]["0.1:0.7"]
                        for s in seeds])
        assert float(rows[(rule, "avg 0.1:0.7")]["mean"]) == pytest.approx(avg.mean())
    assert rows[("heldout", "avg 0.1:0.7")]["job_0"] == ""
    epochs = [summaries[s]["rules"]["test"]["epoch"] for s in range(5)]
    assert float(rows[("test", "epoch")]["mean"]) == pytest.approx(np.mean(epochs))


def test_summarize_a_sweep_folder_and_single_run(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(1)
    for s in (10, 2):
        made_up_run(tmp_path / "sweep" / f"seed_{s}", s, rng)
    (tmp_path / "sweep" / "seed_5").mkdir()  # started, nothing written yet
    text, out_dir = sweep.summarize([tmp_path / "sweep"], tmp_path / "report")
    assert out_dir == tmp_path / "report" and (out_dir / "summary.md").is_file()
    assert "Runs: seed_2, seed_10." in text, "ordered by seed"

    text, _ = sweep.summarize([tmp_path / "sweep" / "seed_2"])
    assert "n/a" in text, "one run: no sample std"
    row = read_csv(tmp_path / "sweep" / "sweep.csv")[("test", "avg 0.1:0.7")]
    assert row["n"] == "1" and row["std"] == ""

    assert sweep.main(["summarize", str(tmp_path / "report")]) == 1
    assert "no complete run to summarize" in capsys.readouterr().err


def test_runs_with_other_metrics_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    made_up_run(tmp_path / "a", 0, rng)
    other = {"complete": True, "seed": 1, "select_metric": "0.5:0.95",
             "rules": {"test": {"epoch": 3, "selected_on": 0.3, "test": {
                 "tiou": [0.5, 0.75], "mAP": [0.4, 0.2], "average": {"0.5:0.75": 0.3}}}}}
    (tmp_path / "b").mkdir()
    write_summary(tmp_path / "b", other)
    with pytest.raises(ValueError, match="differ from those of a"):
        sweep.summarize([tmp_path / "a", tmp_path / "b"])


def test_config_differences_are_noted(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    made_up_run(tmp_path / "a", 0, rng)
    summary = made_up_run(tmp_path / "b", 1, rng)
    summary["config"]["train"]["lr"] = 1e-3
    write_summary(tmp_path / "b", summary)
    text, _ = sweep.summarize([tmp_path / "a", tmp_path / "b"])
    assert "runs differ in config 'train.lr': 0.0001, 0.001" in text
    assert "seed'" not in text and "output_dir" not in text, "per-run settings are not noted"
