"""The checks of a GPU check, the machine they ran on and the report file (Markdown or JSON)."""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from utils.io import atomic_write


@dataclass
class Check:
    """One line of the report: ``name``, whether it passed, one line of ``detail`` (what was
    compared, the largest differences, the tolerance) and the raw ``figures``."""

    name: str
    passed: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


def _driver_version() -> str:
    """The NVIDIA driver version from ``nvidia-smi`` ("unknown" without it)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "unknown (no nvidia-smi)"
    try:
        out = subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown (nvidia-smi failed)"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def environment(device: torch.device | None = None) -> dict[str, Any]:
    """The machine: GPU name, driver, torch, CUDA and cuDNN versions (GPU fields only when
    ``device`` is a CUDA device), CPU, Python, TF32 switches."""
    env: dict[str, Any] = {"torch": torch.__version__, "python": platform.python_version(),
                           "cpu": platform.processor() or platform.machine(),
                           "cpu_count": os.cpu_count(),
                           "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
                           "tf32_cudnn": torch.backends.cudnn.allow_tf32}
    if device is not None and device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(gpu=torch.cuda.get_device_name(device), gpu_memory_gib=round(
            props.total_memory / 2**30, 1), capability=f"{props.major}.{props.minor}",
                   driver=_driver_version(), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version())
    return env


def markdown(checks: Sequence[Check], env: dict[str, Any], seconds: float) -> str:
    """The report as Markdown: verdict, machine, one table row per check."""
    failed = [c.name for c in checks if not c.passed]
    verdict = "PASS" if checks and not failed else "FAIL"
    lines = [f"# GPU check: {verdict}", "",
             f"{len(checks) - len(failed)} of {len(checks)} checks passed in {seconds:.0f} s"
             + (f"; failed: {', '.join(failed)}" if failed else "") + ".", "", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in env.items()]
    lines += ["", "## Checks", "", "| check | verdict | detail |", "|---|---|---|"]
    for check in checks:
        name, detail = (text.replace("|", "\\|").replace("\n", " ")
                        for text in (check.name, check.detail))
        lines.append(f"| {name} | {check.verdict} | {detail} |")
    return "\n".join(lines) + "\n"


def write_report(path: str | os.PathLike, checks: Sequence[Check], env: dict[str, Any],
                 seconds: float) -> Path:
    """Write the report atomically: JSON for a ``.json`` path (verdict, machine, checks with
    their figures), Markdown otherwise. Returns the path."""
    path = Path(path)
    if path.suffix == ".json":
        text = json.dumps({"passed": bool(checks) and all(c.passed for c in checks),
                           "seconds": seconds, "machine": env,
                           "checks": [asdict(c) for c in checks]}, indent=1, default=str)
    else:
        text = markdown(checks, env, seconds)
    return atomic_write(path, text.encode())
