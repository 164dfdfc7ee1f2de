"""Thread counts: one resolution order (--threads, a sweep's share, SLURM_CPUS_PER_TASK, torch's
default), said in the run's log and recorded in its config; the DP runs at DP_THREADS whatever
the run's count, to the same bits."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from engine.run import main
from losses import dp
from tests.helpers import DIM, run_args
from utils.threads import (SLURM_CPUS_ENV, SWEEP_THREADS_ENV, choose_threads, sweep_share,
                           usable_cores)


@pytest.fixture(autouse=True)
def keep_torch_threads(monkeypatch: pytest.MonkeyPatch):
    """No thread variable leaks in from the environment; torch's count is restored after."""
    for name in (SWEEP_THREADS_ENV, SLURM_CPUS_ENV):
        monkeypatch.delenv(name, raising=False)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_resolution_order() -> None:
    both = {SWEEP_THREADS_ENV: "3", SLURM_CPUS_ENV: "4"}
    assert choose_threads(2, both).count == 2
    assert choose_threads(2, both).source == "--threads"
    assert choose_threads(None, both).count == 3
    assert choose_threads(None, {SLURM_CPUS_ENV: "4"}).count == 4
    assert "SLURM_CPUS_PER_TASK=4" in choose_threads(None, {SLURM_CPUS_ENV: "4"}).source
    assert choose_threads(None, {SLURM_CPUS_ENV: ""}).count is None
    assert choose_threads(None, {}).count is None
    for bad in ("0", "two", "-1", "1.5"):
        with pytest.raises(ValueError, match=f"{SLURM_CPUS_ENV}='{bad}'"):
            choose_threads(None, {SLURM_CPUS_ENV: bad})


def test_sweep_share_divides_the_allocation() -> None:
    assert sweep_share(2, {SLURM_CPUS_ENV: "4"}) == (2, "4 cores (SLURM_CPUS_PER_TASK) / 2 jobs")
    assert sweep_share(3, {SLURM_CPUS_ENV: "4"})[0] == 1
    assert sweep_share(8, {SLURM_CPUS_ENV: "4"})[0] == 1, "at least one thread"
    cores, source = usable_cores({})
    assert source == "CPU affinity" and cores == len(os.sched_getaffinity(0))
    assert sweep_share(1, {})[0] == cores


@pytest.fixture(scope="module")
def data_dir(synthetic_data) -> Path:
    return synthetic_data("thumos", num_videos=40, feature_dim=DIM, seed=2)


def _run(data: Path, out: Path, *extra: str) -> int:
    return main("THUMOS", run_args(data, out, "--epochs", "1", *extra, batch_size=4,
                                   segments=60))


def test_run_takes_slurm_count_logs_and_records_it(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(SLURM_CPUS_ENV, "1")
    torch.set_num_threads(2)
    assert _run(data_dir, tmp_path / "slurm") == 0
    assert torch.get_num_threads() == 1
    line = "CPU threads: 1 (SLURM_CPUS_PER_TASK=1, the CPUs Slurm allocated to the task)"
    assert line in capsys.readouterr().out
    assert line in (tmp_path / "slurm" / "train.log").read_text()
    config = json.loads((tmp_path / "slurm" / "config.json").read_text())
    assert config["run"]["threads"] == 1

    monkeypatch.setenv(SWEEP_THREADS_ENV, "2")     # a sweep's share comes before Slurm's count
    assert _run(data_dir, tmp_path / "sweep") == 0
    assert json.loads((tmp_path / "sweep" / "config.json").read_text())["run"]["threads"] == 2
    assert _run(data_dir, tmp_path / "flag", "--threads", "1") == 0     # the flag wins
    assert json.loads((tmp_path / "flag" / "config.json").read_text())["run"]["threads"] == 1

    monkeypatch.setenv(SWEEP_THREADS_ENV, "many")
    assert _run(data_dir, tmp_path / "bad") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: environment variable {SWEEP_THREADS_ENV}='many': expected a whole "
                   "number of CPU threads >= 1"]


def test_resume_with_another_thread_count_says_so(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(data_dir, out, "--threads", "2") == 0
    assert _run(data_dir, out, "--threads", "1", "--resume", "--epochs", "2") == 0
    assert "was trained with 2 CPU threads, this run uses 1" in capsys.readouterr().out


def _dp_outputs(threads: int) -> list[torch.Tensor]:
    """Scores and gradients of both DPs (hard and smooth) at ``threads`` torch threads."""
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(5)
    sim, gap = (torch.randn(64, 30, 24, generator=gen).tanh() for _ in range(2))
    results = []
    for gamma in (0.0, 0.1):
        a, b = sim.clone().requires_grad_(), gap.clone().requires_grad_()
        lcs, fsd = dp.lcs_score(a, 0.2, gamma), dp.fsd_score(a, b, gamma)
        (lcs * torch.arange(64) + fsd).sum().backward()
        results += [lcs.detach(), fsd.detach(), a.grad, b.grad]
    return results


def test_dp_runs_at_its_own_thread_count_to_the_same_bits(monkeypatch) -> None:
    seen = []
    diag = dp._to_diag                                 # used by both passes of both DPs

    def spy(*args):
        seen.append(torch.get_num_threads())
        return diag(*args)

    monkeypatch.setattr(dp, "_to_diag", spy)
    pinned = _dp_outputs(2)
    assert seen and set(seen) == {dp.DP_THREADS} and torch.get_num_threads() == 2

    seen.clear()
    monkeypatch.setattr(dp, "DP_THREADS", None)        # the caller's count
    at_two, at_one = _dp_outputs(2), _dp_outputs(1)
    assert set(seen) == {1, 2}
    for x, y, z in zip(pinned, at_two, at_one):
        assert torch.equal(x, y) and torch.equal(x, z)


def test_thread_benchmark_runs_and_restores_the_dp_setting(tmp_path) -> None:
    """benchmarks/bench_threads.py with one repetition: every case and configuration timed."""
    from benchmarks.bench_threads import main as bench

    assert bench(["--reps", "1", "--json", str(tmp_path / "t.json")]) == 0
    report = json.loads((tmp_path / "t.json").read_text())
    columns = {f"{t} {mode}" for t in range(1, report["cores"] + 1) for mode in ("run", "pinned")}
    assert len(report["ms"]) == 4
    assert all(set(row) == columns and min(row.values()) > 0 for row in report["ms"].values())
    assert dp.DP_THREADS == 1
