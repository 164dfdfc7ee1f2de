"""tools/slurm/*.sbatch, the Slurm recipe of the README and docs/slurm.md: valid for /bin/sh
(dash on Debian: no `source`), the venv's python by path, one log per job and array task,
threads from the allocation. Run here with `sh` and the variables Slurm sets, a stand-in
training script (tests/helpers.py's FAKE_SCRIPT, as in tests/test_sweep.py) and a stand-in
venv."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.selection import read_summary
from tests.helpers import FAKE_SCRIPT, REPO_ROOT

SWEEP = REPO_ROOT / "tools" / "slurm" / "sweep.sbatch"
SUMMARIZE = REPO_ROOT / "tools" / "slurm" / "summarize.sbatch"


def directives(script: Path) -> dict[str, str]:
    """The #SBATCH options of ``script`` (sbatch reads them up to the first command)."""
    found = {}
    for line in script.read_text().splitlines():
        if line and not line.startswith("#"):
            break
        match = re.match(r"#SBATCH --([\w-]+)(?:=(\S+))?", line)
        if match:
            found[match.group(1)] = match.group(2) or ""
    return found


@pytest.mark.parametrize("script", [SWEEP, SUMMARIZE], ids=lambda p: p.name)
def test_script_is_plain_sh_with_the_venv_python(script: Path) -> None:
    text = script.read_text()
    assert text.startswith("#!/bin/sh\n")
    done = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    commands = [line for line in text.splitlines() if line.strip() and
                not line.lstrip().startswith("#")]
    sourcing = re.compile(r"(^|[;&|]\s*)(source|\.)\s")
    assert not any(sourcing.search(line.strip()) for line in commands), \
        "sourcing an activate script: `source` does not exist in dash"
    assert any(".venv/bin/python -m tools.sweep" in line for line in commands)
    assert "cpus-per-task" in directives(script)


def test_logs_are_kept_per_job_and_array_task() -> None:
    sweep, summary = directives(SWEEP), directives(SUMMARIZE)
    assert "%A" in sweep["output"] and "%a" in sweep["output"]
    assert sweep["open-mode"] == "append", "a requeued task appends to its log"
    assert "%j" in summary["output"]
    assert "array" not in sweep, "the seeds are given at submission (--array=0-4)"


@pytest.fixture
def submit_dir(tmp_path: Path) -> Path:
    """A folder standing in for the repository root on a cluster: .venv/bin/python runs this
    interpreter, the repository is on PYTHONPATH."""
    python = tmp_path / "submit" / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "submit" / "fake_train.py").write_text(FAKE_SCRIPT)
    return tmp_path / "submit"


def slurm_env(submit: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLURM_", "FTCL_", "FAKE_"))}
    env.update(PYTHONPATH=str(REPO_ROOT), SLURM_SUBMIT_DIR=str(submit), **extra)
    return env


def test_array_task_runs_its_seed_once_with_the_allocated_threads(submit_dir: Path) -> None:
    task = slurm_env(submit_dir, SLURM_ARRAY_TASK_ID="1", SLURM_CPUS_PER_TASK="3")
    for attempt in range(2):        # submitted, then re-submitted: the complete seed is skipped
        done = subprocess.run(["sh", str(SWEEP), "runs/sweep", "fake_train.py", "--epochs", "2"],
                              env=task, capture_output=True, text=True, cwd="/")
        assert done.returncode == 0, done.stderr
    seed = submit_dir / "runs" / "sweep" / "seed_1"
    assert read_summary(seed)["complete"] is True
    assert (seed / "threads.txt").read_text() == "3", "threads from SLURM_CPUS_PER_TASK"
    assert len((seed / "calls.txt").read_text().splitlines()) == 1
    assert "seed 1: already complete, skipped" in done.stdout

    done = subprocess.run(["sh", str(SUMMARIZE), "runs/sweep"], env=slurm_env(submit_dir),
                          capture_output=True, text=True, cwd="/")
    assert done.returncode == 0, done.stderr
    assert "Sweep summary: 1 run" in done.stdout
    assert (submit_dir / "runs" / "sweep" / "summary.md").is_file()


@pytest.mark.parametrize("script", [SWEEP, SUMMARIZE], ids=lambda p: p.name)
def test_missing_arguments_give_the_usage(script: Path, submit_dir: Path) -> None:
    done = subprocess.run(["sh", str(script)], env=slurm_env(submit_dir), capture_output=True,
                          text=True)
    assert done.returncode == 2 and done.stderr.startswith("usage: sbatch")


def test_sweep_script_outside_an_array_says_so(submit_dir: Path) -> None:
    done = subprocess.run(["sh", str(SWEEP), "runs/sweep", "fake_train.py"],
                          env=slurm_env(submit_dir), capture_output=True, text=True)
    assert done.returncode != 0 and "not an array task" in done.stderr
    assert not (submit_dir / "runs").exists()
