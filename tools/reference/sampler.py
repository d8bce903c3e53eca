"""dllm's block decoder and sampler, exactly as docs/sampler.md defines them (numpy reference).

    rng = Rng(seed)                      # dllm RNG v1: xoshiro256** seeded by SplitMix64
    rng.next(), rng.uniform01(), rng.uniform_int(n)
    st = step_stats(R, t)                # per-position Z, e, S, entropy H, argmax a (R float32)
    acc = accept_entropy_bound(H, bound) # bool mask
    out = generate(model, prompt, seed=..., ...)   # dict, see generate()

Precision: R (the engine's raw soft-capped logits) is taken as float32; Z = R * float32(1/t)
is float32 as specified; exp/sum/entropy/cumulative sums are float64; the self-conditioning
input softmax(Z) is rounded to float32. The acceptance prefix sum is float64.
"""

import numpy as np

M64 = (1 << 64) - 1


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Rng:
    """dllm RNG v1 (docs/sampler.md). Python ints masked to 64 bits."""

    def __init__(self, seed):
        x = seed & M64
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
        return (self.next() >> 40) * 2.0 ** -24

    def uniform_int(self, n):
        assert 1 <= n < (1 << 32)
        return ((self.next() >> 32) * n) >> 32


def temperature(i, n_steps, t_min, t_max):
    """t_i in float64 arithmetic, then float32."""
    t_min, t_max = float(t_min), float(t_max)
    return np.float32(t_min + (t_max - t_min) * (n_steps - i) / n_steps)


def step_stats(R, t):
    """R [C, V] raw logits (cast to float32), t float32 temperature. Returns dict with
    Z (float32), e (float64, exp(Z - max)), S, H (entropy, nats), a (lowest-index argmax),
    probs32 (softmax(Z) as float32, the next step's SC input)."""
    R = np.asarray(R, np.float32)
    inv = np.float32(1.0) / np.float32(t)
    Z = (R * inv).astype(np.float32)
    Zd = Z.astype(np.float64)
    mx = Zd.max(axis=-1, keepdims=True)
    e = np.exp(Zd - mx)
    S = e.sum(axis=-1)
    pi = e / S[:, None]
    H = np.log(S) - (pi * (Zd - mx)).sum(axis=-1)
    a = np.argmax(Z, axis=-1)      # numpy argmax returns the first (lowest) index of the max
    return {"Z": Z, "e": e, "S": S, "H": H, "a": a, "probs32": pi.astype(np.float32)}


def sample_position(e, S, u, with_margin=False):
    """Smallest v with sum_{j<=v} e_j > u*S; if rounding leaves none, the last v with e_v > 0.
    with_margin: also return min(u*S - c[v-1], c[v] - u*S) / S (robustness of the draw)."""
    c = np.cumsum(e)
    idx = np.nonzero(c > u * S)[0]
    v = int(idx[0]) if idx.size else int(np.nonzero(e > 0)[0][-1])
    if not with_margin:
        return v
    lo = c[v - 1] if v > 0 else 0.0
    return v, float(min(u * S - lo, c[v] - u * S) / S)


def accept_entropy_bound(H, bound):
    """Order positions by (H, position); rank k accepted iff the float64 sum of the entropies
    of ranks < k is <= bound. The first is always accepted."""
    H = np.asarray(H, np.float64)
    order = np.lexsort((np.arange(H.size), H))    # primary key H, then position
    acc = np.zeros(H.size, bool)
    total = 0.0
    for k, p in enumerate(order):
        acc[p] = k == 0 or total <= bound     # rank 0 always (also for a negative bound)
        total += float(H[p])
    return acc


def acceptance_slack(H, bound):
    """Smallest |prefix sum - bound| over ranks (robustness of the decisions)."""
    H = np.asarray(H, np.float64)
    order = np.lexsort((np.arange(H.size), H))
    pref = np.concatenate([[0.0], np.cumsum(H[order])[:-1]])
    return float(np.abs(pref - bound).min())


