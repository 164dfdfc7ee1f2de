"""Literal reference of the original FTCL ``model/ACMNet.py``, written from the spec (section 4).

Same parameter names and creation order as the original, same op order (per-channel sorts,
``torch.sort`` for top-k pooling, dropout calls in the original order), returning the original
14-tuple. Configured by an args namespace like the original: dataset, feature_dim,
action_cls_num, dropout, ins/con/bak_topk_seg, lcs_len, fsd_len, fc_dim. Used only by the tests.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class OriginalACMNet(nn.Module):
    def __init__(self, args) -> None:
        super().__init__()
        self.dataset = args.dataset
        self.feature_dim = args.feature_dim
        self.ins_topk_seg = args.ins_topk_seg
        self.con_topk_seg = args.con_topk_seg
        self.bak_topk_seg = args.bak_topk_seg
        self.lcs_len = args.lcs_len
        self.fsd_len = args.fsd_len

        self.dropout = nn.Dropout(args.dropout)
        conv = nn.Conv1d(args.feature_dim, args.feature_dim, kernel_size=(3,), padding=1)
        if self.dataset == "THUMOS":
            self.feature_embedding = nn.Sequential(conv, nn.ReLU())
        else:
            self.feature_embedding = nn.Sequential(nn.Dropout(args.dropout), conv, nn.ReLU())
        self.att_branch = nn.Conv1d(args.feature_dim, 3, kernel_size=(1,), padding=0)
        self.snippet_cls = nn.Linear(args.feature_dim, args.action_cls_num + 1)
        self.feature_trans = nn.Linear(args.feature_dim, args.fc_dim)

    def forward(self, input_features):
        device = input_features.device
        batch_size, temp_len = input_features.shape[0], input_features.shape[1]
        inst_k = max(temp_len // self.ins_topk_seg, 1)
        cont_k = max(temp_len // self.con_topk_seg, 1)
        back_k = max(temp_len // self.bak_topk_seg, 1)

        embedded = self.feature_embedding(input_features.permute(0, 2, 1))
        if self.dataset == "THUMOS":
            temp_att = self.att_branch(embedded)
        else:
            temp_att = self.att_branch(self.dropout(embedded))
        temp_att = torch.softmax(temp_att.permute(0, 2, 1), dim=2)
        inst_att = temp_att[:, :, 0].unsqueeze(2)
        cont_att = temp_att[:, :, 1].unsqueeze(2)
        back_att = temp_att[:, :, 2].unsqueeze(2)

        embedded = embedded.permute(0, 2, 1)
        embedded_keep = embedded
        select = self.dropout(torch.ones((batch_size, temp_len, 1), device=device))
        embedded = embedded * select

        act_cas = self.snippet_cls(self.dropout(embedded))
        inst_cas = act_cas * inst_att
        cont_cas = act_cas * cont_att
        back_cas = act_cas * back_att

        def video_scores(branch_cas, k):
            sorted_cas = torch.sort(branch_cas, dim=1, descending=True)[0]
            return torch.softmax(torch.mean(sorted_cas[:, :k, :], dim=1), dim=1)

        inst_cls = video_scores(inst_cas, inst_k)
        cont_cls = video_scores(cont_cas, cont_k)
        back_cls = video_scores(back_cas, back_k)

        inst_cas = torch.softmax(inst_cas, dim=2)
        cont_cas = torch.softmax(cont_cas, dim=2)
        back_cas = torch.softmax(back_cas, dim=2)
        act_cas = torch.softmax(act_cas, dim=2)

        inst_order = torch.sort(inst_att, dim=1, descending=True)[1]
        cont_order = torch.sort(cont_att, dim=1, descending=True)[1]
        back_order = torch.sort(back_att, dim=1, descending=True)[1]
        d = self.feature_dim

        def pooled(order, k):
            return torch.mean(torch.gather(embedded_keep, 1, order[:, :k, :].expand([-1, -1, d])),
                              dim=1)

        inst_feat = pooled(inst_order, inst_k)
        cont_feat = pooled(cont_order, cont_k)
        back_feat = pooled(back_order, back_k)

        lcs_idx = torch.sort(inst_order[:, :self.lcs_len, :], dim=1)[0]
        lcs_candi = torch.gather(embedded_keep, 1, lcs_idx.expand([-1, -1, d]))
        act_idx = torch.sort(inst_order[:, :self.fsd_len, :], dim=1)[0]
        fsd_act = torch.gather(embedded_keep, 1, act_idx.expand([-1, -1, d]))
        bak_idx = torch.sort(inst_order[:, self.fsd_len:2 * self.fsd_len, :], dim=1)[0]
        fsd_bak = torch.gather(embedded_keep, 1, bak_idx.expand([-1, -1, d]))
        fsd_act = self.feature_trans(fsd_act)
        fsd_bak = self.feature_trans(fsd_bak)

        return (inst_cls, cont_cls, back_cls, inst_feat, cont_feat, back_feat, temp_att,
                inst_cas, act_cas, cont_cas, back_cas, lcs_candi, fsd_act, fsd_bak)
