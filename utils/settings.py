"""The declaration of one configurable key (a ``--<key>`` flag and a field of ``config.json``),
shared by the run-wide schema (``config/schema.py``) and each method's own settings
(``methods/<name>/settings.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DATASET = object()
"""Marker default: the value comes from the dataset config or from the defaults of the method
that declares the setting."""


@dataclass(frozen=True)
class Setting:
    """One configurable key: section, help line, default, allowed values or numeric range."""

    section: str
    help: str
    default: Any = DATASET
    choices: tuple[Any, ...] | None = None
    low: float | None = None         # inclusive lower bound
    high: float | None = None        # inclusive upper bound
    low_open: bool = False           # the lower bound itself is not allowed
    original: bool = False           # a flag of the original FTCL command line
    kind: type | None = None         # type when the default is None or dataset-given

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is out of range (None when it is fine). Lists are checked item by item;
        None passes (an unset optional setting)."""
        if value is None:
            return None
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if self.choices is not None and item not in self.choices:
                return f"must be one of {', '.join(map(str, self.choices))}"
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            if self.low is not None and (item < self.low or (self.low_open and item == self.low)):
                bound = ">" if self.low_open else ">="
                return f"must be {bound} {self.low:g} (got {item:g})"
            if self.high is not None and item > self.high:
                return f"must be <= {self.high:g} (got {item:g})"
        return None
