"""Run logging: a concise console summary, ``metrics.csv`` and (optionally) wandb.

wandb is imported only when enabled. Without a stored login it runs offline into the output folder;
``wandb sync <output_dir>/wandb/offline-run-*`` uploads such a run later.

Logging never ends or changes a run: a failure of any channel (starting wandb, its metrics, its
images, ``metrics.csv`` on a full disk, closing wandb) is reported once, in one line, and the
training goes on. Images reach wandb as pixel arrays drawn by the caller, so wandb never has to
recognise a matplotlib figure (its figure path needs ``matplotlib.pyplot``, which the project's
headless figures never import).
"""
from __future__ import annotations

import csv
import io
import netrc
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import numpy as np

from utils.io import atomic_write

T = TypeVar("T")


def _wandb_logged_in() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def _one_line(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class RunLogger:
    """Logs dictionaries of scalars to ``metrics.csv`` and wandb, and images to wandb.

    Args:
        output_dir: the run folder; ``metrics.csv`` (and ``wandb/``) are written there.
        use_wandb: start a wandb run (offline when no login exists).
        project, name, group: wandb run identifiers.
        config: the run arguments, stored with the wandb run.
    """

    def __init__(self, output_dir: str | Path, use_wandb: bool, project: str, name: str,
                 group: str, config: dict[str, Any]) -> None:
        self.output_dir = Path(output_dir)
        self.csv_path = self.output_dir / "metrics.csv"
        self._reported: set[str] = set()
        self._wandb_run = None
        if use_wandb:
            self._wandb_run = self._attempt("wandb (start)", lambda: self._start_wandb(
                project=project, name=name, group=group, config=config))

    def _start_wandb(self, project: str, name: str, group: str, config: dict[str, Any]) -> Any:
        import wandb

        mode = os.environ.get("WANDB_MODE") or ("online" if _wandb_logged_in() else "offline")
        if mode == "offline":
            print(f"wandb: no login found, logging offline under {self.output_dir / 'wandb'} "
                  f"(upload later with `wandb sync {self.output_dir / 'wandb'}/offline-run-*`)")
        return wandb.init(project=project, name=f"{time.asctime()[:-4]} {name}", group=group,
                          config=config, dir=str(self.output_dir), mode=mode)

    def _attempt(self, channel: str, action: Callable[[], T]) -> T | None:
        """Run ``action``; on an exception print one warning line per channel (the first time
        only) and return None instead of raising."""
        try:
            return action()
        except Exception as error:      # noqa: BLE001 - logging must never end a run
            if channel not in self._reported:
                self._reported.add(channel)
                print(f"warning: logging to {channel} failed ({_one_line(error)}); the run goes "
                      f"on (further failures of {channel} are not reported)", flush=True)
            return None

    @property
    def uses_wandb(self) -> bool:
        """Whether a wandb run is open."""
        return self._wandb_run is not None

    def log(self, values: dict[str, float], step: int) -> None:
        """Send ``values`` to wandb (when enabled) at ``step``."""
        if self._wandb_run is not None:
            self._attempt("wandb (metrics)", lambda: self._wandb_run.log(values, step=step))

    def log_images(self, draw: Callable[[], Mapping[str, np.ndarray]], step: int) -> None:
        """Log images to wandb (when enabled) at ``step``. ``draw`` returns ``{name: (H, W, 3)
        uint8 pixels}`` and is called only with wandb on, inside the failure guard (a figure
        that fails to draw does not end the run either)."""
        if self._wandb_run is None:
            return

        def send() -> None:
            import wandb

            self._wandb_run.log({name: wandb.Image(pixels) for name, pixels in draw().items()},
                                step=step)

        self._attempt("wandb (images)", send)

    def append_csv(self, row: dict[str, Any]) -> None:
        """Append ``row`` to ``metrics.csv``; the header is written with the first row.

        A row with new columns rewrites the header so that old rows stay aligned.
        """
        self._attempt(str(self.csv_path), lambda: self._write_csv(row))

    def drop_csv_rows_from(self, epoch: int) -> None:
        """Remove the rows of ``epoch`` and later from ``metrics.csv`` (a resumed run redoes
        them: a run stopped after its checkpoint and before its row, or the other way round,
        keeps one row per epoch)."""
        self._attempt(str(self.csv_path), lambda: self._write_csv(None, before=epoch))

    def _write_csv(self, row: dict[str, Any] | None, before: int | None = None) -> None:
        rows: list[dict[str, Any]] = []
        fields = list(row or {})
        if self.csv_path.exists():
            with self.csv_path.open(newline="") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader)
                old = reader.fieldnames or []
            fields = list(old) + [k for k in fields if k not in old]
        elif row is None:
            return
        if before is not None:
            rows = [r for r in rows if int(r["epoch"]) < before]
        if row is not None:
            rows.append(row)
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(self.csv_path, text.getvalue().encode("utf-8"))

    def finish(self) -> None:
        """Close the wandb run (when one is open)."""
        if self._wandb_run is not None:
            self._attempt("wandb (finish)", self._wandb_run.finish)
