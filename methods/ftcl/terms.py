"""FTCL's contrasts as registered loss terms: ``inbatch_lcs`` / ``inbatch_fsd`` (FTCL's
``ACMLoss``, in-batch pairs of one view) and ``pair_lcs`` / ``pair_fsd`` (FTCL's ``FTCLLoss``,
between the two views of pairs)."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from losses.terms import TERMS, TermBuilder
from methods.ftcl.contrast import inbatch_contrast, inbatch_pairs, pair_contrast


def lcs_similarity(loss: SimpleNamespace, stage: str) -> str:
    """"auto" -> the original's choice: raw cosine in the pair stage, scaled in-batch."""
    if loss.lcs_similarity != "auto":
        return loss.lcs_similarity
    return "raw" if stage == "pair" else "scaled"


@dataclass
class ContrastTerm:
    """One FTCL contrast ("lcs" or "fsd") in-batch (one view) or between the two views of pairs.

    In-batch, the pairs are drawn once per call with the criterion's RNG and shared by both
    contrasts; each contrast is computed on its own (a disabled one costs nothing).
    """

    which: str                       # "lcs" or "fsd"
    pair_mode: bool
    thres: float
    similarity: str
    gamma: float
    name: str = ""
    eval_too: bool = False

    def __post_init__(self) -> None:
        self.name = self.name or self.which

    def __call__(self, outputs, batch, ctx):
        flags = dict(use_lcs=self.which == "lcs", use_fsd=self.which == "fsd", thres=self.thres,
                     lcs_similarity=self.similarity, lcs_gamma=self.gamma)
        if self.pair_mode:
            lcs, fsd = pair_contrast(outputs[0], outputs[1], ctx.labels[0], ctx.labels[1],
                                     **flags)
        else:
            pos, neg = ctx.cached("inbatch_pairs", lambda: inbatch_pairs(ctx.labels[0], ctx.rng))
            lcs, fsd = inbatch_contrast(outputs[0], pos, neg, **flags)
        return (lcs if self.which == "lcs" else fsd), {}


def _contrast(which: str, pair_mode: bool) -> TermBuilder:
    def build(loss: SimpleNamespace, stage: str) -> ContrastTerm:
        return ContrastTerm(which=which, pair_mode=pair_mode, thres=loss.thres,
                            similarity=lcs_similarity(loss, stage), gamma=loss.lcs_gamma)
    return build


for _which in ("lcs", "fsd"):
    TERMS.register(f"inbatch_{_which}")(_contrast(_which, pair_mode=False))
    TERMS.register(f"pair_{_which}")(_contrast(_which, pair_mode=True))
