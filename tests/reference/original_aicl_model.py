"""Literal port of the official AICL ``models/model.py``, written from the behaviour spec (sec. 2).

Same submodules in the same creation order, same op order: the numpy medians on a detached host
copy, the masks built with ``new_tensor`` from numpy, one full unstable descending sort per set and
embedding (12 in all), the 10-tuple output with numpy bins. The sizes that the official code fixes
(2048 inputs split at 1024, 20 classes, 512 channels) are arguments with those defaults, so that
the tests can run small. Used only by the tests.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn


class OriginalBaseModel(nn.Module):
    def __init__(self, len_feature: int = 2048, num_classes: int = 20, width: int = 512) -> None:
        super().__init__()
        self.half = len_feature // 2
        self.base_module = nn.Sequential(
            nn.Conv1d(in_channels=len_feature, out_channels=width, kernel_size=3, padding=1),
            nn.ReLU())
        self.cls = nn.Sequential(
            nn.Conv1d(in_channels=width, out_channels=num_classes, kernel_size=1, padding=0))
        self.action_module_rgb = nn.Sequential(
            nn.Conv1d(in_channels=len_feature // 2, out_channels=width, kernel_size=3, padding=1),
            nn.ReLU())
        self.cls_rgb = nn.Conv1d(in_channels=width, out_channels=1, kernel_size=1, padding=0)
        self.action_module_flow = nn.Sequential(
            nn.Conv1d(in_channels=len_feature // 2, out_channels=width, kernel_size=3, padding=1),
            nn.ReLU())
        self.cls_flow = nn.Conv1d(in_channels=width, out_channels=1, kernel_size=1, padding=0)
        self.dropout = nn.Dropout(p=0.5)

    def forward(self, x):
        inp = x.permute(0, 2, 1)
        emb_flow = self.action_module_flow(inp[:, self.half:, :])
        emb_rgb = self.action_module_rgb(inp[:, :self.half, :])
        embedding_flow = emb_flow.permute(0, 2, 1)
        embedding_rgb = emb_rgb.permute(0, 2, 1)
        action_flow = torch.sigmoid(self.cls_flow(emb_flow))
        action_rgb = torch.sigmoid(self.cls_rgb(emb_rgb))
        emb = self.base_module(inp)
        embedding = emb.permute(0, 2, 1)
        cas = self.cls(emb).permute(0, 2, 1)
        actionness1 = torch.sigmoid(cas.sum(dim=2))
        actionness2 = ((action_flow + action_rgb) / 2).squeeze(1)
        return (cas, action_flow, action_rgb, actionness1, actionness2, embedding, embedding_flow,
                embedding_rgb)


class OriginalAICL(nn.Module):
    def __init__(self, len_feature: int = 2048, num_classes: int = 20, width: int = 512) -> None:
        super().__init__()
        self.actionness_module = OriginalBaseModel(len_feature, num_classes, width)
        self.softmax = nn.Softmax(dim=1)
        self.softmax_2 = nn.Softmax(dim=2)
        self.r_C = 20
        self.r_I = 20
        self.dropout = nn.Dropout(p=0.6)

    def select_topk_embeddings(self, scores, embeddings, k):
        _, idx_desc = scores.sort(descending=True, dim=1)
        idx_topk = idx_desc[:, :k].unsqueeze(2).expand([-1, -1, embeddings.shape[2]])
        return torch.gather(embeddings, 1, idx_topk)

    def consistency_mining(self, bin1, bin2, actionness1, embeddings, k_easy):
        x = bin1 + bin2
        select_act = actionness1.new_tensor(np.where(x == 2, 1, 0))
        actionness_act = actionness1 * select_act
        select_bg = actionness1.new_tensor(np.where(x == 0, 1, 0))
        actionness_rev = torch.max(actionness1, dim=1, keepdim=True)[0] - actionness1
        actionness_bg = actionness_rev * select_bg
        easy_act = self.select_topk_embeddings(actionness_act, embeddings, k_easy)
        easy_bkg = self.select_topk_embeddings(actionness_bg, embeddings, k_easy)
        return easy_act, easy_bkg

    def inconsistency_mining(self, bin1, bin2, actionness1, embeddings, k_hard):
        x = bin1 + bin2
        idx_inner = actionness1.new_tensor(np.where(x == 1, 1, 0))
        hard_act = self.select_topk_embeddings(actionness1 * idx_inner, embeddings, k_hard)
        actionness_rev = torch.max(actionness1, dim=1, keepdim=True)[0] - actionness1
        hard_bkg = self.select_topk_embeddings(actionness_rev * idx_inner, embeddings, k_hard)
        return hard_act, hard_bkg

    def forward(self, x):
        num_segments = x.shape[1]
        k_c = num_segments // self.r_C
        k_i = num_segments // self.r_I
        (cas, action_flow, action_rgb, actionness1, actionness2, embedding, embedding_flow,
         embedding_rgb) = self.actionness_module(x)

        a1 = actionness1.cpu().detach().numpy()
        bin1 = np.where(a1 > np.median(a1, 1, keepdims=True), 1.0, 0.0)
        a2 = actionness2.cpu().detach().numpy()
        bin2 = np.where(a2 > np.median(a2, 1, keepdims=True), 1.0, 0.0)

        pairs = []
        for emb in (embedding, embedding_rgb, embedding_flow):
            ca, cb = self.consistency_mining(bin1, bin2, actionness1, emb, k_c)
            ia, ib = self.inconsistency_mining(bin1, bin2, actionness1, emb, k_i)
            pairs.append({"CA": ca, "CB": cb, "IA": ia, "IB": ib})
        return (cas, action_flow, action_rgb, pairs[0], pairs[1], pairs[2], actionness1,
                actionness2, bin1, bin2)
