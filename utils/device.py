"""Device selection: CUDA when available, CPU otherwise; never assumed."""
from __future__ import annotations

import torch


def resolve_device(name: str | None, gpu: str = "0") -> torch.device:
    """``None`` -> ``cuda:<gpu>`` when CUDA is available, else ``cpu``; ``"cuda"`` -> ``cuda:<gpu>``."""
    if name is None:
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{gpu.split(',')[0]}"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
    return device
