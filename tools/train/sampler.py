"""dllm's sampler in PyTorch, exactly as /work/main/docs/sampler.md defines it.

    rng = Rng(seed)                                        # dllm RNG v1
    out = generate(m, prompt_ids, seed=0, max_new_tokens=128, eog_ids=[1, 6])
    out["tokens"], out["n_steps"] (steps per canvas), out["canvases"]

Numerics: the model's raw soft-capped logits R are float32; Z = R * float32(1 / t) in float32;
exp / sums / entropy in float64; the self-conditioning input is softmax(Z) rounded to float32;
the acceptance prefix sum is float64 (sequential). Modes: argmax_only (the sample is the argmax;
all draws still happen), fixed_steps (never stop early).
"""

import numpy as np
import torch

import model as M

M64 = (1 << 64) - 1


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Rng:
    """xoshiro256** seeded with SplitMix64 (dllm RNG v1); Python ints masked to 64 bits."""

    def __init__(self, seed):
        x = int(seed) & M64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        result = (_rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def uniform01(self):
        return (self.next() >> 40) * (2.0 ** -24)

    def uniform_int(self, n):
        assert 1 <= n < (1 << 32)
        return ((self.next() >> 32) * n) >> 32


def temperature(i, n, t_min, t_max):
    return np.float32(float(t_min) + (float(t_max) - float(t_min)) * (n - i) / n)


def step_stats(R, t):
    """R [C, V] float32 tensor. Returns Z (f32), e (f64), S, H, a, probs32."""
    R = R.to(torch.float32)
    inv = torch.tensor(np.float32(1.0) / np.float32(t), dtype=torch.float32)
    Z = R * inv
    Zd = Z.double()
    mx = Zd.max(-1, keepdim=True).values
    e = torch.exp(Zd - mx)
    S = e.sum(-1)
    pi = e / S[:, None]
    H = torch.log(S) - (pi * (Zd - mx)).sum(-1)
    # lowest index of the maximum, made explicit rather than relying on argmax tie order
    V = Z.shape[-1]
    is_max = Z == Z.max(-1, keepdim=True).values
    a = torch.where(is_max, torch.arange(V)[None].expand_as(Z), V).min(-1).values
    return Z, e, S, H, a, pi.float()


def sample_position(e, S, u):
    c = torch.cumsum(e, 0)
    idx = torch.nonzero(c > u * S)
    if idx.numel():
        return int(idx[0, 0])
    return int(torch.nonzero(e > 0)[-1, 0])


def accept_entropy_bound(H, bound):
    Hl = [float(h) for h in H]
    order = sorted(range(len(Hl)), key=lambda p: (Hl[p], p))
    acc = [False] * len(Hl)
    total = 0.0
    for p in order:
        acc[p] = total <= bound
        total += Hl[p]
    return acc


def decode_canvas(m, cache, rng, *, n_steps, t_min, t_max, entropy_bound, confidence_threshold,
                  argmax_only=False, fixed_steps=False, trace=None):
    C, V = m.c.canvas, m.c.V
    canvas = [rng.uniform_int(V) for _ in range(C)]
    sc = None
    prev_a = None
    a = None
    executed = 0
    for i in range(n_steps):
        executed = i + 1
        R = M.denoise_cached(m, canvas, sc, cache)
        t = temperature(i, n_steps, t_min, t_max)
        Z, e, S, H, a_t, probs = step_stats(R, t)
        u = [rng.uniform01() for _ in range(C)]
        r = [rng.uniform_int(V) for _ in range(C)]
        a = [int(x) for x in a_t]
        if argmax_only:
            samp = list(a)
        else:
            samp = [sample_position(e[p], float(S[p]), u[p]) for p in range(C)]
        acc = accept_entropy_bound(H, entropy_bound)
        nxt = [samp[p] if acc[p] else r[p] for p in range(C)]
        stop = (not fixed_steps and i >= 1 and a == prev_a
                and float(H.mean()) < confidence_threshold)
        if trace is not None:
            trace.append({"canvas": list(canvas), "R": R.clone(), "sc_in": sc, "a": list(a),
                          "H": H.clone(), "accepted": acc, "next": list(nxt)})
        if stop:
            break
        prev_a = a
        sc = probs
        canvas = nxt
    return a, executed


def generate(m, prompt, *, seed, max_new_tokens, eog_ids, n_steps=48, t_min=0.4, t_max=0.8,
             entropy_bound=0.1, confidence_threshold=0.005, argmax_only=False, fixed_steps=False,
             trace=None):
    rng = Rng(seed)
    cache = M.Cache(m.c.L)
    M.encode_cached(m, list(prompt), cache)
    out, canvases, steps = [], [], []
    eog = set(int(x) for x in eog_ids)
    while len(out) < max_new_tokens:
        committed, n_exec = decode_canvas(
            m, cache, rng, n_steps=n_steps, t_min=t_min, t_max=t_max,
            entropy_bound=entropy_bound, confidence_threshold=confidence_threshold,
            argmax_only=argmax_only, fixed_steps=fixed_steps, trace=trace)
        steps.append(n_exec)
        canvases.append(committed)
        take = committed[:max_new_tokens - len(out)]
        ended = False
        for k, tok in enumerate(take):
            if tok in eog:
                take = take[:k + 1]
                ended = True
                break
        out += take
        if ended or len(out) >= max_new_tokens:
            break
        M.encode_cached(m, committed, cache)
    return {"tokens": out, "canvases": canvases, "n_steps": steps}
