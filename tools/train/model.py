"""PyTorch DiffusionGemma (spec /work/shared/spec/diffusiongemma.md §3–§4) at small size.

Parameter tensors are stored in the numpy layout of the GGUF export (nn.Linear style [out, in];
experts gate_up [E, 2F, D] with gate rows first, down [E, D, F]; router [E, D]), so export is a
plain copy. One weight stack serves both modes:

    kv = m.encode(tokens, pos, mask_swa, mask_glob)           # causal; per-layer (k, v)
    logits = m.canvas(canvas, pos, kv, mask_swa, mask_glob, sc_probs)

Masks are boolean [B, Nq, Nk] over keys [context rows | own rows]. Helpers build them for
training batches (`train_masks`) and for the cached sampler (`Cache`, `encode_cached`,
`denoise_cached`).
"""

import math
from dataclasses import dataclass, field, asdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    V: int = 512
    D: int = 64
    pattern: list = field(default_factory=lambda: [True, True, False, True, True, False])
    n_head: int = 4
    n_kv_swa: int = 2
    n_kv_glob: int = 1
    hd_swa: int = 16
    hd_glob: int = 32
    ffn: int = 128
    n_exp: int = 4
    k_exp: int = 2
    f_exp: int = 32
    window: int = 32
    canvas: int = 32
    base_swa: float = 10000.0
    base_glob: float = 1000000.0
    softcap: float = 30.0
    eps: float = 1e-6
    ctx_len: int = 512

    @property
    def L(self):
        return len(self.pattern)

    def n_kv(self, l):
        return self.n_kv_swa if self.pattern[l] else self.n_kv_glob

    def hd(self, l):
        return self.hd_swa if self.pattern[l] else self.hd_glob

    def to_dict(self):
        return asdict(self)


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


