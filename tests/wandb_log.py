"""Reads what the real wandb package wrote for an offline run (a test helper, not a test module).

wandb 0.31 keeps an offline run in ``offline-run-*/run-<id>.wandb``: a 7-byte header (``:W&B``,
a magic number and a version) followed by LevelDB-style log records (32 KiB blocks; each chunk
has a 4-byte checksum, a 2-byte little-endian length and a type: 1 full, 2 first, 3 middle,
4 last), each record a ``wandb_internal_pb2.Record`` protobuf. The package ships no reader for
it any more (its core is in Go), so the few lines below read it.
"""
from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7


@dataclass
class OfflineRun:
    """The history rows (one dict per ``log`` call, by ``_step``) and the final summary."""

    folder: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


def _records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path}: not a wandb run file")
    pos, out, part = HEADER, [], b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:                       # block trailer: padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        if kind == 0:                           # zero padding up to the block's end
            pos += left
            continue
        part += data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind in (1, 4):
            out.append(part)
            part = b""
    return out


def _items(items) -> dict[str, Any]:
    return {(item.key or "/".join(item.nested_key)): json.loads(item.value_json) for item in items}


def _finished_records(path: Path, wait_s: float) -> list[Any]:
    """The records of ``path`` once its run is closed (an ``exit`` record written): wandb's
    service process writes the file, and under load it may still be flushing when ``finish``
    has returned. Waits up to ``wait_s`` seconds, then returns what is there."""
    from wandb.proto import wandb_internal_pb2 as pb

    deadline = time.monotonic() + wait_s
    while True:
        records = []
        for raw in _records(path):
            record = pb.Record()
            record.ParseFromString(raw)
            records.append(record)
        if any(r.WhichOneof("record_type") == "exit" for r in records) \
                or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def read_offline_runs(folder: Path, wait_s: float = 60.0) -> list[OfflineRun]:
    """Every offline run under ``folder/wandb``, oldest first (each read once it is closed)."""
    runs = []
    for run_dir in sorted((folder / "wandb").glob("offline-run-*")):
        run = OfflineRun(run_dir)
        for record in _finished_records(next(run_dir.glob("run-*.wandb")), wait_s):
            kind = record.WhichOneof("record_type")
            if kind == "history":
                run.history.append(_items(record.history.item))
            elif kind == "summary":
                run.summary.update(_items(record.summary.update))
            elif kind == "run":
                run.config.update({item.key: json.loads(item.value_json)
                                   for item in record.run.config.update})
        runs.append(run)
    return runs
