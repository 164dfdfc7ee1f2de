"""STCL-Net (TPAMI 2023), THUMOS'14 network ``STCL_THU`` of the official code (PHDJieFu/STCL-Net,
``model.py:42-378``), spec ``co2-stcl-behaviour.md`` sec. 0, 3.4, 3.6, 9, 10.

STCL keeps CO2-Net's trunk (the two cross-modal consensus blocks ``vAttn`` / ``fAttn``, ``fusion``
and the head ``classifier``, the same code and key names: imported from
:mod:`methods.co2net.model`, not copied), drops CO2's dead ``feat_encoder``, and adds:

- **TCL**, the intra-video temporal correlation: two layers of cosine self-attention over time
  (keys k1/k3 convs of width ``key_dim``, values of width D; the weights of each target snippet
  are a softmax over the sources; residual, then ReLU; no temperature, no scaling, no mask), and
  its own head ``intra_temp_classifier``;
- **SCL**, the inter-video semantic correlation: an exemplar bank of ``per_class`` (M = 10)
  training videos per class, each resampled to S rows, passed through the same trunk and
  classifier; per bank video the mean feature of its top-(S // 10) snippets by the
  attention-suppressed class score (a class exemplar) and by the raw background score (a
  background exemplar); the background exemplar set is the mean over classes of the m-th videos'
  background exemplars. Every snippet attends (cosine, softmax over the M exemplars) to each of
  the C + 1 exemplar sets; the C + 1 results are weighted by a softmax over a 1-channel logit
  (``clswise_atn_conv``), aggregated, concatenated after the snippet's own value and classified
  by ``inter_temp_classifier`` (input 2 D);
- the fused CAS 0.55 x_cls + 0.36 intra_cas + 0.09 inter_cas (``fusion_weights``), which replaces
  CO2's CAS everywhere downstream.

**The bank comes from outside.** The original rebuilds the bank inside every forward (training
and test) from numpy's *global* legacy stream: for c = 0 .. C-1 in class order,
``np.random.choice(classwiseidx[c], 10, replace=False)`` and then, for each picked video in that
order, ``random_perturb`` to S rows (one ``np.random.choice(range(lo, hi + 1))`` per bin with a
choice), reading the training features from a ``dataset`` attribute (Q2, sec. 3.4 step 3). Here
the model has no random stream of its own: either the caller passes the (C, M, S, D) bank to
``forward`` (drawn with :func:`draw_bank`, an explicit ``numpy.random.Generator`` or a
``RandomState`` that reproduces the original's global stream call for call, or given as lists,
:class:`BankDraw`; gathered with :func:`bank_features`), or the engine sets ``bank_source`` (a
:class:`methods.stcl.bank.ExemplarBank`: the training videos on the device and the run's
streams), which draws one bank per training forward and one per test video (or one per pass).

Same modules, registration order (so state-dict order and seeded initialisation), init
(``weights_init``: Kaiming-uniform, zero biases) and dropout placement and draw order as the
original (sec. 3.4 "Dropout draw order"): the batch's CCMs, fusion, the TCL head, the bank's
CCMs, fusion and classifier, the SCL head, the batch's classifier. So a CO2 state dict loads with
``strict=False`` (trunk and classifier keys equal; ``feat_encoder`` unexpected; TCL/SCL keep their
initial values); the reverse fails strictly (``feat_encoder`` missing).

Sizes that the original fixes are parameters with its defaults (sec. 10, Q13): D 2048 (RGB | flow
halves), CCM hidden 512, TCL/SCL key width 512, C = 20 (C + 1 = the literal 21), M = 10, top-k
S // 10. ``STCL_ACT`` (ActivityNet): :class:`STCLActivityNet`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dataset.class_pair_sampler import perturb
from methods.co2net.model import CCM, CO2Output, ant_pool, weights_init

FUSION_WEIGHTS = (0.55, 0.36, 0.09)
"""x_cls, intra_cas, inter_cas weights of the fused CAS (literals, ``S:model.py:256``)."""

Rng = Union[np.random.Generator, np.random.RandomState]


@dataclass
class STCLOutput(CO2Output):
    """One ``STCL_THU`` forward over B videos of T snippets, all time-major (B, T, .).

    The CO2 fields (feat, cas, attn, v_atn, f_atn; so every CO2 loss term reads it), with ``cas``
    the **fused** CAS, plus: cas_origin (B, T, C + 1) the trunk classifier's CAS (``x_cls``),
    intra_cas (B, T, C + 1) the TCL head's, inter_cas (B, T, C + 1) the SCL head's.
    """

    cas_origin: Tensor
    intra_cas: Tensor
    inter_cas: Tensor


@dataclass(frozen=True)
class BankDraw:
    """The exemplar bank's inputs: videos (C, M) dataset indices, class by class in draw order
    (the order matters: the m-th background exemplar averages the m-th video of every class);
    rows (C, M, S) the resampled rows of each (``features[video][rows]`` is its (S, D) array)."""

    videos: np.ndarray
    rows: np.ndarray

    @classmethod
    def from_lists(cls, videos: Sequence[Sequence[int]],
                   rows: Sequence[Sequence[Sequence[int]]]) -> "BankDraw":
        """A given bank (e.g. a frozen test-time bank); rows may differ per video only in value."""
        v = np.asarray(videos, dtype=np.int64)
        r = np.asarray(rows, dtype=np.int64)
        if v.ndim != 2 or r.ndim != 3 or r.shape[:2] != v.shape:
            raise ValueError(f"a bank is (C, M) videos and (C, M, S) rows, got {v.shape} and "
                             f"{r.shape}")
        return cls(videos=v, rows=r)


def draw_bank(classwise: Sequence[Sequence[int]], lengths: Sequence[int] | Any,
              num_segments: int, per_class: int, rng: Rng) -> BankDraw:
    """Draw the bank the original's way (``S:model.py:123-137,192-193``), with an explicit RNG.

    classwise[c]: the training videos (dataset indices) of class c, in the dataset's order
    (``classwiseidx``); lengths[i]: the row count of video i. For c in class order:
    ``rng.choice(classwise[c], per_class, replace=False)``, then ``random_perturb(T_i, S)`` of each
    picked video in pick order (:func:`dataset.class_pair_sampler.perturb`). A ``RandomState``
    makes the legacy calls (``choice``; one ``randint(lo, hi + 1)`` per perturbation draw, which
    consumes the stream like the original's ``np.random.choice(range(lo, hi + 1))``): after
    ``RandomState(s)`` it draws what the original draws after ``np.random.seed(s)`` from the same
    stream position. A ``Generator`` makes the same calls with its own bit stream. A class with
    fewer than ``per_class`` videos raises (as the original's ``choice``).
    """
    videos, rows = [], []
    for c, members in enumerate(classwise):
        if len(members) < per_class:
            raise ValueError(f"the exemplar bank takes {per_class} videos of every class; class "
                             f"{c} has {len(members)} training videos")
        picked = rng.choice(np.asarray(members), per_class, replace=False)
        videos.append([int(v) for v in picked])
        rows.append([perturb(int(lengths[int(v)]), num_segments, rng) for v in picked])
    return BankDraw(videos=np.asarray(videos, dtype=np.int64),
                    rows=np.asarray(rows, dtype=np.int64))


def bank_features(features: Sequence[Any], draw: BankDraw, dtype: torch.dtype = torch.float32,
                  device: torch.device | str | None = None) -> Tensor:
    """Gather the bank: (C, M, S, D) with [c, m] = features[videos[c, m]][rows[c, m]] (the
    original builds a float32 tensor)."""
    c, m, s = draw.rows.shape
    out = [np.asarray(features[int(draw.videos[i, j])])[draw.rows[i, j]]
           for i in range(c) for j in range(m)]
    bank = torch.as_tensor(np.stack(out), dtype=dtype, device=device)
    return bank.reshape(c, m, s, bank.shape[-1])


def cosine_attention(key: Tensor, value: Tensor) -> Tensor:
    """One TCL layer without its ReLU: out[:, :, j] = sum_i V[:, :, i] W[i, j] + V[:, :, j], with
    W = softmax over i of cos(K[:, :, i], K[:, :, j]) (keys L2-normalised over channels, eps
    1e-12). key (B, K, T), value (B, D, T) -> (B, D, T)."""
    unit = F.normalize(key, dim=1)
    weights = torch.softmax(torch.bmm(unit.transpose(1, 2), unit), dim=1)   # (B, T_i, T_j)
    return torch.bmm(value, weights) + value


def _head(embed: int, in_channels: int, classes: int, dropout: float, second: float,
          slope: float) -> nn.Sequential:
    """A classifier head of CO2's structure: Dropout, k3 conv, LReLU, Dropout, k1 conv."""
    return nn.Sequential(nn.Dropout(dropout), nn.Conv1d(in_channels, embed, 3, padding=1),
                         nn.LeakyReLU(slope), nn.Dropout(second),
                         nn.Conv1d(embed, classes + 1, 1))


class STCL(nn.Module):
    """``STCL_THU`` (spec sec. 3.4): key names and registration order of the original (52
    tensors, 103 441 474 parameters at the official sizes; no ``feat_encoder``).

    feature_dim D (2048: RGB | flow); num_classes C (20; heads have C + 1 outputs, background
    last); ccm_hidden (512); key_dim: TCL / SCL key width (512); per_class: exemplars per class M
    (10; the bank's second axis); exemplar_topk_divisor: exemplar top-k = S // 10;
    fusion_weights: (x_cls, intra, inter) weights of the fused CAS (0.55, 0.36, 0.09);
    dropout_ratio (0.7), classifier_dropout (the heads' second dropout, a literal 0.7),
    ccm_dropout (0.5), slope (0.2) as CO2's.
    """

    def __init__(self, *, feature_dim: int = 2048, num_classes: int = 20, ccm_hidden: int = 512,
                 key_dim: int = 512, per_class: int = 10, exemplar_topk_divisor: int = 10,
                 fusion_weights: Sequence[float] = FUSION_WEIGHTS, dropout_ratio: float = 0.7,
                 classifier_dropout: float = 0.7, ccm_dropout: float = 0.5,
                 slope: float = 0.2) -> None:
        super().__init__()
        if feature_dim < 2 or feature_dim % 2:
            raise ValueError(f"STCL needs an even feature_dim (RGB | flow), got {feature_dim}")
        if min(num_classes, ccm_hidden, key_dim, per_class, exemplar_topk_divisor) < 1:
            raise ValueError("num_classes, ccm_hidden, key_dim, per_class and "
                             "exemplar_topk_divisor must be >= 1")
        if len(fusion_weights) != 3:
            raise ValueError(f"fusion_weights are 3 (x_cls, intra, inter), got {fusion_weights}")
        self.feature_dim, self.num_classes = feature_dim, num_classes
        self.per_class, self.exemplar_topk_divisor = per_class, exemplar_topk_divisor
        self.fusion_weights = tuple(float(w) for w in fusion_weights)
        d, half = feature_dim, feature_dim // 2
        self.vAttn = CCM(half, ccm_hidden, ccm_dropout, slope)
        self.fAttn = CCM(half, ccm_hidden, ccm_dropout, slope)
        self.fusion = nn.Sequential(nn.Conv1d(d, d, 1), nn.LeakyReLU(slope),
                                    nn.Dropout(dropout_ratio))
        self.intra_temp_conv1_k = nn.Conv1d(d, key_dim, 1)
        self.intra_temp_conv1_v = nn.Conv1d(d, d, 1)
        self.intra_temp_conv2_k = nn.Conv1d(d, key_dim, 3, padding=1)
        self.intra_temp_conv2_v = nn.Conv1d(d, d, 3, padding=1)
        self.inter_vid_conv1_k = nn.Conv1d(d, key_dim, 1)
        self.inter_vid_conv1_v = nn.Conv1d(d, d, 1)
        self.inter_exem_conv1_k = nn.Conv1d(d, key_dim, 1)
        self.inter_exem_conv1_v = nn.Conv1d(d, d, 1)
        self.clswise_atn_conv = nn.Conv1d(d, 1, 1)
        self.intra_temp_classifier = _head(d, d, num_classes, dropout_ratio, classifier_dropout,
                                           slope)
        self.inter_temp_classifier = _head(d, 2 * d, num_classes, dropout_ratio,
                                           classifier_dropout, slope)
        self.classifier = _head(d, d, num_classes, dropout_ratio, classifier_dropout, slope)
        self.apply(weights_init)
        # the run's bank (``methods.stcl.bank.ExemplarBank``): a plain attribute, not state
        self.bank_source: Any = None
        self._pass_exemplars: Tensor | None = None

    # ---- pieces
    def _trunk(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """CO2's steps 1-4 on (N, D, T): (attn, v_atn, f_atn, nfeat)."""
        half = self.feature_dim // 2
        v_atn, vfeat = self.vAttn(x[:, :half], x[:, half:])
        f_atn, ffeat = self.fAttn(x[:, half:], x[:, :half])
        attn = (f_atn + v_atn) / 2
        return attn, v_atn, f_atn, self.fusion(torch.cat((vfeat, ffeat), 1))

    def temporal(self, nfeat: Tensor) -> Tensor:
        """TCL: two cosine self-attention layers and the TCL head: (B, D, T) -> (B, C + 1, T)."""
        layer1 = F.relu(cosine_attention(self.intra_temp_conv1_k(nfeat),
                                         self.intra_temp_conv1_v(nfeat)))
        layer2 = F.relu(cosine_attention(self.intra_temp_conv2_k(layer1),
                                         self.intra_temp_conv2_v(layer1)))
        return self.intra_temp_classifier(layer2)

    def exemplars(self, bank: Tensor) -> Tensor:
        """The C + 1 exemplar sets (C + 1, M, D) from a (C, M, S, D) bank (sec. 3.4 step 3)."""
        c, m, s, d = bank.shape
        if c != self.num_classes or m != self.per_class or d != self.feature_dim:
            raise ValueError(f"the exemplar bank is ({self.num_classes}, {self.per_class}, S, "
                             f"{self.feature_dim}), got {tuple(bank.shape)}")
        k = s // self.exemplar_topk_divisor
        if k < 1:
            raise ValueError(f"the bank's length S = {s} gives exemplar top-k S // "
                             f"{self.exemplar_topk_divisor} = 0")
        attn, _, _, feat = self._trunk(bank.reshape(c * m, s, d).transpose(1, 2))
        cas = self.classifier(feat)                                   # (CM, C + 1, S)
        low = cas.min(dim=1, keepdim=True).values
        supp = attn * (cas - low) + low
        feat = feat.transpose(1, 2).reshape(c, m, s, d)               # (C, M, S, D)
        # class c reads its own M videos: class score column c, and the raw background column
        score = supp.reshape(c, m, c + 1, s)
        own = score[torch.arange(c), :, torch.arange(c)]              # (C, M, S)
        bkg = cas.reshape(c, m, c + 1, s)[:, :, -1]                   # (C, M, S)

        def top_mean(rank: Tensor) -> Tensor:
            index = torch.topk(rank, k, dim=-1).indices               # (C, M, k)
            return torch.gather(feat, 2, index.unsqueeze(-1).expand(c, m, k, d)).mean(2)

        fore = top_mean(own)                                          # (C, M, D)
        back = top_mean(bkg).mean(0, keepdim=True)                    # (1, M, D)
        return torch.cat((fore, back), 0)

    def semantic(self, nfeat: Tensor, exemplars: Tensor) -> Tensor:
        """SCL: every snippet attends to each exemplar set; class-wise weighting; the SCL head.
        nfeat (B, D, T), exemplars (A = C + 1, M, D) -> (B, C + 1, T)."""
        query = F.normalize(self.inter_vid_conv1_k(nfeat), dim=1)     # (B, K, T)
        value = self.inter_vid_conv1_v(nfeat)                          # (B, D, T)
        related, logits = [], []
        # slot by slot with the original's products (a batched einsum rounds differently in
        # float32, and test-time scores near 0 lose their 1e-6 relative agreement to it)
        for exemplar_set in exemplars.transpose(1, 2).split(1):       # (1, D, M) each
            keys = F.normalize(self.inter_exem_conv1_k(exemplar_set)[0], dim=0)   # (K, M)
            values = self.inter_exem_conv1_v(exemplar_set)[0]                     # (D, M)
            sim = torch.softmax(torch.matmul(query.transpose(1, 2), keys), dim=-1)  # (B, T, M)
            related.append(torch.matmul(values, sim.transpose(1, 2)))              # (B, D, T)
            logits.append(self.clswise_atn_conv(related[-1]))                      # (B, 1, T)
        related, logit = torch.stack(related, 1), torch.stack(logits, 1)   # (B, A, D|1, T)
        agg = (torch.softmax(logit, dim=1) * related).sum(1)           # (B, D, T)
        return self.inter_temp_classifier(F.relu(torch.cat((value, agg), 1)))

    # ---- the bank of a run
    def start_pass(self) -> None:
        """An evaluation pass begins (called by the engine's test loop): the bank source
        restarts its test-time stream and the cached exemplars are dropped."""
        self._pass_exemplars = None
        if self.bank_source is not None:
            self.bank_source.start_pass()

    def train(self, mode: bool = True) -> "STCL":
        """``nn.Module.train``; entering training drops the exemplars cached for a pass."""
        if mode:
            self._pass_exemplars = None
        return super().train(mode)

    def _exemplar_sets(self, x: Tensor, bank: Tensor | None) -> Tensor:
        """The exemplar sets (C + 1, M, D) of the given bank, else of the bank source's draw
        (a training step's, or a test video's). A bank the source keeps for a whole pass
        (``--bank_mode pass``) is turned into exemplars once per pass."""
        if bank is None:
            source = self.bank_source
            if source is None:
                raise ValueError("STCL reads an exemplar bank of training videos: pass one, or "
                                 "run it through the engine (--method stcl), which sets "
                                 "bank_source")
            if not self.training and source.mode == "pass":
                if self._pass_exemplars is None:
                    self._pass_exemplars = self.exemplars(source.for_evaluation().to(x.dtype))
                return self._pass_exemplars
            bank = source.for_training() if self.training else source.for_evaluation()
        return self.exemplars(bank.to(x.dtype))

    # ---- forward
    def forward(self, x: Tensor, bank: Tensor | None = None) -> STCLOutput:
        """x (B, T, D) snippet features; bank (C, M, S, D) the exemplar bank's features
        (:func:`bank_features`; None: drawn by ``bank_source``, see :mod:`methods.stcl.bank`)
        -> :class:`STCLOutput`. Dropout draws follow the original's order: batch trunk, TCL
        head, bank trunk and classifier, SCL head, batch classifier."""
        if x.dim() != 3 or x.shape[-1] != self.feature_dim or x.shape[1] < 1:
            raise ValueError(f"STCL expects (B, T, {self.feature_dim}) features, got "
                             f"{tuple(x.shape)}")
        attn, v_atn, f_atn, nfeat = self._trunk(x.transpose(-1, -2))
        intra_cas = self.temporal(nfeat)
        inter_cas = self.semantic(nfeat, self._exemplar_sets(x, bank))
        x_cls = self.classifier(nfeat)
        return self._output(nfeat, attn, v_atn, f_atn, x_cls, intra_cas, inter_cas)

    def _output(self, nfeat: Tensor, attn: Tensor, v_atn: Tensor, f_atn: Tensor, x_cls: Tensor,
                intra_cas: Tensor, inter_cas: Tensor) -> STCLOutput:
        """The fused CAS and the time-major named output, from channels-first (B, ., T)."""
        w_cls, w_intra, w_inter = self.fusion_weights
        cas = w_cls * x_cls + w_intra * intra_cas + w_inter * inter_cas
        return STCLOutput(*(t.transpose(-1, -2) for t in (nfeat, cas, attn, v_atn, f_atn,
                                                           x_cls, intra_cas, inter_cas)))


class STCLActivityNet(STCL):
    """``STCL_ACT`` (spec sec. 3.5), the ActivityNet network, as its evident intent (Q14: the
    original cannot train; its 101 is ``num_classes + 1`` here). It differs from ``STCL_THU``:
    the trunk classifier runs right after fusion (so its dropout masks are drawn before the TCL
    head's); the TCL head reads layer 1 (layer 2's convs exist, so state dicts match, but their
    output is unused and they get no gradient: it is not computed here); ``ANT_CO2``'s average
    pool (``pool_kernel``, stride 1, zero padding counted) is applied to the three heads' CAS
    before the fusion and to the three attentions; feat is not pooled. M = 5 is a default of
    the ActivityNet recipe, not of the class."""

    def __init__(self, *, pool_kernel: int = 13, **kwargs: Any) -> None:
        pool = ant_pool(pool_kernel, "STCL_ACT")
        super().__init__(**kwargs)
        self.pool_kernel, self.pool = pool_kernel, pool

    def temporal(self, nfeat: Tensor) -> Tensor:
        """TCL layer 1 and the TCL head: (B, D, T) -> (B, C + 1, T)."""
        layer1 = F.relu(cosine_attention(self.intra_temp_conv1_k(nfeat),
                                         self.intra_temp_conv1_v(nfeat)))
        return self.intra_temp_classifier(layer1)

    def forward(self, x: Tensor, bank: Tensor | None = None) -> STCLOutput:
        """As :meth:`STCL.forward`; dropout order: batch trunk, batch classifier, TCL head,
        bank trunk and classifier, SCL head."""
        if x.dim() != 3 or x.shape[-1] != self.feature_dim or x.shape[1] < 1:
            raise ValueError(f"STCL expects (B, T, {self.feature_dim}) features, got "
                             f"{tuple(x.shape)}")
        attn, v_atn, f_atn, nfeat = self._trunk(x.transpose(-1, -2))
        x_cls = self.classifier(nfeat)
        intra_cas = self.temporal(nfeat)
        inter_cas = self.semantic(nfeat, self._exemplar_sets(x, bank))
        pooled = (self.pool(t) for t in (x_cls, intra_cas, inter_cas, attn, v_atn, f_atn))
        x_cls, intra_cas, inter_cas, attn, v_atn, f_atn = pooled
        return self._output(nfeat, attn, v_atn, f_atn, x_cls, intra_cas, inter_cas)
