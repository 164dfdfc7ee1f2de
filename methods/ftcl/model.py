"""ACM-Net backbone with the FTCL candidate heads (the original FTCL ``model/ACMNet.py``; with the
FTCL terms off it is ACM-Net itself)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from methods.acmnet.outputs import ACMOutput
from methods.ftcl.settings import CONFIG as FTCL

BAK_SOURCES = ("inst_rank", "back_att")


def topk_count(num_snippets: int, topk_seg: int) -> int:
    """Snippets pooled by top-k MIL: max(T // topk_seg, 1) (THUMOS T=750, seg 8 -> 93)."""
    return max(num_snippets // topk_seg, 1)


def _gather_snippets(x: Tensor, idx: Tensor) -> Tensor:
    """Rows ``idx`` (B, K) of ``x`` (B, T, D) -> (B, K, D)."""
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def _in_time_order(idx: Tensor) -> Tensor:
    """(B, K) snippet indices sorted ascending (time order)."""
    return torch.sort(idx, dim=1).values


def _topk_mean(x: Tensor, k: int) -> Tensor:
    """Mean over time of the k largest values of each column: (B, T, K) -> (B, K)."""
    return torch.topk(x, k, dim=1).values.mean(dim=1)


class ACMNet(nn.Module):
    """ACM-Net: temporal conv embedding, three-branch attention, C+1-way snippet classifier.

    ``embed_dropout`` is the original's ActivityNet switch (dataset != "THUMOS"): a Dropout before
    the embedding conv and another on the attention branch's input. Parameter names equal the
    original ``model_state_dict`` keys: ``feature_embedding.0.*`` (``feature_embedding.1.*`` with
    ``embed_dropout``), ``att_branch.*``, ``snippet_cls.*``, ``feature_trans.*``; the modules are
    created in the original order, so a seeded run initialises them identically.

    In training mode the dropout masks are drawn in the original order: [embedding input],
    [attention input] (both ActivityNet only), the (B, T, 1) snippet mask, the element-wise
    classifier input.

    Candidates for FTCL (ranks by instance attention, stable sort: ties keep the earlier snippet):
    - ``lcs_cand``: the top L = min(lcs_len, T) snippets of the pre-dropout embedding, time order.
    - ``fsd_act``: the top F = min(fsd_len, T), time order, through ``feature_trans``.
    - ``fsd_bak`` with ``bak_source="inst_rank"`` (original): instance-attention ranks s .. s+F-1,
      s = min(fsd_len, T - F), i.e. ranks fsd_len+1 .. 2*fsd_len when T >= 2*fsd_len; for shorter
      videos the window is pulled back to the lowest-ranked F snippets (it then overlaps
      ``fsd_act``) so that both candidate sets always hold F snippets. With ``"back_att"``: the
      top F snippets by background attention. Both in time order, through ``feature_trans``.
    Sort indices are not differentiable: FTCL gradients reach the embedding and feature_trans only.
    """

    def __init__(self, feature_dim: int = 2048, num_classes: int = 20, dropout: float = 0.7,
                 topk_seg: tuple[int, int, int] = (8, 3, 3), embed_dropout: bool = False,
                 lcs_len: int = FTCL["lcs_len"], fsd_len: int = FTCL["fsd_len"],
                 fc_dim: int = FTCL["fc_dim"],
                 bak_source: str = "inst_rank") -> None:
        super().__init__()
        if bak_source not in BAK_SOURCES:
            raise ValueError(f"bak_source must be one of {BAK_SOURCES}, got {bak_source!r}")
        if len(topk_seg) != 3 or min(topk_seg) < 1:
            raise ValueError(f"topk_seg must be three positive integers, got {topk_seg}")
        if lcs_len < 1 or fsd_len < 1:
            raise ValueError(f"lcs_len and fsd_len must be >= 1, got {lcs_len}, {fsd_len}")
        self.feature_dim = feature_dim
        self.num_classes = num_classes
        self.topk_seg = tuple(topk_seg)
        self.embed_dropout = embed_dropout
        self.lcs_len = lcs_len
        self.fsd_len = fsd_len
        self.bak_source = bak_source

        self.dropout = nn.Dropout(dropout)
        embedding: list[nn.Module] = [nn.Dropout(dropout)] if embed_dropout else []
        embedding += [nn.Conv1d(feature_dim, feature_dim, kernel_size=3, padding=1), nn.ReLU()]
        self.feature_embedding = nn.Sequential(*embedding)
        self.att_branch = nn.Conv1d(feature_dim, 3, kernel_size=1)
        self.snippet_cls = nn.Linear(feature_dim, num_classes + 1)
        self.feature_trans = nn.Linear(feature_dim, fc_dim)

    def topk_counts(self, num_snippets: int) -> tuple[int, int, int]:
        """(instance, context, background) top-k sizes for T = ``num_snippets``."""
        return tuple(topk_count(num_snippets, seg) for seg in self.topk_seg)

    def forward(self, x: Tensor) -> ACMOutput:
        """x: (B, T, D) snippet features -> :class:`ACMOutput` (shapes in its docstring)."""
        if x.dim() != 3 or x.shape[-1] != self.feature_dim or x.shape[1] < 1:
            raise ValueError(f"ACMNet expects (B, T>=1, {self.feature_dim}) features, "
                             f"got {tuple(x.shape)}")
        batch, length, _ = x.shape
        k_inst, k_cont, k_back = self.topk_counts(length)

        emb_ct = self.feature_embedding(x.permute(0, 2, 1))                    # (B, D, T)
        att_in = self.dropout(emb_ct) if self.embed_dropout else emb_ct
        att = torch.softmax(self.att_branch(att_in).permute(0, 2, 1), dim=2)   # (B, T, 3)
        emb = emb_ct.permute(0, 2, 1)                                          # (B, T, D)

        snippet_keep = self.dropout(torch.ones((batch, length, 1), dtype=emb.dtype,
                                               device=emb.device))
        cas = self.snippet_cls(self.dropout(emb * snippet_keep))              # (B, T, C+1)
        inst_cas = cas * att[:, :, 0:1]
        cont_cas = cas * att[:, :, 1:2]
        back_cas = cas * att[:, :, 2:3]

        rank = torch.sort(att, dim=1, descending=True, stable=True).indices   # (B, T, 3)
        inst_rank, cont_rank, back_rank = rank.unbind(dim=2)

        lcs_len = min(self.lcs_len, length)
        fsd_len = min(self.fsd_len, length)
        if self.bak_source == "inst_rank":
            start = min(self.fsd_len, length - fsd_len)
            bak_idx = inst_rank[:, start:start + fsd_len]
        else:
            bak_idx = back_rank[:, :fsd_len]
        act_idx = inst_rank[:, :fsd_len]

        return ACMOutput(
            inst_cls=torch.softmax(_topk_mean(inst_cas, k_inst), dim=1),
            cont_cls=torch.softmax(_topk_mean(cont_cas, k_cont), dim=1),
            back_cls=torch.softmax(_topk_mean(back_cas, k_back), dim=1),
            inst_feat=_gather_snippets(emb, inst_rank[:, :k_inst]).mean(dim=1),
            cont_feat=_gather_snippets(emb, cont_rank[:, :k_cont]).mean(dim=1),
            back_feat=_gather_snippets(emb, back_rank[:, :k_back]).mean(dim=1),
            att=att,
            inst_cas=torch.softmax(inst_cas, dim=2),
            cas=torch.softmax(cas, dim=2),
            cont_cas=torch.softmax(cont_cas, dim=2),
            back_cas=torch.softmax(back_cas, dim=2),
            lcs_cand=_gather_snippets(emb, _in_time_order(inst_rank[:, :lcs_len])),
            fsd_act=self.feature_trans(_gather_snippets(emb, _in_time_order(act_idx))),
            fsd_bak=self.feature_trans(_gather_snippets(emb, _in_time_order(bak_idx))),
        )