class Layer(nn.Module):
    def __init__(self, c, l):
        super().__init__()
        D, nh, nkv, hd = c.D, c.n_head, c.n_kv(l), c.hd(l)
        self.swa = c.pattern[l]
        self.nh, self.nkv, self.hd = nh, nkv, hd
        P = nn.Parameter

        def lin(o, i, std=None):
            return P(torch.randn(o, i) * (std if std is not None else i ** -0.5))

        self.attn_norm = P(torch.ones(D))
        self.wq = lin(nh * hd, D)
        self.wk = lin(nkv * hd, D)
        self.wv = lin(nkv * hd, D) if self.swa else None
        self.wo = lin(D, nh * hd)
        # q/k norm weights hd^-1/4 so that q.k starts at the usual 1/sqrt(hd) scale (scale 1.0).
        self.q_norm = P(torch.full((hd,), hd ** -0.25))
        self.k_norm = P(torch.full((hd,), hd ** -0.25))
        post = 1.0 / math.sqrt(c.L)
        self.post_attn_norm = P(torch.full((D,), post))
        self.ffn_norm = P(torch.ones(D))
        self.gate = lin(c.ffn, D)
        self.up = lin(c.ffn, D)
        self.down = lin(D, c.ffn)
        self.post_ffw_norm_1 = P(torch.ones(D))
        self.router = lin(c.n_exp, D, 1.0)
        self.router_scale = P(torch.ones(D))
        self.per_expert_scale = P(torch.ones(c.n_exp))
        self.pre_ffw_norm_2 = P(torch.ones(D))
        self.gate_up_exps = P(torch.randn(c.n_exp, 2 * c.f_exp, D) * D ** -0.5)
        self.down_exps = P(torch.randn(c.n_exp, D, c.f_exp) * c.f_exp ** -0.5)
        self.post_ffw_norm_2 = P(torch.ones(D))
        self.post_ffw_norm = P(torch.full((D,), post))
        self.layer_scalar = P(torch.ones(1))   # tied encoder/decoder copy
        j = torch.arange(hd // 2, dtype=torch.float64)
        if self.swa:
            omega = c.base_swa ** (-2.0 * j / hd)
        else:
            omega = c.base_glob ** (-2.0 * j / hd)
            omega[hd // 8:] = 0.0                  # proportional RoPE: first quarter rotates
        self.register_buffer("omega", omega, persistent=False)


class DiffusionGemma(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        D = c.D
        P = nn.Parameter
        self.embed = P(torch.randn(c.V, D) * D ** -0.5)
        self.out_norm = P(torch.ones(D))
        self.sc_pre_norm = P(torch.ones(D))
        self.sc_gate = P(torch.randn(c.ffn, D) * D ** -0.5)
        self.sc_up = P(torch.randn(c.ffn, D) * D ** -0.5)
        self.sc_down = P(torch.randn(D, c.ffn) * c.ffn ** -0.5 * 0.1)
        self.layers = nn.ModuleList([Layer(c, l) for l in range(c.L)])
        self.emb_scale = float(np.float32(np.sqrt(np.float32(D))))

    # --- pieces ------------------------------------------------------------------------------
    def rms(self, x, w=None):
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c.eps)
        return y if w is None else y * w

    @staticmethod
    def rope(x, pos, omega):
        """x [B, H, N, hd], pos [B, N] -> split-half RoPE."""
        half = x.shape[-1] // 2
        phi = pos.to(torch.float64)[..., None] * omega          # [B, N, half]
        cos = torch.cos(phi).to(x.dtype)[:, None]
        sin = torch.sin(phi).to(x.dtype)[:, None]
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)

    def qkv(self, L, h, pos):
        B, N, _ = h.shape
        a = self.rms(h, L.attn_norm)
        q = (a @ L.wq.t()).view(B, N, L.nh, L.hd).transpose(1, 2)
        k_raw = (a @ L.wk.t()).view(B, N, L.nkv, L.hd).transpose(1, 2)
        v_raw = k_raw if L.wv is None else (a @ L.wv.t()).view(B, N, L.nkv, L.hd).transpose(1, 2)
        q = self.rope(self.rms(q, L.q_norm), pos, L.omega)
        k = self.rope(self.rms(k_raw, L.k_norm), pos, L.omega)
        v = self.rms(v_raw)
        return q, k, v

    def ffn(self, L, h):
        c = self.c
        d = self.rms(h, L.ffn_norm)
        d = (gelu_tanh(d @ L.gate.t()) * (d @ L.up.t())) @ L.down.t()
        d = self.rms(d, L.post_ffw_norm_1)
        r = self.rms(h) * L.router_scale * (c.D ** -0.5)
        p = torch.softmax((r @ L.router.t()).float(), -1)          # [B, N, E]
        top_p, top_i = torch.topk(p, c.k_exp, dim=-1)
        wts = top_p / top_p.sum(-1, keepdim=True) * L.per_expert_scale[top_i]
        wfull = torch.zeros_like(p).scatter(-1, top_i, wts)
        x2 = self.rms(h, L.pre_ffw_norm_2)
        # all experts densely (E is small): one matmul in, one matmul out with the routing
        # weights folded in (non-selected experts get weight 0).
        E, Fe, D = c.n_exp, c.f_exp, c.D
        gu = (x2 @ L.gate_up_exps.reshape(E * 2 * Fe, D).t()).view(*x2.shape[:-1], E, 2 * Fe)
        act = gelu_tanh(gu[..., :Fe]) * gu[..., Fe:] * wfull[..., None]
        m = act.reshape(*x2.shape[:-1], E * Fe) @ L.down_exps.permute(0, 2, 1).reshape(E * Fe, D)
        m = self.rms(m, L.post_ffw_norm_2)
        return h + self.rms(d + m, L.post_ffw_norm)

    def layer(self, l, h, pos, ctx, mask):
        """ctx: (k, v) of context rows [B, nkv, Nc, hd] or None; mask [B, N, Nc + N]."""
        L = self.layers[l]
        q, k, v = self.qkv(L, h, pos)
        if ctx is not None:
            K = torch.cat([ctx[0], k], 2)
            Vv = torch.cat([ctx[1], v], 2)
        else:
            K, Vv = k, v
        g = L.nh // L.nkv
        if g > 1:
            K = K.repeat_interleave(g, 1)
            Vv = Vv.repeat_interleave(g, 1)
        s = q @ K.transpose(-1, -2)                                  # scale 1.0
        s = s.masked_fill(~mask[:, None], float("-inf"))
        o = torch.softmax(s, -1) @ Vv                                # [B, nh, N, hd]
        o = o.transpose(1, 2).reshape(h.shape[0], h.shape[1], -1) @ L.wo.t()
        h = h + self.rms(o, L.post_attn_norm)
        h = self.ffn(L, h)
        return h * L.layer_scalar, (k, v)

    def head(self, h):
        z = self.rms(h, self.out_norm) @ self.embed.t()
        return self.c.softcap * torch.tanh(z / self.c.softcap)

    def canvas_input(self, tokens, sc_probs):
        e = self.embed[tokens] * self.emb_scale
        if sc_probs is None:
            return self.rms(e)
        soft = (sc_probs @ self.embed) * self.emb_scale
        n = self.rms(soft, self.sc_pre_norm)
        sc = (gelu_tanh(n @ self.sc_gate.t()) * (n @ self.sc_up.t())) @ self.sc_down.t()
        return self.rms(e + sc)

    # --- passes ------------------------------------------------------------------------------
    def encode(self, tokens, pos, mask_swa, mask_glob, ctx=None):
        """Causal pass. ctx: optional per-layer (k, v) of earlier rows (sampler cache).
        Returns per-layer (k, v) of the new rows."""
        h = self.embed[tokens] * self.emb_scale
        kv = []
        for l, L in enumerate(self.layers):
            if l == len(self.layers) - 1:       # the last layer's output is never used
                _, k, v = self.qkv(L, h, pos)
                kv.append((k, v))
                break
            h, kvl = self.layer(l, h, pos, None if ctx is None else ctx[l],
                                mask_swa if L.swa else mask_glob)
            kv.append(kvl)
        return kv

    def canvas(self, tokens, pos, ctx, mask_swa, mask_glob, sc_probs=None):
        h = self.canvas_input(tokens, sc_probs)
        for l, L in enumerate(self.layers):
            h, _ = self.layer(l, h, pos, None if ctx is None else ctx[l],
                              mask_swa if L.swa else mask_glob)
        return self.head(h)


def train_masks(P, nb, Lenc, nbmax, C, W):
    """Masks for a training batch.
    P[b] prompt length, nb[b] number of answer canvases; encode rows 0..Lenc-1 (prompt + clean
    canvases), canvas rows = nbmax blocks of C. Returns (enc_swa, enc_glob, can_swa, can_glob,
    can_pos, valid) with can_* over keys [encode rows | canvas rows]."""
    B = len(P)
    i = torch.arange(Lenc)[:, None]
    j = torch.arange(Lenc)[None, :]
    enc_glob = (j <= i)[None].expand(B, Lenc, Lenc)
    enc_swa = ((j <= i) & (i - j < W))[None].expand(B, Lenc, Lenc)
    Q = nbmax * C
    blk = torch.arange(Q) // C                                        # [Q]
    Pt = torch.tensor(P)[:, None]                                     # [B, 1]
    ctx_len = Pt + blk[None] * C                                      # [B, Q]
    can_pos = ctx_len + (torch.arange(Q) % C)[None]
    jj = torch.arange(Lenc)[None, None]
    cl = ctx_len[..., None]
    ctx_glob = jj < cl                                                # [B, Q, Lenc]
    ctx_swa = ctx_glob & (jj >= cl - (W - 1))
    own = (blk[:, None] == blk[None, :])[None].expand(B, Q, Q)
    can_glob = torch.cat([ctx_glob, own], -1)
    can_swa = torch.cat([ctx_swa, own], -1)
    valid = blk[None] < torch.tensor(nb)[:, None]                     # [B, Q]
    return enc_swa, enc_glob, can_swa, can_glob, can_pos, valid


class Cache:
    """Sampler KV cache for one sequence: per-layer (k, v) [1, nkv, n, hd]."""

    def __init__(self, L):
        self.kv = None
        self.n = 0
        self.L = L


@torch.no_grad()
def encode_cached(m, tokens, cache):
    c = m.c
    n0, n = cache.n, len(tokens)
    i = torch.arange(n0, n0 + n)[:, None]
    j = torch.arange(n0 + n)[None, :]
    glob = (j <= i)[None]
    swa = glob & (i - j < c.window)
    pos = torch.arange(n0, n0 + n)[None]
    kv = m.encode(torch.tensor([tokens]), pos, swa, glob, cache.kv)
    if cache.kv is None:
        cache.kv = kv
    else:
        cache.kv = [(torch.cat([a[0], b[0]], 2), torch.cat([a[1], b[1]], 2))
                    for a, b in zip(cache.kv, kv)]
    cache.n = n0 + n


@torch.no_grad()
def denoise_cached(m, canvas, sc_probs, cache):
    """canvas: list/1-D tensor of C ids; sc_probs None or [C, V] float32. Returns [C, V] raw
    (soft-capped) logits, float32."""
    c = m.c
    n0, C = cache.n, len(canvas)
    j = torch.arange(n0 + C)[None, :]
    glob = torch.ones(1, C, n0 + C, dtype=torch.bool)
    swa = glob & ((j >= n0 - (c.window - 1)) | (j >= n0))[None]
    pos = torch.arange(n0, n0 + C)[None]
    sc = None if sc_probs is None else torch.as_tensor(sc_probs, dtype=torch.float32)[None]
    z = m.canvas(torch.as_tensor(canvas, dtype=torch.long)[None], pos, cache.kv, swa, glob, sc)
    return z[0].float()
