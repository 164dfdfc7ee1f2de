"""CO2-Net (Hong et al., ACM MM 2021): the cross-modal consensus network of the official code
(``model.py``: ``BWA_fusion_dropout_feat_v2``, ``CO2`` for THUMOS'14, ``ANT_CO2`` for
ActivityNet 1.2), spec ``co2-stcl-behaviour.md`` sec. 3.1-3.3.

Same modules, key names, registration order, initialisation (``weights_init``: Kaiming-uniform
U(+-sqrt(6 / fan_in)) on every conv weight, zero biases, visited in registration order) and
dropout placement as the official code, so that a bare official state dict (28 tensors) loads
strictly and a seeded construction draws the same initial weights as a literal port on the same
device. The official sizes (2048 = 1024 RGB + 1024 flow, 20 classes, CCM hidden 512, dropout 0.7
and 0.5, LeakyReLU 0.2) are parameters with those defaults (spec sec. 10, Q13). The official code
creates its parameters on the GPU (CUDA generator, Q1): bit-identical initial weights with an
official run are impossible, only the distribution is the same.

Quirks kept (spec sec. 9):
- Q6: each CCM attention head has its Dropout(0.5) between the last conv and the Sigmoid, so a
  dropped position has attention exactly 0.5 in training (architecture, no switch).
- Q18: ``feat_encoder`` (a 2048 -> 2048 k3 conv, 12 584 960 parameters) is built and never
  called: it never gets a gradient, keeps its initial values and is in every checkpoint.
- No normalisation layer: train and eval mode differ only by dropout.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor, nn


@dataclass
class CO2Output:
    """One CO2-Net forward pass over B videos of T snippets; D the feature dim (2048), C the
    number of classes (20; the CAS has C + 1 columns, the background last). All time-major.

    feat: (B, T, D) fused features (``nfeat``), taken after the fusion dropout.
    cas: (B, T, C + 1) class activation logits (``x_cls``), raw, no attention applied.
    attn: (B, T, 1) (v_atn + f_atn) / 2 (``x_atn``).
    v_atn: (B, T, 1) attention of the RGB-main CCM (``vAttn``).
    f_atn: (B, T, 1) attention of the flow-main CCM (``fAttn``).
    ``ANT_CO2``: cas, attn, v_atn and f_atn are average-pooled over time; feat is not.
    """

    feat: Tensor
    cas: Tensor
    attn: Tensor
    v_atn: Tensor
    f_atn: Tensor

    def as_tuple(self) -> tuple[Tensor, ...]:
        """The fields in declaration order."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, Tensor]:
        """The official output dict (keys feat, cas, attn, v_atn, f_atn)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def weights_init(module: nn.Module) -> None:
    """The official ``weights_init``: Kaiming-uniform (a = 0, fan_in: U(+-sqrt(6 / fan_in)),
    fan_in = in_channels * kernel) on the weight of every Conv / Linear module, zero bias."""
    name = type(module).__name__
    if "Conv" in name or "Linear" in name:
        nn.init.kaiming_uniform_(module.weight)
        if module.bias is not None:
            module.bias.data.fill_(0)


class CCM(nn.Module):
    """The cross-modal consensus module (``BWA_fusion_dropout_feat_v2``, spec sec. 3.1).

    width: channels of each modality (official 1024; must be D / 2, the filter multiplies the
    main modality element-wise). hidden: width of the attention head (official 512).
    forward(main (B, W, T), aux (B, W, T)) -> (att (B, 1, T), filtered main (B, W, T)).
    Training dropout masks are drawn in the order channel, bit-wise, then the two of the head.
    """

    def __init__(self, width: int = 1024, hidden: int = 512, dropout: float = 0.5,
                 slope: float = 0.2) -> None:
        super().__init__()
        self.bit_wise_attn = nn.Sequential(
            nn.Conv1d(width, width, 3, padding=1), nn.LeakyReLU(slope), nn.Dropout(dropout))
        self.channel_conv = nn.Sequential(
            nn.Conv1d(width, width, 3, padding=1), nn.LeakyReLU(slope), nn.Dropout(dropout))
        self.attention = nn.Sequential(
            nn.Conv1d(width, hidden, 3, padding=1), nn.LeakyReLU(slope), nn.Dropout(dropout),
            nn.Conv1d(hidden, hidden, 3, padding=1), nn.LeakyReLU(slope),
            nn.Conv1d(hidden, 1, 1), nn.Dropout(dropout), nn.Sigmoid())
        self.channel_avg = nn.AdaptiveAvgPool1d(1)

    def forward(self, main: Tensor, aux: Tensor) -> tuple[Tensor, Tensor]:
        channel = self.channel_conv(self.channel_avg(main))          # (B, W, 1): mean over time
        bit_wise = self.bit_wise_attn(aux)                           # (B, W, T)
        filtered = torch.sigmoid(bit_wise * channel) * main
        return self.attention(filtered), filtered


def ant_pool_kernel(max_seqlen: int, t: int) -> int:
    """The ``ANT_CO2`` pooling kernel ((max_seqlen // t) // 2) * 2 + 1 (13 for 60 and 5)."""
    return (max_seqlen // t) // 2 * 2 + 1


def ant_pool(pool_kernel: int, network: str = "ANT_CO2") -> nn.AvgPool1d:
    """The ActivityNet networks' pool over time: ``AvgPool1d(pool_kernel, stride 1, padding
    pool_kernel // 2, count_include_pad=True)`` (an odd kernel keeps the length); a ValueError
    naming ``network`` for an even or non-positive kernel."""
    if pool_kernel < 1 or pool_kernel % 2 == 0:
        raise ValueError(f"{network} needs an odd pool_kernel >= 1, got {pool_kernel}")
    return nn.AvgPool1d(pool_kernel, 1, padding=pool_kernel // 2, count_include_pad=True)


class CO2(nn.Module):
    """The CO2-Net network (official ``CO2``, spec sec. 3.2). Parameter names equal the official
    state-dict keys (``vAttn.*``, ``fAttn.*``, ``feat_encoder.0.*``, ``fusion.0.*``,
    ``classifier.1.*`` / ``.4.*``: 28 tensors, 46 717 975 parameters at the official sizes).

    feature_dim: D, columns 0 .. D/2-1 RGB, D/2 .. D-1 flow (official 2048). num_classes: C
    (official 20; the classifier has C + 1 outputs, background last). ccm_hidden: width of the
    CCM attention heads (512). dropout_ratio: ``--dropout_ratio`` of fusion, the dead encoder and
    the classifier's first dropout (0.7); classifier_dropout: the classifier's second, a literal
    0.7; ccm_dropout: the four CCM dropouts (0.5); slope: every LeakyReLU (0.2).
    """

    def __init__(self, *, feature_dim: int = 2048, num_classes: int = 20, ccm_hidden: int = 512,
                 dropout_ratio: float = 0.7, classifier_dropout: float = 0.7,
                 ccm_dropout: float = 0.5, slope: float = 0.2) -> None:
        super().__init__()
        if feature_dim < 2 or feature_dim % 2:
            raise ValueError(f"CO2 needs an even feature_dim (RGB | flow), got {feature_dim}")
        if min(num_classes, ccm_hidden) < 1:
            raise ValueError(f"num_classes and ccm_hidden must be >= 1, got {num_classes}, "
                             f"{ccm_hidden}")
        self.feature_dim = feature_dim
        self.num_classes = num_classes
        half, embed = feature_dim // 2, feature_dim  # CCM width = D/2, embed_dim = D (sec. 10)
        self.vAttn = CCM(half, ccm_hidden, ccm_dropout, slope)
        self.fAttn = CCM(half, ccm_hidden, ccm_dropout, slope)
        # Q18: built, never called (kept so that official checkpoints load strictly).
        self.feat_encoder = nn.Sequential(
            nn.Conv1d(feature_dim, embed, 3, padding=1), nn.LeakyReLU(slope),
            nn.Dropout(dropout_ratio))
        self.fusion = nn.Sequential(
            nn.Conv1d(feature_dim, feature_dim, 1), nn.LeakyReLU(slope),
            nn.Dropout(dropout_ratio))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout_ratio), nn.Conv1d(embed, embed, 3, padding=1),
            nn.LeakyReLU(slope), nn.Dropout(classifier_dropout),
            nn.Conv1d(embed, num_classes + 1, 1))
        self.apply(weights_init)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "CO2":
        """Build from a CO2 config dict (``methods.co2net.settings.CO2_THUMOS`` or a variant)."""
        return cls(**network_sizes(cfg))

    def _trunk(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        if x.dim() != 3 or x.shape[-1] != self.feature_dim or x.shape[1] < 1:
            raise ValueError(f"{type(self).__name__} expects (B, T, {self.feature_dim}) "
                             f"features, got {tuple(x.shape)}")
        half = self.feature_dim // 2
        feat = x.transpose(-1, -2)                                       # (B, D, T)
        v_atn, vfeat = self.vAttn(feat[:, :half], feat[:, half:])        # RGB main, flow aux
        f_atn, ffeat = self.fAttn(feat[:, half:], feat[:, :half])        # flow main, RGB aux
        attn = (f_atn + v_atn) / 2
        nfeat = self.fusion(torch.cat((vfeat, ffeat), 1))
        cas = self.classifier(nfeat)                                     # (B, C + 1, T)
        return nfeat, cas, attn, v_atn, f_atn

    def forward(self, x: Tensor) -> CO2Output:
        """x: (B, T, D) snippet features -> :class:`CO2Output`."""
        return CO2Output(*(t.transpose(-1, -2) for t in self._trunk(x)))


class ANT_CO2(CO2):  # noqa: N801  (the official class name)
    """The ActivityNet 1.2 variant (official ``ANT_CO2``, spec sec. 3.3): CO2's modules plus an
    ``AvgPool1d(pool_kernel, stride 1, padding pool_kernel // 2, count_include_pad=True)`` applied
    over time to cas, attn, f_atn and v_atn after the classifier (zero padding counts in the mean,
    so the first and last pool_kernel // 2 positions are damped); feat is not pooled. The pool has
    no parameters: the state-dict keys are CO2's. pool_kernel: official
    ``ant_pool_kernel(--max-seqlen 60, --t 5)`` = 13 (odd, so the length is kept).
    """

    def __init__(self, *, pool_kernel: int = 13, **kwargs: Any) -> None:
        pool = ant_pool(pool_kernel)
        super().__init__(**kwargs)
        self.pool_kernel, self.pool = pool_kernel, pool

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "ANT_CO2":
        return cls(pool_kernel=ant_pool_kernel(int(cfg["sample_segments_num"]),
                                               int(cfg["pool_t"])), **network_sizes(cfg))

    def forward(self, x: Tensor) -> CO2Output:
        nfeat, cas, attn, v_atn, f_atn = self._trunk(x)
        cas, attn, f_atn, v_atn = (self.pool(t) for t in (cas, attn, f_atn, v_atn))
        return CO2Output(*(t.transpose(-1, -2) for t in (nfeat, cas, attn, v_atn, f_atn)))


def network_sizes(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The trunk's constructor arguments (feature width, classes, CCM hidden, dropouts, slope)
    from a flat config: ``num_classes``, else the length of ``class_names``."""
    classes = cfg.get("num_classes") or len(cfg["class_names"])
    return dict(feature_dim=int(cfg["feature_dim"]), num_classes=int(classes),
                ccm_hidden=int(cfg["ccm_hidden"]), dropout_ratio=float(cfg["dropout_ratio"]),
                classifier_dropout=float(cfg["classifier_dropout"]),
                ccm_dropout=float(cfg["ccm_dropout"]), slope=float(cfg["leaky_slope"]))
