#!/usr/bin/python3
"""Produces dllm's golden files (GGUF; F32/I32 tensors + metadata) from the numpy reference.

    /usr/bin/python3 tools/reference/make_models.py     # tests/data/models/ref-{a,b}.gguf
    /usr/bin/python3 tools/reference/make_golden.py     # tests/data/golden/*.gguf

Outputs tests/data/golden/ref-a.gguf, ref-b.gguf (for tests/data/models/ref-*.gguf) and
dg-tiny.gguf (for /work/shared/testdata/dg-tiny-f32.gguf). Names, shapes and meanings are
documented in tests/data/golden/README.md. All values are computed in float64 and rounded to
float32 when stored. Every cached/unified pair is asserted to agree (< 1e-9).
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gguf  # noqa: E402
import model as mdl  # noqa: E402
import sampler as smp  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
DG_TINY = "/work/shared/testdata/dg-tiny-f32.gguf"
F32, I32 = gguf.GGML_F32, gguf.GGML_I32
T_MIN32, T_MAX32 = float(np.float32(0.4)), float(np.float32(0.8))
BOUND32, CONF32 = float(np.float32(0.1)), float(np.float32(0.005))

PER_MODEL = {
    # prompt length, data seed, candidate seeds of the argmax and sampled generations (the
    # first whose decisions are robust against f32 round-off is taken), steps (argmax run)
    "ref-a": dict(prompt_len=11, data_seed=11, gen_seeds=range(1, 100),
                  sampled_seeds=range(20, 60), gen_steps=8),
    "ref-b": dict(prompt_len=29, data_seed=22, gen_seeds=range(1, 100),
                  sampled_seeds=range(1, 40), gen_steps=8),
}


class Out:
    """Collects golden tensors/metadata and writes one GGUF."""

    def __init__(self, path, arch="dllm-golden"):
        self.w = gguf.GGUFWriter(path, arch=arch)
        self.path = path

    def f32(self, name, a):
        self.w.add_tensor(name, np.asarray(a, np.float64).astype(np.float32), F32)

    def i32(self, name, a):
        self.w.add_tensor(name, np.asarray(a, np.int64).astype(np.int32), I32)

    def kv(self, key, value, type=None, sub_type=None):
        self.w.add_kv("golden." + key, value, type, sub_type)

    def write(self):
        self.w.write()
        return os.path.getsize(self.path)


def check_close(a, b, what, tol=1e-9):
    d = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    assert d < tol, f"{what}: cache vs unified differ by {d}"
    return d


def fixed_logits_cases(R, V):
    """Acceptance test input: a real logits matrix with edge-case rows spliced in."""
    L = np.asarray(R, np.float32).copy()
    C = L.shape[0]
    L[5 % C] = L[2 % C]               # identical rows -> equal entropies (tie -> position)
    L[7 % C] = L[2 % C]
    L[min(9, C - 1)] = 0.0            # uniform row: entropy log V, argmax 0
    if C > 12:
        L[11] = -30.0
        L[11, 33] = 30.0              # near one-hot: entropy ~ 0
        L[12] = L[0]
        m = L[12].max()
        L[12, 17] = m                 # two equal maxima -> argmax is the lower index
        L[12, V - 3] = m
    return L


def peak_row(V, t, target_h, idx):
    """A float32 logits row (0 everywhere, s at idx) whose entropy at temperature t is
    target_h (bisection on s)."""
    lo, hi = 0.0, 200.0
    row = np.zeros(V, np.float32)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        row[idx] = np.float32(mid)
        h = smp.step_stats(row[None], t)["H"][0]
        lo, hi = (mid, hi) if h > target_h else (lo, mid)
    row[idx] = np.float32(hi)
    return row


def gen_record(out, tag, res, trace, params, C, logits=True):
    S = len(trace)
    out.i32(f"{tag}.tokens", res["tokens"])
    out.i32(f"{tag}.committed", np.array(res["canvases"]).reshape(-1, C))
    out.i32(f"{tag}.steps", res["n_steps"])
    out.i32(f"{tag}.block", [d["block"] for d in trace])
    out.f32(f"{tag}.temperature", [d["t"] for d in trace])
    out.i32(f"{tag}.canvas_in", np.array([d["canvas"] for d in trace]).reshape(S, C))
    out.i32(f"{tag}.argmax", np.array([d["a"] for d in trace]).reshape(S, C))
    out.i32(f"{tag}.accepted", np.array([d["accepted"] for d in trace]).reshape(S, C))
    out.f32(f"{tag}.entropy", np.array([d["H"] for d in trace]).reshape(S, C))
    out.i32(f"{tag}.sample", np.array([d["sample"] for d in trace]).reshape(S, C))
    out.i32(f"{tag}.next", np.array([d["next"] for d in trace]).reshape(S, C))
    out.f32(f"{tag}.u", np.array([d["u"] for d in trace]).reshape(S, C))
    out.i32(f"{tag}.r", np.array([d["r"] for d in trace]).reshape(S, C))
    if logits:
        out.f32(f"{tag}.logits0", trace[0]["R"])
    if logits and S > 1 and trace[1]["block"] == 0:
        out.f32(f"{tag}.logits1", trace[1]["R"])
    for k, v in params.items():
        if k == "eog_ids":
            out.kv(f"{tag}.eog_ids", list(v), gguf.ARRAY, gguf.INT32)
        elif k == "seed":
            out.kv(f"{tag}.seed", int(v), gguf.UINT64)
        elif isinstance(v, bool):
            out.kv(f"{tag}.{k}", v)
        elif isinstance(v, int):
            out.kv(f"{tag}.{k}", v, gguf.UINT32)
        else:
            out.kv(f"{tag}.{k}", float(v))


def run_gen(m, prompt, seed, m32=None, **kw):
    """Runs a generation with the float64 model; with m32 (float32 model) also reruns it and
    reports whether every decision is identical and the largest logits/entropy differences."""
    trace = []
    m.stats["router_min_logit_gap"] = np.inf
    res = smp.generate(m, prompt, seed=seed, trace=trace, **kw)
    mg = {
        "top_gap": min(d["top_gap"] for d in trace),
        "slack": min(min(smp.acceptance_slack(d["H"], BOUND32),
                         smp.acceptance_slack(d["H"], 0.1)) for d in trace),
        "sample_margin": min(d["sample_margin"] for d in trace),
        "router_gap": m.stats["router_min_logit_gap"],
    }
    if m32 is not None:
        tr32 = []
        res32 = smp.generate(m32, prompt, seed=seed, trace=tr32, **kw)
        same = res32["tokens"] == res["tokens"] and len(tr32) == len(trace) and all(
            np.array_equal(a["a"], b["a"]) and np.array_equal(a["accepted"], b["accepted"])
            and np.array_equal(a["next"], b["next"]) and np.array_equal(a["sample"], b["sample"])
            for a, b in zip(trace, tr32))
        mg["f32_same"] = bool(same)
        if same:
            mg["f32_err_logits"] = max(float(np.abs(a["R"] - b["R"]).max())
                                       for a, b in zip(trace, tr32))
            mg["f32_err_entropy"] = max(float(np.abs(a["H"] - b["H"]).max())
                                        for a, b in zip(trace, tr32))
    return res, trace, mg


def robustness(mg, sampled):
    """Smallest ratio margin / observed f32 error (>= 5 is required for 'robust')."""
    if not mg.get("f32_same"):
        return 0.0
    eR = max(mg["f32_err_logits"], 1e-6)
    eH = max(mg["f32_err_entropy"], 1e-7)
    r = min(mg["top_gap"] / eR, mg["slack"] / eH)
    if sampled:
        r = min(r, mg["sample_margin"] / (eR / T_MIN32))
    return r


def f32_forward_error(path, prompt, canvas1, sc_probs, commit, canvas2, goldens):
    """Max abs logits and max relative hidden-state error of a float32 evaluation of the same
    math against the float64 golden (guidance for the engine tests' tolerances)."""
    m = mdl.Model(path, np.float32)
    c = m.new_cache()
    eh = m.encode(prompt, cache=c)
    R1, h1 = m.denoise(canvas1, None, c, return_hidden=True)
    R1s = m.denoise(canvas1, sc_probs, c)
    m.encode(commit, cache=c)
    R2 = m.denoise(canvas2, None, c)
    e_log = max(float(np.abs(a - goldens[k]).max())
                for a, k in [(R1, "d1"), (R1s, "d1s"), (R2, "d2")])
    e_hid = max(float(np.abs(a - b).max() / np.abs(b).max())
                for a, b in zip(eh + h1, goldens["enc_h"] + goldens["h1"]))
    return e_log, e_hid


def ref_golden(name, out_dir, report):
    cfg = PER_MODEL[name]
    path = os.path.join(REPO, "tests", "data", "models", name + ".gguf")
    m = mdl.Model(path)
    C, V, D = m.canvas_length, m.V, m.D
    rng = np.random.default_rng(cfg["data_seed"])
    out = Out(os.path.join(out_dir, name + ".gguf"))
    out.kv("model", os.path.basename(path))
    out.kv("precision", "float64 numpy reference, stored as float32")
    info = {}

    # 1. prompt encode
    prompt = [2] + list(rng.integers(5, V, cfg["prompt_len"] - 1))
    m.stats["router_min_logit_gap"] = np.inf
    cache = m.new_cache()
    enc_h = m.encode(prompt, cache=cache)
    out.i32("prompt", prompt)
    for l in range(m.L):
        out.f32(f"encode.hidden.{l}", enc_h[l])
        out.f32(f"encode.k.{l}", cache.k[l])
        out.f32(f"encode.v.{l}", cache.v[l])

    # 2. first canvas, no SC
    canvas1 = list(rng.integers(0, V, C))
    R1, h1 = m.denoise(canvas1, None, cache, return_hidden=True)
    info["d1_vs_unified"] = check_close(R1, m.forward_unified(prompt, [], canvas1, None), "d1")
    out.i32("canvas1", canvas1)
    out.f32("denoise1.logits", R1)
    for l in range(m.L):
        out.f32(f"denoise1.hidden.{l}", h1[l])

    # 3. same canvas with a fixed SC input
    sc_logits = (rng.normal(0.0, 3.0, (C, V))).astype(np.float32)
    sc_probs = mdl.softmax(sc_logits.astype(np.float64)).astype(np.float32)
    R1s, h1s = m.denoise(canvas1, sc_probs, cache, return_hidden=True)
    info["d1sc_vs_unified"] = check_close(
        R1s, m.forward_unified(prompt, [], canvas1, sc_probs), "d1sc")
    out.f32("sc.logits", sc_logits)
    out.f32("sc.probs", sc_probs)
    out.f32("denoise1_sc.logits", R1s)
    for l in range(m.L):
        out.f32(f"denoise1_sc.hidden.{l}", h1s[l])

    # 4. commit argmax(denoise1) causally, then a second canvas
    commit = [int(x) for x in np.argmax(R1.astype(np.float32), axis=-1)]
    n0 = cache.n
    com_h = m.encode(commit, cache=cache)
    _, hu = m.forward_unified(prompt + commit, [], [], None, return_hidden=True)
    for l in range(m.L):
        check_close(com_h[l], hu[l][n0:], f"commit hidden {l}")
        check_close(enc_h[l], hu[l][:n0], f"prompt hidden {l}")
    out.i32("commit.ids", commit)
    for l in range(m.L):
        out.f32(f"commit.hidden.{l}", com_h[l])
        out.f32(f"commit.k.{l}", cache.k[l][n0:])
        out.f32(f"commit.v.{l}", cache.v[l][n0:])
    canvas2 = list(rng.integers(0, V, C))
    R2, h2 = m.denoise(canvas2, None, cache, return_hidden=True)
    info["d2_vs_unified"] = check_close(
        R2, m.forward_unified(prompt, [commit], canvas2, None), "d2")
    sc2 = smp.step_stats(R2, np.float32(0.8))["probs32"]      # realistic SC: softmax(R2 / 0.8f)
    R2s, h2s = m.denoise(canvas2, sc2, cache, return_hidden=True)
    info["d2sc_vs_unified"] = check_close(
        R2s, m.forward_unified(prompt, [commit], canvas2, sc2), "d2sc")
    out.i32("canvas2", canvas2)
    out.f32("denoise2.logits", R2)
    out.f32("sc2.probs", sc2)
    out.f32("denoise2_sc.logits", R2s)
    for l in range(m.L):
        out.f32(f"denoise2.hidden.{l}", h2[l])
        out.f32(f"denoise2_sc.hidden.{l}", h2s[l])
    info["prefix_len_before_canvas2"] = cache.n
    info["forward_router_gap"] = m.stats["router_min_logit_gap"]

    # 5. entropy-bound acceptance on fixed logits
    Lfix = fixed_logits_cases(R1, V)
    temps = [0.8, 0.6, 0.4083333333333333, 0.5]
    bounds = [0.1, 0.1, 0.1, 1.5]
    masks, ents, args, slacks = [], [], [], []
    for t, b in zip(temps, bounds):
        st = smp.step_stats(Lfix, np.float32(t))
        masks.append(smp.accept_entropy_bound(st["H"], b))
        ents.append(st["H"])
        args.append(st["a"])
        slacks.append(smp.acceptance_slack(st["H"], b))
    st0 = smp.step_stats(Lfix, np.float32(temps[0]))
    out.f32("accept.logits", Lfix)
    out.f32("accept.temperature", np.float32(temps))
    out.f32("accept.bound", np.float32(bounds))
    out.i32("accept.mask", np.array(masks))
    out.f32("accept.entropy", np.array(ents))
    out.i32("accept.argmax", np.array(args))
    out.f32("accept.probs0", st0["probs32"])
    # tie case: rows 3 and 6 identical (H = 0.09) after row 0 (H = 0.03); bound 0.1 accepts
    # row 0 and row 3 (the lower position of the tie) but not row 6 (prefix 0.12)
    t_tie = np.float32(0.7)
    Ltie = rng.normal(0.0, 1.0, (C, V)).astype(np.float32)
    Ltie[0] = peak_row(V, t_tie, 0.03, 11)
    Ltie[3] = peak_row(V, t_tie, 0.09, 40)
    Ltie[6] = Ltie[3]
    st = smp.step_stats(Ltie, t_tie)
    mask = smp.accept_entropy_bound(st["H"], BOUND32)
    assert mask.tolist() == [i in (0, 3) for i in range(C)], mask
    out.f32("accept_tie.logits", Ltie)
    out.f32("accept_tie.temperature", [t_tie])
    out.f32("accept_tie.bound", [BOUND32])
    out.i32("accept_tie.mask", mask)
    out.f32("accept_tie.entropy", st["H"])
    out.i32("accept_tie.argmax", st["a"])
    info["accept_slack"] = min(slacks + [smp.acceptance_slack(st["H"], BOUND32)])
    info["accept_counts"] = [int(x.sum()) for x in masks]

    # f32-simulation error of the forward goldens
    e_log, e_hid = f32_forward_error(path, prompt, canvas1, sc_probs, commit, canvas2, dict(
        d1=R1, d1s=R1s, d2=R2, enc_h=enc_h, h1=h1))
    info["f32_sim_max_abs_logits_err"] = e_log
    info["f32_sim_max_rel_hidden_err"] = e_hid
    m32 = mdl.Model(path, np.float32)

    # 6. argmax + fixed-step generation covering 3 canvases, truncated by an EOG id
    def kw_argmax(eog):
        return dict(max_new_tokens=3 * C, eog_ids=eog, n_steps=cfg["gen_steps"], t_min=T_MIN32,
                    t_max=T_MAX32, entropy_bound=BOUND32, confidence_threshold=CONF32,
                    argmax_only=True, fixed_steps=True)

    best = None
    for seed in cfg["gen_seeds"]:
        res, trace, mg = run_gen(m, prompt, seed, **kw_argmax([1]))
        if len(res["canvases"]) < 3:
            continue
        c1, c2, c3 = res["canvases"][:3]
        x = next(((k, c3[k]) for k in range(C // 2, C - 1)
                  if c3[k] not in c1 + c2 + c3[:k] and c3[k] != 1), None)
        if x is None:
            continue
        res, trace, mg = run_gen(m, prompt, seed, m32=m32, **kw_argmax([1]))
        rob = robustness(mg, False)
        if best is None or rob > best[3]:
            best = (seed, x, mg, rob)
        if rob >= 5:
            break
    seed, (k_eog, x_eog), _, rob = best
    kw = kw_argmax([1, x_eog])
    res, trace, mg = run_gen(m, prompt, seed, m32=m32, **kw)
    assert len(res["tokens"]) == 2 * C + k_eog + 1 and res["tokens"][-1] == x_eog
    gen_record(out, "gen_argmax", res, trace, dict(seed=seed, **kw), C)
    out.kv("gen_argmax.robustness", float(rob))
    info["gen_argmax"] = dict(seed=seed, eog=[1, x_eog], n_tokens=len(res["tokens"]),
                              steps=res["n_steps"], robustness=rob, **mg)

    # 7. sampled generation with the default rule (information; seed chosen for robustness)
    kw = dict(max_new_tokens=2 * C + 5, eog_ids=[1], n_steps=48, t_min=T_MIN32, t_max=T_MAX32,
              entropy_bound=BOUND32, confidence_threshold=CONF32, argmax_only=False,
              fixed_steps=False)
    best = None
    for seed in cfg["sampled_seeds"]:
        res, trace, mg = run_gen(m, prompt, seed, m32=m32, **kw)
        rob = robustness(mg, True)
        if best is None or rob > best[1]:
            best = (seed, rob)
        if rob >= 5:
            break
    seed, rob = best
    res, trace, mg = run_gen(m, prompt, seed, **kw)
    gen_record(out, "gen_sampled", res, trace, dict(seed=seed, **kw), C)
    out.kv("gen_sampled.robustness", float(rob))
    info["gen_sampled"] = dict(seed=seed, n_tokens=len(res["tokens"]), steps=res["n_steps"],
                               robustness=rob, **mg)

    # RNG vectors
    r = smp.Rng(12345)
    out.kv("rng.seed", 12345, gguf.UINT64)
    out.kv("rng.next", [r.next() for _ in range(8)], gguf.ARRAY, gguf.UINT64)
    out.kv("rng.uniform01", [r.uniform01() for _ in range(4)], gguf.ARRAY, gguf.FLOAT32)
    out.kv("rng.uniform_int_n", V, gguf.UINT32)
    out.kv("rng.uniform_int", [r.uniform_int(V) for _ in range(4)], gguf.ARRAY, gguf.UINT32)
    info["size"] = out.write()
    report[name] = info


def dg_tiny_golden(out_dir, report, rows=(0, 1, 2, 127, 254, 255)):
    m = mdl.Model(DG_TINY)
    C, V = m.canvas_length, m.V
    rows = list(rows)
    # pick the data seed (among a few) with the most robust expert routing
    best = None
    for s in range(8):
        rng = np.random.default_rng(100 + s)
        prompt = [1] + list(rng.integers(5, V, 6))
        canvas = list(rng.integers(0, V, C))
        m.stats["router_min_logit_gap"] = np.inf
        cache = m.new_cache()
        m.encode(prompt, cache=cache)
        R0 = m.denoise(canvas, None, cache)
        sc = smp.step_stats(R0, np.float32(0.8))["probs32"]
        m.denoise(canvas, sc, cache)
        g = m.stats["router_min_logit_gap"]
        if best is None or g > best[0]:
            best = (g, 100 + s)
    gap, seed = best
    rng = np.random.default_rng(seed)
    prompt = [1] + list(rng.integers(5, V, 6))
    canvas = list(rng.integers(0, V, C))
    cache = m.new_cache()
    enc_h = m.encode(prompt, cache=cache)
    R0, h0 = m.denoise(canvas, None, cache, return_hidden=True)
    d0 = check_close(R0, m.forward_unified(prompt, [], canvas, None), "dg-tiny d0", 1e-8)
    st = smp.step_stats(R0, np.float32(0.8))
    sc = st["probs32"]
    R1, h1 = m.denoise(canvas, sc, cache, return_hidden=True)
    d1 = check_close(R1, m.forward_unified(prompt, [], canvas, sc), "dg-tiny d1", 1e-8)
    out = Out(os.path.join(out_dir, "dg-tiny.gguf"))
    out.kv("model", "dg-tiny-f32.gguf")
    out.kv("precision", "float64 numpy reference, stored as float32")
    out.kv("sc_temperature", float(np.float32(0.8)))
    out.i32("prompt", prompt)
    out.i32("canvas", canvas)
    out.i32("rows", rows)
    for l in range(m.L):
        out.f32(f"encode.hidden.{l}", enc_h[l])
        out.f32(f"denoise.hidden.{l}", h0[l][rows])
        out.f32(f"denoise_sc.hidden.{l}", h1[l][rows])
    out.f32("denoise.logits", R0[rows])
    out.i32("denoise.argmax", st["a"])
    out.f32("denoise.entropy", st["H"])
    out.f32("denoise.top_gap",
            np.diff(np.sort(R0.astype(np.float32), -1)[:, -2:], axis=-1)[:, 0])
    out.f32("denoise_sc.logits", R1[rows])
    out.f32("denoise_sc.top_gap",
            np.diff(np.sort(R1.astype(np.float32), -1)[:, -2:], axis=-1)[:, 0])
    out.i32("denoise_sc.argmax", np.argmax(R1.astype(np.float32), axis=-1))
    m32 = mdl.Model(DG_TINY, np.float32)
    c32 = m32.new_cache()
    eh32 = m32.encode(prompt, cache=c32)
    R0_32, h0_32 = m32.denoise(canvas, None, c32, return_hidden=True)
    R1_32 = m32.denoise(canvas, sc, c32)
    e_log = max(float(np.abs(R0_32 - R0).max()), float(np.abs(R1_32 - R1).max()))
    e_hid = max(float(np.abs(a - b).max() / np.abs(b).max())
                for a, b in zip(eh32 + h0_32, enc_h + h0))
    srt = np.sort(R0, axis=-1)
    report["dg-tiny"] = dict(size=out.write(), d0_vs_unified=d0, d1_vs_unified=d1,
                             router_gap=gap, data_seed=seed, f32_sim_max_abs_logits_err=e_log,
                             f32_sim_max_rel_hidden_err=e_hid,
                             argmax_f32_same=bool(np.array_equal(
                                 np.argmax(R0_32, -1), st["a"])),
                             min_top_gap=float((srt[:, -1] - srt[:, -2]).min()))


def sampler_golden(out_dir, report):
    """Sampler-only scenarios on canvas-independent logits (sampler.FixedLogitsModel)."""
    out = Out(os.path.join(out_dir, "sampler.gguf"))
    out.kv("precision", "float64 sampler arithmetic on float32 logits (docs/sampler.md)")
    rng = np.random.default_rng(777)
    C, V = 16, 512
    A = rng.normal(0.0, 3.0, (C, V)).astype(np.float32)
    for p in range(0, C, 3):
        A[p, rng.integers(V)] += 14.0                # some confident rows: entropy spread
    B = rng.normal(0.0, 4.0, (C, V)).astype(np.float32)
    for p in range(C):
        B[p, rng.integers(V)] += 22.0                # all confident: mean entropy ~0.1-0.2
    N = 12
    mh = [float(np.mean(smp.step_stats(B, smp.temperature(i, N, T_MIN32, T_MAX32))["H"]))
          for i in range(N)]
    conf_b = float(np.float32(0.5 * (mh[5] + mh[6])))   # first met at step 6 -> 7 steps run
    scen = {
        "fixed_sampled": (A, dict(n_steps=N, entropy_bound=BOUND32, confidence_threshold=CONF32,
                                  argmax_only=False, fixed_steps=False), 42),
        "fixed_stop": (B, dict(n_steps=N, entropy_bound=BOUND32, confidence_threshold=conf_b,
                               argmax_only=False, fixed_steps=False), 43),
        "fixed_argmax_stop": (A, dict(n_steps=N, entropy_bound=BOUND32, confidence_threshold=10.0,
                                      argmax_only=True, fixed_steps=False), 44),
        "fixed_argmax_nostop": (A, dict(n_steps=5, entropy_bound=0.5, confidence_threshold=10.0,
                                        argmax_only=True, fixed_steps=True), 45),
    }
    info = {}
    for tag, (L, kw, seed) in scen.items():
        fm = smp.FixedLogitsModel(L)
        trace = []
        r = smp.Rng(seed)
        committed, n_exec = smp.decode_canvas(fm, None, r, t_min=T_MIN32, t_max=T_MAX32,
                                              trace=trace, **kw)
        for d in trace:
            d["block"] = 0
        res = {"tokens": committed, "canvases": [committed], "n_steps": [n_exec]}
        out.f32(f"{tag}.logits", L)
        gen_record(out, tag, res, trace, dict(seed=seed, t_min=T_MIN32, t_max=T_MAX32, **kw), C,
                   logits=False)
        out.kv(f"{tag}.rng_next_after", r.next(), gguf.UINT64)
        info[tag] = dict(steps=n_exec, accepted=[int(d["accepted"].sum()) for d in trace],
                         slack=min(smp.acceptance_slack(d["H"], kw["entropy_bound"])
                                   for d in trace),
                         sample_margin=min(d["sample_margin"] for d in trace))
    assert info["fixed_stop"]["steps"] == 7 and info["fixed_argmax_stop"]["steps"] == 2
    # RNG vectors
    for seed in (0, 12345, 2 ** 64 - 1):
        r = smp.Rng(seed)
        out.kv(f"rng.{seed}.next", [r.next() for _ in range(8)], gguf.ARRAY, gguf.UINT64)
        out.kv(f"rng.{seed}.uniform01", [r.uniform01() for _ in range(8)], gguf.ARRAY,
               gguf.FLOAT32)
        out.kv(f"rng.{seed}.uniform_int_512", [r.uniform_int(512) for _ in range(8)],
               gguf.ARRAY, gguf.UINT32)
        out.kv(f"rng.{seed}.uniform_int_262144", [r.uniform_int(262144) for _ in range(8)],
               gguf.ARRAY, gguf.UINT32)
        out.kv(f"rng.{seed}.uniform_int_4294967295", [r.uniform_int(2 ** 32 - 1)
                                                      for _ in range(8)],
               gguf.ARRAY, gguf.UINT32)
    # temperature schedule for N = 48 (float32)
    out.f32("temperature48", [smp.temperature(i, 48, T_MIN32, T_MAX32) for i in range(48)])
    info["size"] = out.write()
    report["sampler"] = info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "data", "golden"))
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    report = {}
    if not args.only or "sampler" in args.only:
        sampler_golden(args.out, report)
    for name in ["ref-a", "ref-b"]:
        if not args.only or name in args.only:
            ref_golden(name, args.out, report)
    if not args.only or "dg-tiny" in args.only:
        dg_tiny_golden(args.out, report)
    for k, v in report.items():
        print(k)
        for kk, vv in v.items():
            print(f"  {kk}: {vv}")


if __name__ == "__main__":
    main()
