"""A criterion is the weighted sum of named loss terms (``losses.terms``) listed by a recipe.

``total = w_0 * term_0 + (w_1 * term_1 + w_2 * term_2 + ...)``: the first term (the method's base
loss, weight 1) plus the weighted sum of the others, which is exactly the original's
``ACM + (0.1 * LCS + 0.8 * FSD)`` in float arithmetic. Parts: the first term's parts, each other
term's weighted value under its name, and ``loss`` (the total).

A recipe (the method record's ``recipe``, ``methods.record.Recipe``) lists the terms of a stage from
the loss settings; ``--extra_loss_terms NAME=WEIGHT`` appends registered terms from config alone.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from losses.terms import TERMS, Term, TermContext

STAGES = ("single", "pair")


def _extra_terms(loss: SimpleNamespace) -> list[tuple[str, float]]:
    out = []
    for spec in getattr(loss, "extra_loss_terms", []) or []:
        name, _, weight = spec.partition("=")
        out.append((name, float(weight)))
    return out


@dataclass
class Criterion:
    """Weighted sum of terms with one ``random.Random`` for terms that draw (in-batch pairs).

    ``__call__(outputs, batch)`` trains (every term); :meth:`evaluate` gives the test loss (the
    terms marked ``eval_too``: the ACM part). ``outputs``: one named output per view;
    ``batch["label"]`` (single view) or ``batch["label_0"]``, ``batch["label_1"]`` (pairs), (B, C).
    """

    terms: list[tuple[Term, float]]
    rng: random.Random

    def _run(self, terms: Sequence[tuple[Term, float]], outputs: Sequence[Any],
             batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        ctx = TermContext(labels=view_labels(batch, len(outputs)), rng=self.rng)
        (first, w_first), rest = terms[0], terms[1:]
        base, parts = first(outputs, batch, ctx)
        total = base if w_first == 1.0 else w_first * base
        parts = dict(parts)
        if rest:
            weighted = []
            for term, weight in rest:
                value, extra = term(outputs, batch, ctx)
                weighted.append(weight * value)
                parts.update(extra)
                parts[term.name] = weighted[-1].detach()
            others = weighted[0]
            for value in weighted[1:]:
                others = others + value
            total = total + others
        parts["loss"] = total.detach()
        return total, parts

    def __call__(self, outputs: Sequence[Any], batch: dict[str, Any]
                 ) -> tuple[Tensor, dict[str, Tensor]]:
        """Training loss: (scalar total with its graph, detached scalar parts)."""
        return self._run(self.terms, outputs, batch)

    def evaluate(self, outputs: Sequence[Any], batch: dict[str, Any]
                 ) -> tuple[Tensor, dict[str, Tensor]]:
        """Test loss: the ``eval_too`` terms only; draws nothing from the RNG. A method without
        such a term (CO2-Net: the original computes no test loss) gets 0 and no parts."""
        terms = [(t, w) for t, w in self.terms if t.eval_too]
        if not terms:
            return torch.zeros(()), {}
        return self._run(terms, outputs, batch)

    def state_dict(self) -> dict[str, Any]:
        """The RNG state (``random.Random.getstate()``: ints and None, checkpoint-safe)."""
        return {"rng": self.rng.getstate()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (also after tuples became lists in a checkpoint)."""
        version, internal, gauss = state["rng"]
        self.rng.setstate((int(version), tuple(int(v) for v in internal), gauss))


def view_labels(batch: dict[str, Any], views: int) -> list[Tensor]:
    """(B, C) labels of each view: ``label`` for one view, ``label_0``, ``label_1`` for pairs."""
    if views == 1:
        return [batch["label"]]
    return [batch[f"label_{v}"] for v in range(views)]


def criterion_from_recipe(recipe: Callable[[SimpleNamespace, str], list[tuple[str, float]]],
                          stage: str, loss: SimpleNamespace, seed: int) -> Criterion:
    """The criterion of a method's ``stage`` ("single" or "pair"): the terms ``recipe(loss,
    stage)`` lists, then ``--extra_loss_terms``, each built by its registered builder from the
    loss settings; the in-batch pair RNG is ``random.Random(seed)``, as the original's global
    ``random`` after seeding."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    names = recipe(loss, stage) + _extra_terms(loss)
    terms = [(_as_term(TERMS.get(name)(loss, stage), name), weight) for name, weight in names]
    return Criterion(terms=terms, rng=random.Random(seed))


@dataclass
class _FunctionTerm:
    """A plain function ``fn(outputs, batch, ctx) -> Tensor`` used as a training-only term."""

    fn: Callable[..., Tensor]
    name: str
    eval_too: bool = False

    def __call__(self, outputs, batch, ctx):
        value = self.fn(outputs, batch, ctx)
        return value if isinstance(value, tuple) else (value, {})


def _as_term(built: Any, name: str) -> Term:
    """A built term as is when it has a name (its logged part), else wrapped under ``name``."""
    if getattr(built, "name", ""):
        return built
    return _FunctionTerm(fn=built, name=name)
