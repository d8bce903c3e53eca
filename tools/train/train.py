"""Uniform-state block-diffusion training of the tiny DiffusionGemma on generated tasks.

Per example: one causal encode of [prompt | clean answer canvases 0..nb-2] (all the context any
canvas needs, since the encode is causal), then one bidirectional canvas pass over all nb answer
canvases at once (block b sees the context rows < P + C*b — sliding layers only the last W-1 of
them — and its own block). Canvases hold answer + <turn|> then <pad> up to a multiple of C; the
sampler stops at the first <turn|>, so later canvases never exist. Corruption: per canvas a
fraction r ~ U(0, 1] of positions is replaced by uniform ids over the whole vocabulary;
cross-entropy on the clean tokens at every position. Self-conditioning: per example with
probability 0.5 a first no-grad pass gives softmax(logits / t), t ~ U[0.4, 0.8], fed to the
second (grad) pass; other examples get SC = 0 (exactly the no-SC input).

    /usr/bin/python3 tools/train/train.py --tok models/dg-tiny-tasks-tok.model \
        --out models/run --time-budget 3600
"""

import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import tok as tokmod  # noqa: E402
from model import Config, DiffusionGemma, train_masks  # noqa: E402


class Bucketed:
    """Groups the stream's examples by number of answer canvases so a batch of short answers
    is not padded to two canvases (only the order of examples changes)."""

    def __init__(self, stream, tk, C):
        self.stream, self.tk, self.C = stream, tk, C
        self.pools = {}

    def take(self, B):
        while True:
            _, ins, ans = self.stream.next()
            p = self.tk.prompt_ids(ins)
            a = self.tk.answer_ids(ans)
            n = (len(a) + self.C - 1) // self.C
            pool = self.pools.setdefault(n, [])
            pool.append((p, a + [tokmod.PAD] * (n * self.C - len(a)), n))
            if len(pool) == B:
                self.pools[n] = []
                return pool


def make_batch(stream, tk, B, C):
    if not isinstance(stream, Bucketed):
        stream = Bucketed(stream, tk, C)
    P, nb, prompts, targets = [], [], [], []
    for p, a, n in stream.take(B):
        P.append(len(p))
        nb.append(n)
        prompts.append(p)
        targets.append(a)
    nbmax = max(nb)
    Lenc = max(P[b] + (nb[b] - 1) * C for b in range(B))
    enc = torch.zeros(B, Lenc, dtype=torch.long)
    tgt = torch.zeros(B, nbmax * C, dtype=torch.long)
    for b in range(B):
        seq = (prompts[b] + targets[b])[:Lenc]
        enc[b, :len(seq)] = torch.tensor(seq)
        tgt[b, :len(targets[b])] = torch.tensor(targets[b])
    return P, nb, enc, tgt, nbmax, Lenc


def loss_on_batch(m, batch, gen, sc_prob=0.5):
    c = m.c
    P, nb, enc, tgt, nbmax, Lenc = batch
    B, Q = tgt.shape
    C = c.canvas
    es, eg, cs, cg, cpos, valid = train_masks(P, nb, Lenc, nbmax, C, c.window)
    epos = torch.arange(Lenc)[None].expand(B, Lenc)
    kv = m.encode(enc, epos, es, eg)
    # corruption: fraction per canvas uniform in (0, 1]
    r = 1.0 - torch.rand(B, nbmax, generator=gen)
    r = r.repeat_interleave(C, 1)
    noisy = torch.where(torch.rand(B, Q, generator=gen) < r,
                        torch.randint(0, c.V, (B, Q), generator=gen), tgt)
    use_sc = torch.rand(B, generator=gen) < sc_prob
    sc = None
    sel = torch.nonzero(use_sc)[:, 0]
    if sel.numel():
        with torch.no_grad():     # first pass only for the SC examples
            kvd = [(k[sel].detach(), v[sel].detach()) for k, v in kv]
            z1 = m.canvas(noisy[sel], cpos[sel], kvd, cs[sel], cg[sel], None)
            t = 0.4 + 0.4 * torch.rand(sel.numel(), generator=gen)
            sc = torch.zeros(B, Q, c.V)
            sc[sel] = torch.softmax(z1 / t[:, None, None], -1)
    z = m.canvas(noisy, cpos, kv, cs, cg, sc)
    ce = torch.nn.functional.cross_entropy(z.reshape(-1, c.V), tgt.reshape(-1), reduction="none")
    ce = ce.view(B, Q)
    # <pad> filler after <turn|> is trivial: weight 0.2 so answer tokens dominate the mean.
    vf = valid.float() * torch.where(tgt == tokmod.PAD, 0.2, 1.0)
    return (ce * vf).sum() / vf.sum()


def save(path, m, opt, step, info):
    tmp = path + ".tmp"
    torch.save({"config": m.c.to_dict(), "model": m.state_dict(), "opt": opt.state_dict(),
                "step": step, "info": info}, tmp)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tok", required=True)
    ap.add_argument("--out", required=True, help="output dir (ckpt.pt, log.jsonl)")
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--steps", type=int, default=10 ** 9)
    ap.add_argument("--time-budget", type=float, default=0, help="seconds; lr schedule by time")
    ap.add_argument("--ckpt-every", type=float, default=240, help="seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--config", default="{}", help="JSON overrides of model.Config")
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    tk = tokmod.Tokenizer(a.tok)
    cfg = Config(V=tk.V, **json.loads(a.config))
    m = DiffusionGemma(cfg)
    decay = [p for n, p in m.named_parameters() if p.dim() >= 2]
    other = [p for n, p in m.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-8)
    ckpt = os.path.join(a.out, "ckpt.pt")
    step0 = 0
    elapsed0 = 0.0
    if a.resume and os.path.exists(ckpt):
        st = torch.load(ckpt)
        m.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step0 = st["step"]
        elapsed0 = st["info"].get("elapsed", 0.0)
    nparam = sum(p.numel() for p in m.parameters())
    print(f"params {nparam} config {cfg.to_dict()}", flush=True)
    held = data.heldout()
    stream = Bucketed(data.Stream(a.seed + 1000 * step0,
                                  exclude=[h["instruction"] for h in held]), tk, cfg.canvas)
    gen = torch.Generator().manual_seed(a.seed + step0)
    log = open(os.path.join(a.out, "log.jsonl"), "a")
    t0 = time.time() - elapsed0
    last_ckpt = time.time()
    ema = None
    step = step0
    while step < a.steps:
        el = time.time() - t0
        if a.time_budget and el >= a.time_budget:
            break
        prog = el / a.time_budget if a.time_budget else step / a.steps
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(
            math.pi * min(1.0, prog))))
        for g in opt.param_groups:
            g["lr"] = lr
        batch = make_batch(stream, tk, a.batch, cfg.canvas)
        loss = loss_on_batch(m, batch, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        step += 1
        lv = float(loss)
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        if step % 10 == 0 or step == 1:
            rec = {"step": step, "loss": round(lv, 4), "ema": round(ema, 4), "lr": lr,
                   "gn": round(float(gn), 3), "t": round(time.time() - t0, 1)}
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if time.time() - last_ckpt > a.ckpt_every:
            save(ckpt, m, opt, step, {"elapsed": time.time() - t0, "loss_ema": ema})
            last_ckpt = time.time()
    save(ckpt, m, opt, step, {"elapsed": time.time() - t0, "loss_ema": ema, "done": True})
    print(f"done step {step} ema {ema} time {time.time() - t0:.0f}s", flush=True)
    return ema


if __name__ == "__main__":
    main()
