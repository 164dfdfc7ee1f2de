"""Run logging: a concise console summary, ``metrics.csv`` and (optionally) wandb.

wandb is imported only when enabled. Without a stored login it runs offline into the output folder;
``wandb sync <output_dir>/wandb/offline-run-*`` uploads such a run later.
"""
from __future__ import annotations

import csv
import io
import netrc
import os
import time
from pathlib import Path
from typing import Any

from utils.io import atomic_write


def _wandb_logged_in() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


class RunLogger:
    """Logs dictionaries of scalars to the console, ``metrics.csv`` and wandb.

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
        self._wandb_run = None
        if use_wandb:
            import wandb

            mode = os.environ.get("WANDB_MODE") or ("online" if _wandb_logged_in() else "offline")
            if mode == "offline":
                print(f"wandb: no login found, logging offline under {self.output_dir / 'wandb'} "
                      f"(upload later with `wandb sync {self.output_dir / 'wandb'}/offline-run-*`)")
            self._wandb_run = wandb.init(project=project, name=f"{time.asctime()[:-4]} {name}",
                                         group=group, config=config, dir=str(self.output_dir),
                                         mode=mode)

    def log(self, values: dict[str, float], step: int) -> None:
        """Send ``values`` to wandb (when enabled) at ``step``."""
        if self._wandb_run is not None:
            self._wandb_run.log(values, step=step)

    @property
    def uses_wandb(self) -> bool:
        """Whether a wandb run is open (figures are worth drawing only then)."""
        return self._wandb_run is not None

    def log_figures(self, figures: dict[str, Any], step: int) -> None:
        """Log matplotlib figures (``eval.plot``'s, not tied to pyplot) as wandb images at
        ``step``."""
        if self._wandb_run is None:
            return
        import wandb

        self._wandb_run.log({name: wandb.Image(fig) for name, fig in figures.items()}, step=step)

    def append_csv(self, row: dict[str, Any]) -> None:
        """Append ``row`` to ``metrics.csv``; the header is written with the first row.

        A row with new columns rewrites the header so that old rows stay aligned.
        """
        rows: list[dict[str, Any]] = []
        fields = list(row)
        if self.csv_path.exists():
            with self.csv_path.open(newline="") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader)
                old = reader.fieldnames or []
            fields = list(old) + [k for k in row if k not in old]
        rows.append(row)
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(self.csv_path, text.getvalue().encode("utf-8"))

    def finish(self) -> None:
        if self._wandb_run is not None:
            self._wandb_run.finish()
