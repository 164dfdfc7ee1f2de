"""Checkpoints: atomic writes and safe, strict, clearly-failing reads."""
from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` with ``torch.save`` to a temporary file beside ``path``, then rename it.

    A crash mid-write leaves the previous checkpoint intact.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise OSError(f"{path.parent}: cannot write checkpoints there ({err.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint without unpickling arbitrary objects (``weights_only=True``).

    Accepts this project's checkpoints and the original ones (``{"model_state_dict": ...}``);
    a bare state dict is wrapped as ``{"model_state_dict": sd}``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError):
        raise ValueError(f"{path}: not a readable PyTorch checkpoint (corrupt or truncated, or it "
                         "holds objects other than tensors and plain containers)") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: checkpoint holds a {type(obj).__name__}, expected a dict")
    if "model_state_dict" not in obj:
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            obj = {"model_state_dict": obj}
        else:
            raise ValueError(f"{path}: checkpoint has no 'model_state_dict' entry")
    return obj
