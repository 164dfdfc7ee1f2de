"""Checkpoints: atomic writes, and safe reads that fail with one line naming the file."""
from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from utils.io import atomic_write

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# torch.save's legacy (pre-1.6) format opens with a protocol-2 pickle of this magic number.
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
_PICKLE_PROTOCOL = b"\x80"
_NPY_MAGIC = b"\x93NUMPY"
_SNIFF_BYTES = 4096
_SHOWN_KEYS = 5


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` with ``torch.save`` atomically (see ``utils.io.atomic_write``): a crash
    mid-write leaves the previous checkpoint intact; the file gets the umask's permissions."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"{path.parent}: cannot write checkpoints there ({err.strerror})") from None
    atomic_write(path, lambda handle: torch.save(payload, handle))


def load_checkpoint(path: str | Path, required: Sequence[str] = ()) -> dict[str, Any]:
    """Read a checkpoint without unpickling arbitrary objects (``weights_only=True``).

    Accepts this project's checkpoints and the original ones (``{"model_state_dict": ...}``);
    a bare state dict (a mapping of names to tensors) is wrapped as ``{"model_state_dict": sd}``.
    ``required`` names further entries the caller needs (e.g. ``"optimizer_state_dict"`` to
    resume).

    Every problem raises one line "<path>: <what is wrong>": FileNotFoundError for a missing
    file, ValueError otherwise (a folder, an empty, text, truncated or foreign file, a pickle of
    objects that the safe load refuses, a payload that is not a checkpoint, missing entries).
    Whether the state dict fits a model is checked by ``models.load_state_dict_checked``.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint file not found")
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror})") from None
    if size == 0:
        raise ValueError(f"{path}: empty file (0 bytes), not a checkpoint")
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror})") from None
    if not head.startswith(_ZIP_MAGIC + (_LEGACY_MAGIC,)):
        raise ValueError(f"{path}: {_what_else(head)}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch.load raises many types on foreign input; all mean "unreadable"
        raise ValueError(f"{path}: {_why_unreadable(path, head, err)}") from None
    return _as_checkpoint(obj, path, required)


def _as_checkpoint(obj: Any, path: Path, required: Sequence[str]) -> dict[str, Any]:
    """``obj`` as ``{"model_state_dict": {name: tensor}, ...}``, or ValueError naming ``path``."""
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: holds a {type(obj).__name__}, not a checkpoint (a dict with "
                         "'model_state_dict', or a state dict)")
    if "model_state_dict" not in obj:
        if obj and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
            obj = {"model_state_dict": obj}
        else:
            raise ValueError(f"{path}: no 'model_state_dict' entry (entries: {_keys(obj)})")
    state = obj["model_state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{path}: 'model_state_dict' is a {type(state).__name__}, expected a "
                         "mapping of parameter names to tensors")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{path}: 'model_state_dict' entry {key!r} is a "
                             f"{type(value).__name__}, not a tensor")
    missing = [key for key in required if key not in obj]
    if missing:
        raise ValueError(f"{path}: checkpoint lacks {', '.join(map(repr, missing))} (entries: "
                         f"{_keys(obj)})")
    return obj


def _keys(obj: Mapping) -> str:
    keys = [repr(k) for k in list(obj)[:_SHOWN_KEYS]]
    more = f", ... ({len(obj)} in all)" if len(obj) > _SHOWN_KEYS else ""
    return (", ".join(keys) + more) if keys else "none"


def _what_else(head: bytes) -> str:
    """What a file is that starts with ``head`` and is in neither of torch.save's formats."""
    if head.startswith(_PICKLE_PROTOCOL):
        return "a Python pickle, not a PyTorch checkpoint (never unpickled: it may run code)"
    if head.startswith(_NPY_MAGIC):
        return "a NumPy .npy array, not a PyTorch checkpoint"
    text = _as_text(head)
    if text is not None:
        return f"a text file, not a PyTorch checkpoint (it starts with {text!r})"
    return "not a PyTorch checkpoint (unrecognised binary content)"


def _why_unreadable(path: Path, head: bytes, err: Exception) -> str:
    """Why ``torch.load`` failed with ``err`` on a file in one of torch.save's formats (zip
    archive, or the legacy pickle stream): truncated, a foreign zip, or refused objects."""
    refused = _weights_only_refusal(err)
    if head.startswith(_LEGACY_MAGIC):
        return refused or (f"truncated or corrupt checkpoint (legacy format; {type(err).__name__}:"
                           f" {_first_line(err)})")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return "truncated or corrupt checkpoint (its zip archive is incomplete)"
    if not any(name.endswith("/data.pkl") or name == "data.pkl" for name in names):
        return ("a zip archive that is not a PyTorch checkpoint (no data.pkl among "
                f"{len(names)} member(s))")
    return refused or f"corrupt checkpoint ({type(err).__name__}: {_first_line(err)})"


def _weights_only_refusal(err: Exception) -> str | None:
    """The safe loader's reason for refusing a pickle, as one line, or None for other errors."""
    message = str(err)
    if "Weights only load failed" not in message:
        return None
    reason = ""
    if "WeightsUnpickler error:" in message:
        detail = message.split("WeightsUnpickler error:", 1)[1].strip().splitlines() or [""]
        reason = detail[0].split(". ", 1)[0].strip()[:160]
    return ("holds Python objects that the safe loader (weights_only=True) refuses; only tensors, "
            "numbers, strings and plain containers are accepted" + (f" ({reason})" if reason
                                                                    else ""))


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:160] if lines else "no details"


def _as_text(head: bytes) -> str | None:
    """The first line of ``head`` (up to 40 characters) if it looks like UTF-8 text, else None."""
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # a multi-byte character cut by the sniff window is fine
            return None
        text = head[:err.start].decode("utf-8")
    if any(not (ch.isprintable() or ch in "\t\r\n") for ch in text):
        return None
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:40]
