"""Golden data for the shipped task model, as a small GGUF readable from C++
(arch `dllm-golden`, keys `golden.*`, F32/I32 tensors; same conventions as
tools/reference/make_golden.py).

Contents (C = canvas length, V = vocabulary):
  prompt.{k}                   I32 [n]   chat-formatted prompt ids (k = 0..K-1)
  canvas1                      I32 [C]   fixed canvas (uniform ids, numpy seed 7) after prompt 0
  denoise1.logits              F32 [C,V] raw soft-capped logits, no SC
  sc.probs                     F32 [C,V] softmax(denoise1.logits * f32(1/0.8)) as float32
  denoise1_sc.logits           F32 [C,V] same canvas with SC = sc.probs
  commit.ids                   I32 [C]   argmax of denoise1.logits, encoded causally after prompt 0
  canvas2                      I32 [C]   second fixed canvas at the positions after the commit
  denoise2.logits, sc2.probs, denoise2_sc.logits   as above for the second canvas
  gen_argmax_fixed.{k}.tokens  I32       argmax-only, fixed-step (golden.fixed_steps steps) output
  gen_argmax_fixed.{k}.n_steps I32       steps per canvas
  gen_default.{k}.tokens       I32       default sampler (48 / 0.8->0.4 / 0.1 / 0.005) output
  gen_default.{k}.n_steps      I32
All generations use seed golden.seed, max_new_tokens golden.max_new_tokens and stop at
golden.eog_ids. Logits come from the PyTorch float32 model; golden.max_abs_diff_vs_numpy_ref is
their distance from tools/reference/model.py (float64) on the same file.

    /usr/bin/python3 tools/train/golden.py --gguf models/dg-tiny-tasks.gguf \
        --tok models/dg-tiny-tasks-tok.model --out models/dg-tiny-tasks.golden.gguf
"""

import argparse
import importlib.util
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import data  # noqa: E402
import export as ex  # noqa: E402
import gguf  # noqa: E402
import model as M  # noqa: E402
import sampler as S  # noqa: E402
import tok as tokmod  # noqa: E402

SEED = 0
FIXED_STEPS = 8
MAX_NEW = 96


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--tok", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    tk = tokmod.Tokenizer(a.tok)
    m = ex.from_gguf(a.gguf)
    C, V = m.c.canvas, m.c.V
    held = data.heldout()
    # a long reverse (2 canvases), a long sort, an add, a case conversion
    picks = [max((h for h in held if h["task"] == "reverse"), key=lambda h: len(h["answer"])),
             max((h for h in held if h["task"] == "sort"), key=lambda h: len(h["answer"])),
             next(h for h in held if h["task"] == "add"),
             next(h for h in held if h["task"] == "case")]
    prompts = [tk.prompt_ids(h["instruction"]) for h in picks]

    w = gguf.GGUFWriter(a.out, arch="dllm-golden")

    def kv(k, v, t=None, st=None):
        w.add_kv("golden." + k, v, t, st)

    def f32(n, x):
        w.add_tensor(n, np.asarray(x, np.float32), gguf.GGML_F32)

    def i32(n, x):
        w.add_tensor(n, np.asarray(x, np.int64).astype(np.int32), gguf.GGML_I32)

    kv("model", os.path.basename(a.gguf))
    kv("description", "PyTorch (tools/train) goldens for the task model: logits on fixed "
       "canvases with/without SC, and generations")
    kv("seed", SEED, gguf.UINT32)
    kv("max_new_tokens", MAX_NEW, gguf.UINT32)
    kv("fixed_steps", FIXED_STEPS, gguf.UINT32)
    kv("eog_ids", [int(x) for x in tk.eog], gguf.ARRAY, gguf.INT32)
    kv("n_prompts", len(prompts), gguf.UINT32)
    kv("instructions", [h["instruction"] for h in picks], gguf.ARRAY, gguf.STRING)
    kv("answers", [h["answer"] for h in picks], gguf.ARRAY, gguf.STRING)
    for k, p in enumerate(prompts):
        i32(f"prompt.{k}", p)

    rng = np.random.default_rng(7)
    cache = M.Cache(m.c.L)
    M.encode_cached(m, prompts[0], cache)
    canvas1 = [int(x) for x in rng.integers(0, V, C)]
    R1 = M.denoise_cached(m, canvas1, None, cache)
    sc1 = S.step_stats(R1, np.float32(0.8))[5]
    R1s = M.denoise_cached(m, canvas1, sc1, cache)
    commit = [int(x) for x in S.step_stats(R1, np.float32(1.0))[4]]
    M.encode_cached(m, commit, cache)
    canvas2 = [int(x) for x in rng.integers(0, V, C)]
    R2 = M.denoise_cached(m, canvas2, None, cache)
    sc2 = S.step_stats(R2, np.float32(0.8))[5]
    R2s = M.denoise_cached(m, canvas2, sc2, cache)
    i32("canvas1", canvas1)
    f32("denoise1.logits", R1)
    f32("sc.probs", sc1)
    f32("denoise1_sc.logits", R1s)
    i32("commit.ids", commit)
    i32("canvas2", canvas2)
    f32("denoise2.logits", R2)
    f32("sc2.probs", sc2)
    f32("denoise2_sc.logits", R2s)

    # distance from the float64 numpy reference on the same file
    spec = importlib.util.spec_from_file_location(
        "refmodel", os.path.join(HERE, "..", "reference", "model.py"))
    refmodel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refmodel)
    ref = refmodel.Model(a.gguf)
    rc = ref.new_cache()
    ref.encode(prompts[0], cache=rc)
    d = [np.abs(ref.denoise(canvas1, None, rc) - R1.double().numpy()).max(),
         np.abs(ref.denoise(canvas1, sc1.numpy(), rc) - R1s.double().numpy()).max()]
    ref.encode(commit, cache=rc)
    d += [np.abs(ref.denoise(canvas2, None, rc) - R2.double().numpy()).max(),
          np.abs(ref.denoise(canvas2, sc2.numpy(), rc) - R2s.double().numpy()).max()]
    kv("max_abs_diff_vs_numpy_ref", float(max(d)), gguf.FLOAT32)
    print("max |torch f32 - numpy f64| logits:", max(d))

    for k, p in enumerate(prompts):
        o = S.generate(m, p, seed=SEED, max_new_tokens=MAX_NEW, eog_ids=tk.eog,
                       n_steps=FIXED_STEPS, argmax_only=True, fixed_steps=True)
        i32(f"gen_argmax_fixed.{k}.tokens", o["tokens"])
        i32(f"gen_argmax_fixed.{k}.n_steps", o["n_steps"])
        o2 = S.generate(m, p, seed=SEED, max_new_tokens=MAX_NEW, eog_ids=tk.eog)
        i32(f"gen_default.{k}.tokens", o2["tokens"])
        i32(f"gen_default.{k}.n_steps", o2["n_steps"])
        print(k, repr(tk.decode(o["tokens"])), repr(tk.decode(o2["tokens"])), o2["n_steps"],
              "expected", repr(picks[k]["answer"]))
    w.write()
    print("wrote", a.out, os.path.getsize(a.out), "bytes")


if __name__ == "__main__":
    main()
