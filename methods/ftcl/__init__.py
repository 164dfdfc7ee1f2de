"""FTCL (Gao et al., CVPR 2022) on ACM-Net: the method record of ``--method ftcl``.

The ACM stage trains ACM-Net with FTCL's in-batch LCS / FSD terms (``inbatch_ftcl``; ACM-Net's
own recipe without them), the pair stage (``--ftcl``) FTCL's pair contrasts. Defaults per dataset
are the dataset configs (``config/thumos.py``, ``config/activitynet.py``) with FTCL's own values
(``methods/ftcl/settings.py``).
"""
from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import methods.acmnet.terms  # noqa: F401  (registers the "acm" term)
import methods.ftcl.terms  # noqa: F401  (registers the LCS / FSD terms)
from methods.acmnet.localize import ACM_LOCALIZER
from methods.acmnet.outputs import ACMOutput
from methods.ftcl.model import ACMNet
from methods.ftcl.settings import CONFIG, SETTINGS
from methods.record import Method, register
from models import load_state_dict_checked as _checked

FEATURE_TRANS = ("feature_trans.",)
"""What an ACM-Net checkpoint lacks: FTCL's FSD projection (it keeps its fresh initialisation)."""
load_state_dict_checked = partial(_checked, allow_missing=FEATURE_TRANS)
"""``models.load_state_dict_checked`` tolerating a missing ``feature_trans`` (overridable)."""


def build_model(model: SimpleNamespace, data: SimpleNamespace, num_classes: int) -> ACMNet:
    """ACM-Net with FTCL's candidate heads, sized by the data section."""
    return ACMNet(feature_dim=data.feature_dim, num_classes=num_classes, dropout=model.dropout,
                  topk_seg=(model.ins_topk_seg, model.con_topk_seg, model.bak_topk_seg),
                  embed_dropout=model.embed_dropout, lcs_len=model.lcs_len,
                  fsd_len=model.fsd_len, fc_dim=model.fc_dim, bak_source=model.bak_source)


def recipe(loss: SimpleNamespace, stage: str) -> list[tuple[str, float]]:
    """ACM stage = ACM (+ in-batch LCS / FSD with ``inbatch_ftcl``, FTCL's ACMLoss); pair stage =
    FTCLLoss, ACM of both views + pair LCS / FSD. ``--without_lcs`` / ``--without_fsd`` drop a
    contrast."""
    kind = "pair" if stage == "pair" else "inbatch"
    terms = [("acm", 1.0)]
    if stage == "pair" or loss.inbatch_ftcl:
        if not loss.without_lcs:
            terms.append((f"{kind}_lcs", float(loss.loss_lamb_lcs)))
        if not loss.without_fsd:
            terms.append((f"{kind}_fsd", float(loss.loss_lamb_fsd)))
    return terms


FTCL = register(Method(
    name="ftcl", summary="FTCL / ACM-Net", datasets=("THUMOS", "ActivityNet"),
    stages=("single", "pair"), build_model=build_model, recipe=recipe, localizer=ACM_LOCALIZER,
    settings=SETTINGS,
    defaults={"THUMOS": CONFIG, "ActivityNet": CONFIG},
    shape_keys=("fc_dim", "embed_dropout"),
    tolerated_missing=(FEATURE_TRANS, "no feature_trans weights (an ACM-Net checkpoint); "
                                            "they start freshly initialised")))


__all__ = ["ACMNet", "ACMOutput", "FEATURE_TRANS", "FTCL", "build_model",
           "load_state_dict_checked", "recipe"]
