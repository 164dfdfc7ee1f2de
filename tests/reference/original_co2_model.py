"""Literal port of the official CO2-Net ``model.py`` network (``weights_init``,
``BWA_fusion_dropout_feat_v2``, ``CO2``, ``ANT_CO2``), written from the behaviour spec
(``co2-stcl-behaviour.md`` sec. 3.1-3.3).

Same submodules in the same creation order (the unused ``channel_avg``, ``batch_avg`` and
``ce_criterion`` members included), the same ``self.apply(weights_init)`` redraw and the same op
order, returning the official output dict. Changes that cannot be literal: no
``torch.cuda.FloatTensor`` default type (parameters live where ``.to`` puts them), and the sizes
the official code fixes (2048 inputs split at 1024, CCM width 1024 and hidden 512, 20 classes)
are arguments with those defaults so that the tests run small. Used only by the tests.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.init as torch_init


def weights_init(m):
    # every Conv / Linear: kaiming_uniform_ at its defaults, bias filled with 0
    classname = m.__class__.__name__
    if classname.find("Conv") != -1 or classname.find("Linear") != -1:
        torch_init.kaiming_uniform_(m.weight)
        if m.bias is not None:
            m.bias.data.fill_(0)


class OriginalBWA(nn.Module):
    """``BWA_fusion_dropout_feat_v2(n_feature, n_class_ignored)`` with embed_dim = n_feature."""

    def __init__(self, n_feature: int = 1024, hidden: int = 512) -> None:
        super().__init__()
        embed_dim = n_feature
        self.bit_wise_attn = nn.Sequential(
            nn.Conv1d(n_feature, embed_dim, 3, padding=1), nn.LeakyReLU(0.2), nn.Dropout(0.5))
        self.channel_conv = nn.Sequential(
            nn.Conv1d(n_feature, embed_dim, 3, padding=1), nn.LeakyReLU(0.2), nn.Dropout(0.5))
        self.attention = nn.Sequential(
            nn.Conv1d(embed_dim, hidden, 3, padding=1), nn.LeakyReLU(0.2), nn.Dropout(0.5),
            nn.Conv1d(hidden, hidden, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, 1, 1), nn.Dropout(0.5), nn.Sigmoid())
        self.channel_avg = nn.AdaptiveAvgPool1d(1)

    def forward(self, vfeat, ffeat):
        # step 1-2: the global mean of the main modality through the channel conv
        g = self.channel_avg(vfeat)
        ch = self.channel_conv(g)
        # step 3: the auxiliary modality through the bit-wise conv
        bit = self.bit_wise_attn(ffeat)
        # step 4: filter the main modality
        filt = torch.sigmoid(bit * ch) * vfeat
        # step 5: the attention head
        att = self.attention(filt)
        return att, filt


class OriginalCO2(nn.Module):
    def __init__(self, n_feature: int = 2048, n_class: int = 20, hidden: int = 512,
                 dropout_ratio: float = 0.7) -> None:
        super().__init__()
        embed_dim = n_feature
        self.half = n_feature // 2
        self.vAttn = OriginalBWA(self.half, hidden)
        self.fAttn = OriginalBWA(self.half, hidden)
        self.feat_encoder = nn.Sequential(
            nn.Conv1d(n_feature, embed_dim, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Dropout(dropout_ratio))
        self.fusion = nn.Sequential(
            nn.Conv1d(n_feature, n_feature, 1, padding=0), nn.LeakyReLU(0.2),
            nn.Dropout(dropout_ratio))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout_ratio),
            nn.Conv1d(embed_dim, embed_dim, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Dropout(0.7), nn.Conv1d(embed_dim, n_class + 1, 1))
        self.channel_avg = nn.AdaptiveAvgPool1d(1)
        self.batch_avg = nn.AdaptiveAvgPool1d(1)
        self.ce_criterion = nn.BCELoss()
        self.apply(weights_init)

    def body(self, inputs):
        feat = inputs.transpose(-1, -2)
        v_atn, vfeat = self.vAttn(feat[:, :self.half, :], feat[:, self.half:, :])
        f_atn, ffeat = self.fAttn(feat[:, self.half:, :], feat[:, :self.half, :])
        x_atn = (f_atn + v_atn) / 2
        nfeat = torch.cat((vfeat, ffeat), 1)
        nfeat = self.fusion(nfeat)
        x_cls = self.classifier(nfeat)
        return nfeat, x_cls, x_atn, v_atn, f_atn

    def forward(self, inputs, is_training=True, **args):
        nfeat, x_cls, x_atn, v_atn, f_atn = self.body(inputs)
        return {"feat": nfeat.transpose(-1, -2), "cas": x_cls.transpose(-1, -2),
                "attn": x_atn.transpose(-1, -2), "v_atn": v_atn.transpose(-1, -2),
                "f_atn": f_atn.transpose(-1, -2)}


class OriginalANT_CO2(OriginalCO2):  # noqa: N801
    """``ANT_CO2``: the pool is created after the other members and before ``apply``."""

    def __init__(self, n_feature: int = 2048, n_class: int = 100, hidden: int = 512,
                 dropout_ratio: float = 0.7, max_seqlen: int = 60, t: int = 5) -> None:
        super().__init__(n_feature, n_class, hidden, dropout_ratio)
        kernel = ((max_seqlen // t) // 2 * 2 + 1)
        self.pool = nn.AvgPool1d(kernel, 1, padding=kernel // 2, count_include_pad=True)

    def forward(self, inputs, is_training=True, **args):
        nfeat, x_cls, x_atn, v_atn, f_atn = self.body(inputs)
        x_cls = self.pool(x_cls)
        x_atn = self.pool(x_atn)
        f_atn = self.pool(f_atn)
        v_atn = self.pool(v_atn)
        return {"feat": nfeat.transpose(-1, -2), "cas": x_cls.transpose(-1, -2),
                "attn": x_atn.transpose(-1, -2), "v_atn": v_atn.transpose(-1, -2),
                "f_atn": f_atn.transpose(-1, -2)}
