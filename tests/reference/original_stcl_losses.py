"""Literal port of the official STCL-Net losses, written from the behaviour spec
(``co2-stcl-behaviour.md`` sec. 4.2-4.3): ``STCL_THU.criterion`` (``S:model.py:271-329``) and
``cal_snip_cont_loss`` with its helpers (``S:train.py:13-93``: the sort-and-gather selection,
easy mining with a fresh ``nn.Dropout(p=0.6)`` of ones, hard mining with numpy's median and
scipy's binary erosion / dilation, and the InfoNCE).

The CO2 pieces it shares (``topkloss``, ``_multiply``, ``Contrastive``) are the CO2 port's (the
same code in both repositories). Changes that cannot be literal: no ``.cuda()`` (the NCE labels
and the mask live on the inputs' device); ``opt`` is any object with k, alpha1 .. alpha4. Used
only by the tests.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import ndimage

from tests.reference.original_co2_losses import contrastive, multiply, topkloss


def criterion(outputs, labels, opt, kl_weight=1.0):
    """``STCL_THU.criterion``: (total, dict of the intermediate terms)."""
    kl_criterion = nn.KLDivLoss(reduction="mean")
    feat, element_logits, element_atn = outputs["feat"], outputs["cas"], outputs["attn"]
    intra_cas, cas_origin, inter_cas = (outputs["intra_cas"], outputs["cas_origin"],
                                        outputs["inter_cas"])
    v_atn = outputs["v_atn"]
    f_atn = outputs["f_atn"]

    loss_intra, _ = topkloss(intra_cas, labels, is_back=True, rat=opt.k, reduce=None)
    loss_origin, _ = topkloss(cas_origin, labels, is_back=True, rat=opt.k, reduce=None)
    loss_inter, _ = topkloss(inter_cas, labels, is_back=True, rat=opt.k, reduce=None)

    n_cls = cas_origin.shape[-1]
    origin_p = F.softmax(cas_origin, -1).reshape(-1, n_cls)
    intra_p = F.softmax(intra_cas, -1).reshape(-1, n_cls)
    inter_p = F.softmax(inter_cas, -1).reshape(-1, n_cls)
    loss_kl = (kl_criterion(origin_p, intra_p) + kl_criterion(intra_p, origin_p)
               + kl_criterion(origin_p, inter_p) + kl_criterion(inter_p, origin_p)
               + kl_criterion(inter_p, intra_p) + kl_criterion(intra_p, inter_p))

    mutual_loss = 0.5 * F.mse_loss(v_atn, f_atn.detach()) + 0.5 * F.mse_loss(f_atn,
                                                                               v_atn.detach())
    element_logits_supp = multiply(element_logits, element_atn, include_min=True)
    loss_mil_orig, _ = topkloss(element_logits, labels, is_back=True, rat=opt.k, reduce=None)
    loss_mil_supp, _ = topkloss(element_logits_supp, labels, is_back=False, rat=opt.k,
                                reduce=None)
    loss_3_supp_contrastive = contrastive(feat, element_logits_supp, labels, is_back=False)
    loss_norm = element_atn.mean()
    loss_guide = (1 - element_atn - element_logits.softmax(-1)[..., [-1]]).abs().mean()
    v_loss_norm = v_atn.mean()
    v_loss_guide = (1 - v_atn - element_logits.softmax(-1)[..., [-1]]).abs().mean()
    f_loss_norm = f_atn.mean()
    f_loss_guide = (1 - f_atn - element_logits.softmax(-1)[..., [-1]]).abs().mean()

    total_loss = (loss_mil_orig.mean() + loss_mil_supp.mean() + loss_intra.mean()
                  + loss_origin.mean() + kl_weight * loss_kl + loss_inter.mean()
                  + opt.alpha3 * loss_3_supp_contrastive
                  + opt.alpha4 * mutual_loss
                  + opt.alpha1 * (loss_norm + v_loss_norm + f_loss_norm) / 3
                  + opt.alpha2 * (loss_guide + v_loss_guide + f_loss_guide) / 3)
    terms = dict(mil_intra=loss_intra, mil_origin=loss_origin, mil_inter=loss_inter,
                 kl=loss_kl, mil_orig=loss_mil_orig, mil_supp=loss_mil_supp,
                 coactivity=loss_3_supp_contrastive, mutual=mutual_loss)
    return total_loss, terms


# ---- cal_snip_cont_loss (S:train.py:13-93)
def select_topk_embeddings(scores, embeddings, k):
    _, idx_desc = scores.sort(descending=True, dim=1)
    idx_topk = idx_desc[:, :k]
    idx_topk = idx_topk.unsqueeze(2).expand([-1, -1, embeddings.shape[2]])
    return torch.gather(embeddings, 1, idx_topk)


def easy_snippets_mining(actionness, embeddings, k_easy):
    select_idx = torch.ones_like(actionness)
    select_idx = nn.Dropout(p=0.6)(select_idx)
    actionness_drop = actionness * select_idx
    actionness_rev = torch.max(actionness, dim=1, keepdim=True)[0] - actionness
    actionness_rev_drop = actionness_rev * select_idx
    easy_act = select_topk_embeddings(actionness_drop, embeddings, k_easy)
    easy_bkg = select_topk_embeddings(actionness_rev_drop, embeddings, k_easy)
    return easy_act, easy_bkg


def hard_snippets_mining(actionness, embeddings, k_hard):
    aness_np = actionness.cpu().detach().numpy()
    aness_median = np.median(aness_np, 1, keepdims=True)
    aness_bin = np.where(aness_np > aness_median, 1.0, 0.0).astype(aness_np.dtype)

    erosion_big = ndimage.binary_erosion(aness_bin, structure=np.ones((1, 3))).astype(
        aness_np.dtype)
    erosion_small = ndimage.binary_erosion(aness_bin, structure=np.ones((1, 6))).astype(
        aness_np.dtype)
    idx_region_inner = actionness.new_tensor(erosion_big - erosion_small)
    aness_region_inner = actionness * idx_region_inner
    hard_act = select_topk_embeddings(aness_region_inner, embeddings, k_hard)

    dilation_small = ndimage.binary_dilation(aness_bin, structure=np.ones((1, 3))).astype(
        aness_np.dtype)
    dilation_big = ndimage.binary_dilation(aness_bin, structure=np.ones((1, 6))).astype(
        aness_np.dtype)
    idx_region_outer = actionness.new_tensor(dilation_big - dilation_small)
    aness_region_outer = actionness * idx_region_outer
    hard_bkg = select_topk_embeddings(aness_region_outer, embeddings, k_hard)
    return hard_act, hard_bkg


def nce(q, k, neg, temperature=0.07):
    q = F.normalize(q, dim=1)
    k = F.normalize(k, dim=1)
    neg = neg.permute(0, 2, 1)
    neg = F.normalize(neg, dim=1)
    l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
    l_neg = torch.einsum("nc,nck->nk", [q, neg])
    logits = torch.cat([l_pos, l_neg], dim=1)
    logits /= temperature
    labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return nn.CrossEntropyLoss()(logits, labels)


def cal_snip_cont_loss(outputs, num_segments):
    k_easy = num_segments // 5
    k_hard = num_segments // 20
    actionness = torch.sigmoid(outputs["attn"])
    actionness = actionness.squeeze(-1)
    embeddings = outputs["feat"]
    easy_act, easy_bkg = easy_snippets_mining(actionness, embeddings, k_easy)
    hard_act, hard_bkg = hard_snippets_mining(actionness, embeddings, k_hard)
    contrast_pairs = {"EA": easy_act, "EB": easy_bkg, "HA": hard_act, "HB": hard_bkg}
    hard_act_loss = nce(torch.mean(contrast_pairs["HA"], 1), torch.mean(contrast_pairs["EA"], 1),
                        contrast_pairs["EB"])
    hard_bkg_loss = nce(torch.mean(contrast_pairs["HB"], 1), torch.mean(contrast_pairs["EB"], 1),
                        contrast_pairs["EA"])
    return hard_act_loss + hard_bkg_loss, contrast_pairs
