"""FTCLNet: ACMNet run on one video batch or on the two sides of a pair batch."""
from __future__ import annotations

from torch import Tensor

from models.acmnet import ACMNet
from models.outputs import ACMOutput


class FTCLNet(ACMNet):
    """The original ``model/FTCLNet.py``: ACMNet's body and parameter names, two-input forward."""

    def forward(self, x1: Tensor, x2: Tensor | None = None
                ) -> ACMOutput | tuple[ACMOutput, ACMOutput]:
        """x1, x2: (B, T, D). One input -> one output; two -> two passes with their own dropout."""
        first = super().forward(x1)
        if x2 is None:
            return first
        return first, super().forward(x2)
