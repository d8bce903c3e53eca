#!/usr/bin/python3
"""Quick self-check of dllm's numpy reference.

    /usr/bin/python3 tools/reference/selfcheck.py [--slow]

Checks: GGUF reader/writer (byte-identical rewrite of the shared fixtures, bit-exact F16/BF16/
Q8_0 against quant-vectors.gguf), dllm RNG v1 first values, sampler edge cases (acceptance,
sample rule, argmax ties, temperature schedule), cache-based encode/denoise vs the no-cache
unified pass on every model (several commits, windows exceeded), that denoise leaves the cache
untouched, and that the golden files match what the code computes now. --slow also reruns the
golden argmax generations with a float32 model and reports whether every decision matches.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gguf  # noqa: E402
import model as mdl  # noqa: E402
import sampler as smp  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SHARED = "/work/shared/testdata"
MODELS = [os.path.join(REPO, "tests/data/models/ref-a.gguf"),
          os.path.join(REPO, "tests/data/models/ref-b.gguf"),
          os.path.join(SHARED, "dg-tiny-f32.gguf")]
failures = []


def check(cond, what):
    print(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        failures.append(what)


def gguf_checks():
    print("GGUF")
    import tempfile
    for f in ["dg-tiny-f32.gguf", "quant-vectors.gguf", "kquant-vectors.gguf"]:
        p = os.path.join(SHARED, f)
        r = gguf.GGUFReader(p)
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "x.gguf")
            r.rewrite(out)
            same = open(out, "rb").read() == open(p, "rb").read()
        check(same, f"rewrite of {f} is byte-identical ({len(r.kv)} kv, {len(r.tensors)} tensors)")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "kv.gguf")
        w = gguf.GGUFWriter(out, arch="x")
        big = [2 ** 64 - 1, 0xBE6A36374160D49B, 1]
        w.add_kv("u64", big, gguf.ARRAY, gguf.UINT64)
        w.add_kv("i64", [-2 ** 63, 2 ** 63 - 1], gguf.ARRAY, gguf.INT64)
        w.add_kv("nested", [[1, 2], [3]], gguf.ARRAY, (gguf.ARRAY, gguf.INT32))
        w.add_kv("strs", ["<pad>", "\u2581the"])
        w.add_kv("flag", True)
        w.add_kv("alignment_default_u32", 7, gguf.UINT32)
        w.add_tensor("t", np.arange(6, dtype=np.int32).reshape(2, 3), gguf.GGML_I32)
        w.write()
        r = gguf.GGUFReader(out)
        check(r.kv["u64"] == big and r.kv["i64"] == [-2 ** 63, 2 ** 63 - 1] and
              r.kv["nested"] == [[1, 2], [3]] and r.kv["strs"] == ["<pad>", "\u2581the"] and
              r.kv["flag"] is True and r.tensor("t").ne == (3, 2) and
              r.tensor("t").numpy().tolist() == [[0, 1, 2], [3, 4, 5]],
              "writer/reader round trip: 64-bit ints exact, nested arrays, strings, I32 dims")
    q = gguf.GGUFReader(os.path.join(SHARED, "quant-vectors.gguf"))
    for T in ["F16", "BF16", "Q8_0"]:
        raw = q.tensor(T + ".raw")
        exp = q.tensor(T + ".expected").numpy()
        src = q.tensor(T + ".source").numpy()
        check(np.array_equal(raw.numpy().view(np.uint32), exp.view(np.uint32)),
              f"{T} dequantization bit-exact")
        half = raw.nbytes // 2
        check(np.array_equal(gguf.encode_tensor(src[:2], raw.ggml_type), raw.raw()[:half]),
              f"{T} quantization of source rows 0-1 byte-exact")


def rng_checks():
    print("RNG (dllm RNG v1)")
    r = smp.Rng(0)
    check(r.s[0] == 0xE220A8397B1DCDAF, "SplitMix64(0) first output e220a8397b1dcdaf")
    vals = [r.next() for _ in range(4)]
    print("    seed 0 next():", " ".join(f"{v:016x}" for v in vals))
    check(vals == [0x99EC5F36CB75F2B4, 0xBF6E1F784956452A, 0x1A5F849D4933E6E0,
                   0x6AA594F1262D2D2C], "seed 0 first 4 next() (checked against a C build)")
    r = smp.Rng(12345)
    print("    seed 12345 next():", " ".join(f"{r.next():016x}" for _ in range(4)))
    r = smp.Rng(12345)
    print("    seed 12345 uniform01 x3:", [r.uniform01() for _ in range(3)],
          "uniform_int(262144) x3:", [r.uniform_int(262144) for _ in range(3)])
    u = [smp.Rng(s).uniform01() for s in range(1000)]
    check(all(0.0 <= x < 1.0 and np.float32(x) == x for x in u), "uniform01 in [0,1), exact f32")
    check(all(0 <= smp.Rng(s).uniform_int(7) < 7 for s in range(200)), "uniform_int(7) in range")


def sampler_checks():
    print("Sampler")
    acc = smp.accept_entropy_bound
    check(acc([0.05] * 4, 0.1).tolist() == [True, True, True, False],
          "equal entropies: prefix sums 0, .05, .1 <= .1 accepted; .15 not")
    check(acc([0.3, 0.2, 0.5], 0.0).tolist() == [False, True, False], "bound 0: only the first")
    check(acc([0.0, 0.0, 0.5, 0.0], 0.0).all(), "zero entropies: prefix stays 0 -> all accepted")
    check(acc([0.3, 0.2], -1.0).tolist() == [False, True], "negative bound: still the first")
    check(acc([5.0, 7.0, 9.0], 1e9).all(), "huge bound: all accepted")
    check(acc([0.2, 0.05, 0.2, 0.05], 0.1).tolist() == [True, True, False, True],
          "ties ordered by position: ranks pos1, pos3, pos0 (prefix .1), not pos2")
    e = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 1.0])
    S = e.sum()
    check(smp.sample_position(e, S, 0.0) == 2, "u = 0 -> first v with e_v > 0")
    check(smp.sample_position(e, S, 0.25) == 3, "u*S = 1 -> smallest v with cumsum > 1")
    check(smp.sample_position(e, S, 0.99999994) == 5, "u near 1 -> last nonzero")
    check(smp.sample_position(e, S * 1.5, 0.9) == 5, "rounding leaves none -> last e_v > 0")
    R = np.zeros((2, 8), np.float32)
    R[0, [3, 6]] = 5.0
    st = smp.step_stats(R, np.float32(0.8))
    check(st["a"].tolist() == [3, 0], "argmax ties -> lowest index")
    check(abs(st["H"][1] - np.log(8)) < 1e-12, "uniform row entropy = log V")
    t = [smp.temperature(i, 48, 0.4, 0.8) for i in range(48)]
    check(t[0] == np.float32(0.8) and t[47] == np.float32(0.4 + 0.4 / 48) and
          t[-1] > np.float32(0.4), "temperature 0.8 ... 0.40833 (never 0.4)")


def model_checks():
    print("Model: cache-based passes vs the unified no-cache pass")
    for path in MODELS:
        m = mdl.Model(path)
        rng = np.random.default_rng(5)
        C, V, W = m.canvas_length, m.V, m.window
        P = 13
        prompt = [int(x) for x in rng.integers(0, V, P)]
        cache = m.new_cache()
        enc = m.encode(prompt, cache=cache)
        committed = []
        worst = 0.0
        for b in range(3 if C <= 64 else 1):
            canvas = [int(x) for x in rng.integers(0, V, C)]
            snap = cache.copy()
            R0, h0 = m.denoise(canvas, None, cache, return_hidden=True)
            sc = smp.step_stats(R0, np.float32(0.7))["probs32"]
            R1 = m.denoise(canvas, sc, cache)
            untouched = cache.n == snap.n and all(
                np.array_equal(a, b) for a, b in zip(cache.k + cache.v, snap.k + snap.v))
            U0, hu = m.forward_unified(prompt, committed, canvas, None, return_hidden=True)
            U1 = m.forward_unified(prompt, committed, canvas, sc)
            n = cache.n
            worst = max(worst, np.abs(R0 - U0).max(), np.abs(R1 - U1).max(),
                        max(np.abs(a - b[n:]).max() for a, b in zip(h0, hu)),
                        max(np.abs(a - b[:P]).max() for a, b in zip(enc, hu)))
            check(untouched, f"{os.path.basename(path)} canvas {b}: denoise leaves cache as is")
            commit = [int(x) for x in np.argmax(R0.astype(np.float32), -1)]
            m.encode(commit, cache=cache)
            committed.append(commit)
        check(worst < 1e-9, f"{os.path.basename(path)}: max |cache - unified| = {worst:.2e} "
                            f"(prefix up to {cache.n} tokens, window {W}, canvas {C})")
        # the prefix must matter: a change far back must reach the canvas through global layers
        p2 = list(prompt)
        p2[0] = (p2[0] + 1) % V
        Ua = m.forward_unified(prompt, [], canvas, None)
        Ub = m.forward_unified(p2, [], canvas, None)
        check(np.abs(Ua - Ub).max() > 1e-6, f"{os.path.basename(path)}: prompt token 0 "
                                            f"reaches the canvas ({np.abs(Ua - Ub).max():.2e})")


def golden_checks(slow):
    print("Golden files are current")
    gdir = os.path.join(REPO, "tests/data/golden")
    for name in ["ref-a", "ref-b"]:
        gp = os.path.join(gdir, name + ".gguf")
        if not os.path.exists(gp):
            check(False, f"{gp} missing (run make_golden.py)")
            continue
        G = gguf.GGUFReader(gp)
        m = mdl.Model(os.path.join(REPO, "tests/data/models", name + ".gguf"))
        prompt = G.tensor("prompt").numpy().tolist()
        cache = m.new_cache()
        m.encode(prompt, cache=cache)
        R = m.denoise(G.tensor("canvas1").numpy().tolist(),
                      G.tensor("sc.probs").numpy(), cache)
        d = np.abs(R.astype(np.float32) - G.tensor("denoise1_sc.logits").numpy()).max()
        check(d == 0, f"{name}: denoise1_sc.logits reproduced (max diff {d:.1e})")
        kv = {k[len("golden.gen_argmax."):]: v for k, v in G.kv.items()
              if k.startswith("golden.gen_argmax.")}
        if slow:
            for dt in (np.float64, np.float32):
                mm = m if dt == np.float64 else mdl.Model(m.path, np.float32)
                res = smp.generate(mm, prompt, seed=kv["seed"],
                                   max_new_tokens=kv["max_new_tokens"], eog_ids=kv["eog_ids"],
                                   n_steps=kv["n_steps"], t_min=kv["t_min"], t_max=kv["t_max"],
                                   entropy_bound=kv["entropy_bound"],
                                   confidence_threshold=kv["confidence_threshold"],
                                   argmax_only=kv["argmax_only"], fixed_steps=kv["fixed_steps"])
                check(res["tokens"] == G.tensor("gen_argmax.tokens").numpy().tolist(),
                      f"{name}: gen_argmax tokens reproduced with a {np.dtype(dt).name} model")


def main():
    slow = "--slow" in sys.argv
    gguf_checks()
    rng_checks()
    sampler_checks()
    model_checks()
    golden_checks(slow)
    print("FAILED: %d" % len(failures) if failures else "all checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
