"""Losses: the ACM-Net loss, the FTCL contrasts (batched DP in losses.dp) and the criteria."""
from losses.acm import acm_loss
from losses.criterion import InBatchCriterion, PairCriterion, build_criterion

__all__ = ["InBatchCriterion", "PairCriterion", "acm_loss", "build_criterion"]
