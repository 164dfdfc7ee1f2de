"""Shared loss machinery: the batched differentiable DP (``losses.dp``), similarity tables, the
loss-term registry and the criterion that sums a method's terms. The methods' own losses live in
their folders (``methods/<name>/``)."""
from losses.criterion import Criterion, criterion_from_recipe
from losses.terms import TERMS

__all__ = ["Criterion", "TERMS", "criterion_from_recipe"]
