"""Independent numpy reference of the DiffusionGemma forward pass (dllm's golden oracle).

Written from /work/shared/spec/diffusiongemma.md §3–§5, §7, §12 only. Everything is computed in
float64 (weights are converted from the file's F32/F16/BF16/Q8_0 to float64 at load), except
that constants the engine defines in f32 are taken as f32 values: the embedding scale
`float32(sqrt(D))` (§12) and everything read from the file (eps, rope bases, softcap are stored
as float32 and used at that value).

API
---
    m = Model("ref-a.gguf")
    cache = m.new_cache()
    hs = m.encode(prompt_ids, cache=cache)                # causal; appends K/V; list of per-layer
                                                           # residuals [n, D] (after the layer)
    logits, hs = m.denoise(canvas_ids, sc_probs, cache, return_hidden=True)   # cache unchanged
    logits = m.forward_unified(prompt, [committed1, ...], canvas, sc_probs)   # no cache
`sc_probs` is None (SC = 0 exactly) or [C, V] probabilities (softmax of the previous step's
temperature-scaled logits). Logits are soft-capped, float64, shape [C, V].

Layout assumptions (GGUF, spec §7.3): numpy order of a GGUF [in, out] matrix is [out, in], so
y = x @ W.T. Experts: ffn_gate_up_exps [E, 2F, D] (rows 0..F-1 gate, F..2F-1 up) or split
ffn_gate_exps / ffn_up_exps [E, F, D]; ffn_down_exps [E, D, F]; ffn_gate_inp [E, D].
Global (full-attention) layers may lack attn_v: V is then the raw K projection (before k_norm).

Masks (spec §4.2, §12): encoder rows: causal; sliding layers see keys k with q - W < k <= q
(W = sliding_window, self included). Canvas rows: bidirectional over the whole canvas plus all
cached rows (global layers) or the last W - 1 cached rows (sliding layers). Cached rows never
see the canvas. Positions of the cache are 0..n-1 in order; the canvas follows at n..n+C-1.
"""

import numpy as np

import gguf


class Cache:
    """Per-layer K (after k_norm + RoPE) and V (after weightless v-norm), [n, n_kv, hd] each."""

    def __init__(self, n_layer):
        self.k = [None] * n_layer
        self.v = [None] * n_layer
        self.n = 0

    def copy(self):
        c = Cache(len(self.k))
        c.k = [None if x is None else x.copy() for x in self.k]
        c.v = [None if x is None else x.copy() for x in self.v]
        c.n = self.n
        return c


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


