"""Loss terms by name: each term maps ``(outputs, batch, ctx)`` to ``(value, parts)``.

``outputs`` is the list of the model's named outputs, one per view of the batch (one view for a
batch of single videos, two for a batch of pairs); ``batch`` the batch dict, whose labels per view
are ``ctx.labels[v]``; ``ctx`` (:class:`TermContext`) carries the criterion's RNG and a per-call
cache that terms computed from the same draw share (the in-batch LCS and FSD terms use the same
pairs, as the original does). A term is registered with :data:`TERMS` and built from the loss
section of the config; a criterion (``losses.criterion``) is the weighted sum of a list of terms.

Each method registers its terms from its own folder (``methods/<name>/``); any registered term can
also be added to a run with ``--extra_loss_terms NAME=WEIGHT``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Protocol, Sequence

from torch import Tensor

from utils.registry import Registry


@dataclass
class TermContext:
    """What the terms of one criterion call share: labels per view, the RNG, a cache."""

    labels: list[Tensor]
    rng: random.Random
    cache: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per call; later terms asking for ``key`` get the same value."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


class Term(Protocol):
    """A loss term: ``term(outputs, batch, ctx) -> (scalar value with graph, detached parts)``."""

    name: str
    eval_too: bool                   # also computed on test batches (the logged test loss)

    def __call__(self, outputs: Sequence[Any], batch: dict[str, Any], ctx: TermContext
                 ) -> tuple[Tensor, dict[str, Tensor]]: ...


TermBuilder = Callable[[SimpleNamespace, str], Term]
"""Builds a term from the loss section and the stage ("single" or "pair")."""
TERMS: Registry[TermBuilder] = Registry("loss term")
