"""Cross-check the PyTorch model against the numpy reference (tools/reference/model.py) through
an exported GGUF: cached encode + canvas pass (with and without SC) and the batched training
path (multi-canvas masks). Random weights with perturbed norms/scales.

    /usr/bin/python3 tools/train/check_reference.py [--ckpt models/run/ckpt.pt]
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import export as ex  # noqa: E402
import model as M  # noqa: E402
import tok as tokmod  # noqa: E402
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location("refmodel", os.path.join(HERE, "..", "reference",
                                                                        "model.py"))
refmodel = importlib.util.module_from_spec(spec)
spec.loader.exec_module(refmodel)


def perturb(m, g):
    """Randomise the 1-D weights (norms, scalars, scales) so the check covers them."""
    with torch.no_grad():
        for _, p in m.named_parameters():
            if p.dim() == 1:
                p.mul_(1 + 0.3 * torch.randn(p.shape, generator=g))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt")
    ap.add_argument("--tok", default=os.path.join(HERE, "..", "..", "models",
                                                  "dg-tiny-tasks-tok.model"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    tk = tokmod.Tokenizer(a.tok)
    g = torch.Generator().manual_seed(0)
    if a.ckpt:
        m, _ = ex.load(a.ckpt)
    else:
        torch.manual_seed(0)
        m = M.DiffusionGemma(M.Config(V=tk.V))
        perturb(m, g)
    m.eval()
    c = m.c
    path = os.path.join(tempfile.mkdtemp(), "chk.gguf")
    ex.export(m, tk, path, "check")
    ref = refmodel.Model(path)
    rng = np.random.default_rng(0)
    P = 45
    prompt = [int(x) for x in rng.integers(0, c.V, P)]
    blk0 = [int(x) for x in rng.integers(0, c.V, c.canvas)]
    canvas = [int(x) for x in rng.integers(0, c.V, c.canvas)]
    worst = 0.0
    # cached path, canvas after prompt + one committed block
    cache = M.Cache(c.L)
    M.encode_cached(m, prompt, cache)
    M.encode_cached(m, blk0, cache)
    rc = ref.new_cache()
    ref.encode(prompt, cache=rc)
    ref.encode(blk0, cache=rc)
    for sc in [None, "sc"]:
        scp = None
        if sc:
            z = rng.standard_normal((c.canvas, c.V)) * 3
            scp = np.exp(z - z.max(-1, keepdims=True))
            scp = (scp / scp.sum(-1, keepdims=True)).astype(np.float32)
        mine = M.denoise_cached(m, canvas, scp, cache).double().numpy()
        theirs = ref.denoise(canvas, scp, rc)
        d = np.abs(mine - theirs).max()
        print(f"cached denoise sc={sc is not None}: max|diff| {d:.2e}  (logit range "
              f"{np.abs(theirs).max():.1f})")
        worst = max(worst, d)
    # training path: two blocks at once vs forward_unified
    u0 = ref.forward_unified(prompt, [], blk0, None)
    u1 = ref.forward_unified(prompt, [blk0], canvas, None)
    enc = torch.tensor([prompt + blk0])
    es, eg, cs, cg, cpos, valid = M.train_masks([P], [2], P + c.canvas, 2, c.canvas, c.window)
    with torch.no_grad():
        kv = m.encode(enc, torch.arange(P + c.canvas)[None], es, eg)
        z = m.canvas(torch.tensor([blk0 + canvas]), cpos, kv, cs, cg, None)[0].double().numpy()
    d0 = np.abs(z[:c.canvas] - u0).max()
    d1 = np.abs(z[c.canvas:] - u1).max()
    print(f"training path block0 {d0:.2e} block1 {d1:.2e}")
    worst = max(worst, d0, d1)
    print("router min logit gap", ref.stats["router_min_logit_gap"])
    print("OK" if worst < 2e-3 else "MISMATCH", worst)
    return worst


if __name__ == "__main__":
    main()