class Model:
    def __init__(self, path, dtype=np.float64):
        """dtype float64 is the golden oracle; float32 only simulates an f32 engine (used by
        selfcheck.py to measure how robust the golden decisions are)."""
        self.path = path
        self.dtype = dtype
        r = gguf.GGUFReader(path)
        self.reader = r
        arch = r.kv["general.architecture"]
        p = arch + "."

        def kv(key, default=None):
            v = r.kv.get(p + key, default)
            if v is None:
                raise KeyError(f"{path}: missing {p + key}")
            return v

        self.D = int(kv("embedding_length"))
        self.L = int(kv("block_count"))
        L = self.L

        def per_layer(v):
            return [int(x) for x in v] if isinstance(v, list) else [int(v)] * L

        self.n_head = per_layer(kv("attention.head_count"))
        self.n_kv = per_layer(kv("attention.head_count_kv"))
        self.hd_global = int(kv("attention.key_length"))
        self.hd_swa = int(kv("attention.key_length_swa"))
        assert int(kv("attention.value_length", self.hd_global)) == self.hd_global
        assert int(kv("attention.value_length_swa", self.hd_swa)) == self.hd_swa
        self.rope_dims = int(kv("rope.dimension_count", self.hd_global))
        self.rope_dims_swa = int(kv("rope.dimension_count_swa", self.hd_swa))
        if self.rope_dims != self.hd_global or self.rope_dims_swa != self.hd_swa:
            raise ValueError("reference supports rope dims == head dims only (spec §7.2)")
        self.freq_base = float(kv("rope.freq_base"))
        self.freq_base_swa = float(kv("rope.freq_base_swa"))
        self.eps = float(kv("attention.layer_norm_rms_epsilon"))
        self.window = int(kv("attention.sliding_window"))
        pat = kv("attention.sliding_window_pattern")
        self.is_swa = [bool(x) for x in pat]
        assert len(self.is_swa) == L
        self.softcap = float(kv("final_logit_softcapping", 0.0))
        self.n_expert = int(kv("expert_count"))
        self.n_expert_used = int(kv("expert_used_count"))
        self.canvas_length = int(r.kv["diffusion.canvas_length"])
        self.hd = [self.hd_swa if s else self.hd_global for s in self.is_swa]

        def T(name, required=True):
            if not r.has_tensor(name):
                if required:
                    raise KeyError(f"{path}: missing tensor {name}")
                return None
            return r.tensor(name).numpy().astype(dtype)

        self.tok_embd = T("token_embd.weight")            # [V, D]
        self.V = self.tok_embd.shape[0]
        assert self.tok_embd.shape[1] == self.D
        self.output_norm = T("output_norm.weight")
        self.rope_freqs = T("rope_freqs.weight", required=False)
        self.sc_pre_norm = T("self_cond_pre_norm.weight")
        self.sc_gate = T("self_cond_gate.weight")          # [F, D]
        self.sc_up = T("self_cond_up.weight")
        self.sc_down = T("self_cond_down.weight")          # [D, F]
        # f32 embedding scale (spec §12).
        self.emb_scale = float(np.float32(np.sqrt(np.float32(self.D))))

        self.layers = []
        for l in range(L):
            b = f"blk.{l}."
            w = {}
            for n in ["attn_norm", "attn_q", "attn_k", "attn_output", "attn_q_norm",
                      "attn_k_norm", "post_attention_norm", "ffn_norm", "ffn_gate", "ffn_up",
                      "ffn_down", "post_ffw_norm", "ffn_gate_inp", "pre_ffw_norm_2",
                      "post_ffw_norm_1", "post_ffw_norm_2", "ffn_down_exps"]:
                w[n] = T(b + n + ".weight")
            w["attn_v"] = T(b + "attn_v.weight", required=False)
            w["ffn_gate_inp_scale"] = T(b + "ffn_gate_inp.scale")
            w["ffn_down_exps_scale"] = T(b + "ffn_down_exps.scale", required=False)
            w["dec_scale"] = float(T(b + "layer_output_scale.weight").reshape(-1)[0])
            w["enc_scale"] = float(T(b + "enc_layer_output_scale.weight").reshape(-1)[0])
            gu = T(b + "ffn_gate_up_exps.weight", required=False)
            if gu is not None:
                F = gu.shape[1] // 2
                w["exp_gate"], w["exp_up"] = gu[:, :F, :], gu[:, F:, :]
            else:
                w["exp_gate"] = T(b + "ffn_gate_exps.weight")
                w["exp_up"] = T(b + "ffn_up_exps.weight")
            nh, nkv, hd = self.n_head[l], self.n_kv[l], self.hd[l]
            assert nh % nkv == 0
            assert w["attn_q"].shape == (nh * hd, self.D), (l, w["attn_q"].shape)
            assert w["attn_k"].shape == (nkv * hd, self.D)
            assert w["attn_output"].shape == (self.D, nh * hd)
            assert w["attn_q_norm"].shape == (hd,) and w["attn_k_norm"].shape == (hd,)
            assert w["ffn_gate_inp"].shape == (self.n_expert, self.D)
            if w["attn_v"] is None and self.is_swa[l]:
                raise ValueError(f"layer {l}: sliding layer without attn_v")
            # RoPE angular frequencies (spec §3.3): exponent denominator = full head dim.
            j = np.arange(hd // 2, dtype=np.float64)
            if self.is_swa[l]:
                omega = self.freq_base_swa ** (-2.0 * j / hd)
            else:
                omega = self.freq_base ** (-2.0 * j / hd)
                if self.rope_freqs is not None:
                    assert self.rope_freqs.shape == (hd // 2,)
                    omega = omega / self.rope_freqs
            w["omega"] = omega
            self.layers.append(w)
        self.stats = {"router_min_logit_gap": np.inf}

    # ---- building blocks --------------------------------------------------------------------
    def rms(self, x, w=None):
        y = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps)
        return y if w is None else y * w

    @staticmethod
    def rope(x, pos, omega):
        """x [n, h, hd]; split-half (NeoX) pairs (j, j + hd/2)."""
        half = x.shape[-1] // 2
        phi = np.asarray(pos, np.float64)[:, None] * omega[None, :]
        c = np.cos(phi)[:, None, :].astype(x.dtype)
        s = np.sin(phi)[:, None, :].astype(x.dtype)
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)

    def qkv(self, l, h, pos):
        """Rows h [n, D] at positions pos -> q [n, nh, hd], k, v [n, nkv, hd]."""
        w = self.layers[l]
        nh, nkv, hd = self.n_head[l], self.n_kv[l], self.hd[l]
        a = self.rms(h, w["attn_norm"])
        q = (a @ w["attn_q"].T).reshape(-1, nh, hd)
        k_raw = (a @ w["attn_k"].T).reshape(-1, nkv, hd)
        v_raw = k_raw if w["attn_v"] is None else (a @ w["attn_v"].T).reshape(-1, nkv, hd)
        q = self.rope(self.rms(q, w["attn_q_norm"]), pos, w["omega"])
        k = self.rope(self.rms(k_raw, w["attn_k_norm"]), pos, w["omega"])
        v = self.rms(v_raw)
        return q, k, v

    def attend(self, l, q, k, v, allowed):
        """q [nq, nh, hd], k/v [nk, nkv, hd], allowed [nq, nk] bool -> [nq, nh*hd]. Scale 1."""
        nh, nkv = self.n_head[l], self.n_kv[l]
        g = nh // nkv
        kh = np.repeat(k, g, axis=1)          # query head i uses kv head i // g
        vh = np.repeat(v, g, axis=1)
        s = np.einsum("qhd,khd->hqk", q, kh)
        s = np.where(allowed[None], s, -np.inf)
        s = s - s.max(axis=-1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=-1, keepdims=True)
        o = np.einsum("hqk,khd->qhd", p, vh)
        return o.reshape(q.shape[0], -1)

    def ffn(self, l, h):
        """Dense GeGLU || MoE, both from the post-attention residual h; returns the new h
        (before the layer scalar)."""
        w = self.layers[l]
        d = self.rms(h, w["ffn_norm"])
        d = (gelu_tanh(d @ w["ffn_gate"].T) * (d @ w["ffn_up"].T)) @ w["ffn_down"].T
        d = self.rms(d, w["post_ffw_norm_1"])
        # router on the un-normed residual
        r = self.rms(h) * w["ffn_gate_inp_scale"] * (self.D ** -0.5)
        logits = r @ w["ffn_gate_inp"].T                   # [n, E]
        lp = logits - logits.max(axis=-1, keepdims=True)
        p = np.exp(lp)
        p /= p.sum(axis=-1, keepdims=True)
        k = self.n_expert_used
        order = np.argsort(-p, axis=-1, kind="stable")
        top = order[:, :k]
        if k < self.n_expert:
            srt = np.take_along_axis(logits, order, axis=-1)
            gap = float((srt[:, k - 1] - srt[:, k]).min())
            self.stats["router_min_logit_gap"] = min(self.stats["router_min_logit_gap"], gap)
        x2 = self.rms(h, w["pre_ffw_norm_2"])
        m = np.zeros_like(h)
        for i in range(h.shape[0]):
            pt = p[i, top[i]]
            wt = pt / pt.sum()
            for e, we in zip(top[i], wt):
                if w["ffn_down_exps_scale"] is not None:
                    we = we * w["ffn_down_exps_scale"][e]
                g = w["exp_gate"][e] @ x2[i]
                u = w["exp_up"][e] @ x2[i]
                m[i] += we * (w["ffn_down_exps"][e] @ (gelu_tanh(g) * u))
        m = self.rms(m, w["post_ffw_norm_2"])
        return h + self.rms(d + m, w["post_ffw_norm"])

    def layer(self, l, h, q, k_all, v_all, allowed, scale):
        """One layer for query rows h given their q and the visible K/V; scale is a scalar or
        a per-row [n, 1] array (the layer output scale)."""
        w = self.layers[l]
        o = self.attend(l, q, k_all, v_all, allowed) @ w["attn_output"].T
        h = h + self.rms(o, w["post_attention_norm"])
        h = self.ffn(l, h)
        return h * scale

    def embed(self, ids):
        return self.tok_embd[np.asarray(ids, np.int64)] * self.emb_scale

    def canvas_input(self, canvas_ids, sc_probs):
        e = self.embed(canvas_ids)
        if sc_probs is None:
            return self.rms(e)                             # SC = 0 exactly
        soft = (np.asarray(sc_probs, self.dtype) @ self.tok_embd) * self.emb_scale
        n = self.rms(soft, self.sc_pre_norm)
        sc = (gelu_tanh(n @ self.sc_gate.T) * (n @ self.sc_up.T)) @ self.sc_down.T
        return self.rms(e + sc)

    def head(self, h):
        z = self.rms(h, self.output_norm) @ self.tok_embd.T
        if self.softcap > 0:
            z = self.softcap * np.tanh(z / self.softcap)
        return z

    # ---- public passes ----------------------------------------------------------------------
    def new_cache(self):
        return Cache(self.L)

    def encode(self, tokens, positions=None, cache=None):
        """Causal pass over `tokens` following the cache; appends K/V. Returns per-layer
        residuals after each layer (list of [n, D])."""
        cache = cache if cache is not None else self.new_cache()
        n0, n = cache.n, len(tokens)
        pos = np.arange(n0, n0 + n) if positions is None else np.asarray(positions)
        assert np.array_equal(pos, np.arange(n0, n0 + n)), "cache positions must be contiguous"
        h = self.embed(tokens)
        hidden = []
        qi = np.arange(n0, n0 + n)[:, None]
        kj = np.arange(n0 + n)[None, :]
        for l in range(self.L):
            q, k, v = self.qkv(l, h, pos)
            if cache.k[l] is None:
                k_all, v_all = k, v
            else:
                k_all = np.concatenate([cache.k[l], k])
                v_all = np.concatenate([cache.v[l], v])
            allowed = kj <= qi
            if self.is_swa[l]:
                allowed &= (qi - kj) < self.window
            h = self.layer(l, h, q, k_all, v_all, allowed, self.layers[l]["enc_scale"])
            cache.k[l], cache.v[l] = k_all, v_all
            hidden.append(h.copy())
        cache.n = n0 + n
        return hidden

    def denoise(self, canvas_ids, sc_probs, cache, return_hidden=False):
        """Bidirectional canvas pass over [cache | canvas]; does not modify the cache."""
        n0, C = cache.n, len(canvas_ids)
        pos = np.arange(n0, n0 + C)
        h = self.canvas_input(canvas_ids, sc_probs)
        hidden = []
        kj = np.arange(n0 + C)[None, :]
        for l in range(self.L):
            q, k, v = self.qkv(l, h, pos)
            if n0:
                k_all = np.concatenate([cache.k[l], k])
                v_all = np.concatenate([cache.v[l], v])
            else:
                k_all, v_all = k, v
            allowed = np.ones((C, n0 + C), bool)
            if self.is_swa[l]:
                allowed &= (kj >= n0 - (self.window - 1))  # last W-1 cached rows + canvas
            h = self.layer(l, h, q, k_all, v_all, allowed, self.layers[l]["dec_scale"])
            hidden.append(h.copy())
        logits = self.head(h)
        return (logits, hidden) if return_hidden else logits

    def forward_unified(self, prompt, committed_canvases, canvas, sc_probs, return_hidden=False):
        """One region-aware pass over [prompt | committed... | canvas] without a cache
        (spec §4.1/§7.5). Returns the canvas logits (and per-layer residuals of all rows)."""
        prefix = list(prompt)
        for c in committed_canvases:
            prefix += list(c)
        P, C = len(prefix), len(canvas)
        N = P + C
        pos = np.arange(N)
        h = np.concatenate([self.embed(prefix), self.canvas_input(canvas, sc_probs)])
        i = np.arange(N)[:, None]
        j = np.arange(N)[None, :]
        is_canvas_q = i >= P
        is_canvas_k = j >= P
        hidden = []
        for l in range(self.L):
            w = self.layers[l]
            # prompt/committed rows: causal (+ window incl. self on sliding layers), never canvas
            enc = (~is_canvas_q) & (j <= i)
            if self.is_swa[l]:
                enc &= (i - j) < self.window
            # canvas rows: all canvas; prefix rows all (global) or the last W-1 (sliding)
            dec_prefix = ~is_canvas_k
            if self.is_swa[l]:
                dec_prefix &= j >= P - (self.window - 1)
            dec = is_canvas_q & (is_canvas_k | dec_prefix)
            allowed = enc | dec
            scale = np.where(np.arange(N) < P, w["enc_scale"], w["dec_scale"])[:, None]
            scale = scale.astype(self.dtype)
            q, k, v = self.qkv(l, h, pos)
            h = self.layer(l, h, q, k, v, allowed, scale)
            hidden.append(h.copy())
        logits = self.head(h[P:])
        return (logits, hidden) if return_hidden else logits


def softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)
