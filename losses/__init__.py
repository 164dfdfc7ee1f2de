"""Losses: the ACM-Net loss, the FTCL contrasts (batched DP in losses.dp), named loss terms and
the criterion that sums them."""
from losses.acm import acm_loss
from losses.criterion import RECIPES, Criterion, build_criterion
from losses.terms import TERMS

__all__ = ["Criterion", "RECIPES", "TERMS", "acm_loss", "build_criterion"]
