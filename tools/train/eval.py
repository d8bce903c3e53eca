"""Held-out evaluation with the default sampler (48 max steps, t 0.8 -> 0.4, entropy bound 0.1,
stability 1, confidence 0.005), on the exported GGUF (or a checkpoint).

Writes models/heldout.jsonl: one line per prompt with task, instruction, expected answer,
prompt_ids, expected_ids (answer + <turn|>), the seed, and what this sampler produced
(generated_ids, n_steps per canvas, correct) so the C++ engine can replay them.

    /usr/bin/python3 tools/train/eval.py --gguf models/dg-tiny-tasks.gguf \
        --tok models/dg-tiny-tasks-tok.model --out models/heldout.jsonl
"""

import argparse
import collections
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import export as ex  # noqa: E402
import sampler as S  # noqa: E402
import tok as tokmod  # noqa: E402

MAX_NEW = 128


def evaluate(m, tk, items, log_every=0, **kw):
    per = collections.defaultdict(lambda: [0, 0])
    steps = []
    rows = []
    t0 = time.time()
    for idx, it in enumerate(items):
        p = tk.prompt_ids(it["instruction"])
        out = S.generate(m, p, seed=idx, max_new_tokens=MAX_NEW, eog_ids=tk.eog, **kw)
        toks = out["tokens"]
        ended = bool(toks) and toks[-1] in tk.eog
        got = tk.decode(toks)
        ok = ended and got == it["answer"]
        per[it["task"]][0] += ok
        per[it["task"]][1] += 1
        steps += out["n_steps"]
        rows.append({"task": it["task"], "instruction": it["instruction"],
                     "answer": it["answer"], "prompt_ids": p,
                     "expected_ids": tk.answer_ids(it["answer"]), "seed": idx,
                     "generated_ids": toks, "generated_text": got,
                     "n_steps": out["n_steps"], "correct": ok})
        if log_every and (idx + 1) % log_every == 0:
            print(f"{idx + 1}/{len(items)} {time.time() - t0:.0f}s", flush=True)
    tot = sum(v[0] for v in per.values())
    n = sum(v[1] for v in per.values())
    res = {"overall": tot / n, "n": n,
           "per_task": {k: round(v[0] / v[1], 4) for k, v in per.items()},
           "mean_steps_per_canvas": sum(steps) / len(steps), "n_canvases": len(steps),
           "seconds": round(time.time() - t0, 1)}
    return res, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf")
    ap.add_argument("--ckpt")
    ap.add_argument("--tok", required=True)
    ap.add_argument("--out", help="heldout.jsonl to write")
    ap.add_argument("--per-task", type=int, default=40)
    ap.add_argument("--limit", type=int, default=0, help="evaluate every k-th item only")
    a = ap.parse_args()
    torch.set_num_threads(1)
    tk = tokmod.Tokenizer(a.tok)
    m = ex.from_gguf(a.gguf) if a.gguf else ex.load(a.ckpt)[0]
    items = data.heldout(a.per_task)
    if a.limit:
        items = items[::a.limit]
    res, rows = evaluate(m, tk, items, log_every=50)
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
