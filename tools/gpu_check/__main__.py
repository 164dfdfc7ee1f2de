"""``python -m tools.gpu_check [--out gpu_report.md]`` (``make gpu-check``): the GPU check.

On a machine with CUDA: the CUDA cases of the test suite, the CPU-vs-CUDA agreement of every
method (:mod:`tools.gpu_check.agreement`) and the benchmarks on CUDA
(:mod:`tools.gpu_check.speed`), then one report (Markdown, or JSON for a ``.json`` path) with
PASS/FAIL per check and the machine; exit status 0 when every check passed, 1 otherwise.
Without CUDA: one line saying so, exit 0, no report. ``--device cpu --small`` runs the
agreement of the CPU against itself at toy sizes (a check of the checker on any machine).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from tools.gpu_check.agreement import Sizes, run_agreement
from tools.gpu_check.report import Check, environment, write_report

REPO = Path(__file__).resolve().parents[2]
CUDA_TEST_FILES = ("tests/test_dp.py", "tests/test_aicl_model.py", "tests/test_aicl_losses.py",
                   "tests/test_co2_model.py", "tests/test_co2_localize.py",
                   "tests/test_stcl_bank.py")
"""The test files with CUDA cases (parametrized over ``DEVICES``, ids containing "cuda")."""
SUITES = ("tests", "agreement", "bench")
SMALL = Sizes(num_videos=60, feature_dim=16, batch_size=4, steps=2,
              extra=("--sample_segments_num", "64"),
              method_extra={"aicl": ("--embed_dim", "8"), "co2net": ("--ccm_hidden", "4"),
                            "stcl": ("--ccm_hidden", "4", "--key_dim", "4")})


def cuda_test_cases(files: Sequence[str] = CUDA_TEST_FILES, timeout_s: int = 300) -> Check:
    """``pytest -k cuda`` on ``files``: PASS when CUDA cases ran and all passed; no case
    collected (a machine without CUDA) is a FAIL."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda",
               *files]
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return Check("test suite, CUDA cases", False, f"pytest ran past {timeout_s} s")
    tail = [line for line in done.stdout.strip().splitlines() if line.strip()]
    last = tail[-1] if tail else done.stderr.strip()[-200:]
    if done.returncode == 5:
        return Check("test suite, CUDA cases", False, f"no CUDA case collected ({last})")
    return Check("test suite, CUDA cases", done.returncode == 0,
                 f"pytest -k cuda {' '.join(files)}: {last}")


def _guarded(name: str, run: Callable[[], list[Check]]) -> list[Check]:
    """``run()``, or one FAIL line naming the error when it raises."""
    try:
        return run()
    except Exception as err:  # noqa: BLE001  (a broken part is a report line, not a crash)
        message = str(err).splitlines()[0] if str(err) else ""
        return [Check(name, False, f"{type(err).__name__}: {message}")]


def run_checks(device: torch.device, suites: Sequence[str], sizes: Sizes) -> list[Check]:
    """The checks of ``suites`` on ``device`` (see the module docstring)."""
    checks: list[Check] = []
    if "tests" in suites:
        checks += _guarded("test suite, CUDA cases", lambda: [cuda_test_cases()])
    if "agreement" in suites:
        checks += _guarded("agreement", lambda: run_agreement(device, sizes))
    if "bench" in suites:
        from tools.gpu_check import speed

        checks += _guarded("bench DP", lambda: speed.dp_checks(device))
        checks += _guarded("bench training step", lambda: speed.train_checks(device))
        checks += _guarded("bench STCL-Net bank", lambda: speed.stcl_checks(device))
        checks += _guarded("bench test pass", lambda: speed.test_pass_checks(device))
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    """The command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.gpu_check",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_report.md",
                        help="report file: Markdown, or JSON for a .json name")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (self-check)")
    parser.add_argument("--only", choices=SUITES, action="append", default=None,
                        help="run only these parts (repeatable; default: all)")
    parser.add_argument("--small", action="store_true",
                        help="toy sizes for the agreement (16-d features, small models)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"gpu-check: CUDA is not available here (torch {torch.__version__}, CUDA build: "
              f"{torch.version.cuda or 'none'}); nothing checked, no report written")
        return 0
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    start = time.perf_counter()
    checks = run_checks(device, args.only or SUITES, SMALL if args.small else Sizes())
    seconds = time.perf_counter() - start
    try:
        path = write_report(args.out, checks, environment(device), seconds)
    except OSError as err:
        print(f"error: --out {args.out}: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    for check in checks:
        print(f"{check.verdict}  {check.name}")
    failed = sum(not c.passed for c in checks)
    print(f"gpu-check: {len(checks) - failed} of {len(checks)} checks passed in {seconds:.0f} s; "
          f"report: {path}")
    return 0 if checks and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