def decode_canvas(model, cache, rng, *, n_steps, t_min, t_max, entropy_bound,
                  confidence_threshold, argmax_only=False, fixed_steps=False, trace=None):
    """Denoise one canvas at the positions after `cache` (cache not modified). Returns
    (committed canvas = argmax of the last executed step, as a list of ints; steps executed)."""
    C, V = model.canvas_length, model.V
    canvas = np.array([rng.uniform_int(V) for _ in range(C)], np.int64)
    sc = None
    prev_a = None
    a = None
    executed = 0
    for i in range(n_steps):
        executed = i + 1
        R = model.denoise(canvas, sc, cache).astype(np.float32)
        t = temperature(i, n_steps, t_min, t_max)
        st = step_stats(R, t)
        u = [rng.uniform01() for _ in range(C)]
        r = [rng.uniform_int(V) for _ in range(C)]
        a = st["a"]
        if argmax_only:
            samp = a.copy()
        else:
            sm = [sample_position(st["e"][p], st["S"][p], u[p], True) for p in range(C)]
            samp = np.array([x[0] for x in sm])
        acc = accept_entropy_bound(st["H"], entropy_bound)
        sample_margin = (np.inf if argmax_only else
                         min([sm[p][1] for p in range(C) if acc[p]] + [np.inf]))
        nxt = np.where(acc, samp, np.array(r, np.int64))
        stop = (not fixed_steps and i >= 1 and np.array_equal(a, prev_a)
                and float(np.mean(st["H"])) < confidence_threshold)
        if trace is not None:
            trace.append({"canvas": canvas.copy(), "R": R, "t": t, "H": st["H"], "a": a.copy(),
                          "sample": samp, "accepted": acc, "u": np.array(u),
                          "r": np.array(r), "next": nxt.copy(), "sc_in": sc, "stop": stop,
                          "slack": acceptance_slack(st["H"], entropy_bound),
                          "sample_margin": sample_margin,
                          "top_gap": float(np.min(np.sort(R, axis=-1)[:, -1] -
                                                  np.sort(R, axis=-1)[:, -2]))})
        if stop:
            break
        prev_a = a.copy()
        sc = st["probs32"]
        canvas = nxt
    return [int(x) for x in a], executed


def generate(model, prompt, *, seed, max_new_tokens, eog_ids, n_steps=48, t_min=0.4,
             t_max=0.8, entropy_bound=0.1, confidence_threshold=0.005, argmax_only=False,
             fixed_steps=False, trace=None):
    """Block decoder: encode the prompt, then canvas after canvas: decode, commit the argmax
    canvas (truncated after the first end-of-generation id, or at max_new_tokens), encode it
    causally at the next positions. `trace` (list) receives per-step dicts with "block".
    Returns dict(tokens=list, canvases=[committed canvases before truncation],
    n_steps=[steps executed per canvas])."""
    rng = Rng(seed)
    cache = model.new_cache()
    model.encode(list(prompt), cache=cache)
    out, canvases, steps = [], [], []
    eog = set(int(x) for x in eog_ids)
    while len(out) < max_new_tokens:
        tr = [] if trace is not None else None
        committed, n_exec = decode_canvas(
            model, cache, rng, n_steps=n_steps, t_min=t_min, t_max=t_max,
            entropy_bound=entropy_bound, confidence_threshold=confidence_threshold,
            argmax_only=argmax_only, fixed_steps=fixed_steps, trace=tr)
        if trace is not None:
            for d in tr:
                d["block"] = len(canvases)
            trace.extend(tr)
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
        model.encode(committed, cache=cache)
    return {"tokens": out, "canvases": canvases, "n_steps": steps}


class FixedLogitsModel:
    """Stand-in for model.Model in sampler-only tests: denoise() returns the same raw logits
    whatever the canvas and SC input (so the sampler can be checked without a network)."""

    def __init__(self, logits):
        self.R = np.asarray(logits, np.float32)
        self.canvas_length, self.V = self.R.shape

    def new_cache(self):
        return None

    def encode(self, tokens, positions=None, cache=None):
        return []

    def denoise(self, canvas_ids, sc_probs, cache, return_hidden=False):
        return (self.R, []) if return_hidden else self.R
