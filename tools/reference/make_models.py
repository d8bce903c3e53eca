#!/usr/bin/python3
"""Writes small random-weight diffusion-gemma GGUFs (all F32) for dllm's tests.

    /usr/bin/python3 tools/reference/make_models.py [--out tests/data/models]

Weight scales: projections N(0, 1/fan_in) (std 1/sqrt(fan_in)), norm weights U(0.8, 1.2), layer
scalars U(0.55, 0.95) (encoder and decoder scalars differ on purpose, so swapping them is
caught), router N(0, 2.5^2), expert output scales U(0.5, 1.5); q/k norms, post-branch norms and
the SC down projection are scaled down for numerical conditioning (see KNOBS).

Deterministic: each model's weights come from numpy's PCG64 seeded with a fixed seed, drawn in
a fixed order, so rerunning reproduces the files byte for byte (given the same numpy). Layout
and keys follow spec §7.2/§7.3 (the llama.cpp DiffusionGemma converter) and the dg-tiny
fixture: tensor names, GGUF dims [in, out, (experts)], fused ffn_gate_up_exps (gate rows first)
or split ffn_gate_exps/ffn_up_exps, global layers without attn_v, rope_freqs for global layers.

Models
  ref-a.gguf  D=64, 4 heads, 5 layers [swa, swa, global, swa, global], head dim 16 (swa) /
              32 (global), KV heads [2,2,1,2,1], window 8, canvas 16, vocab 512, dense FFN 96,
              8 experts top-3 width 16 (fused gate_up, with ffn_down_exps.scale).
  ref-b.gguf  D=48, 4 heads, 3 layers [swa, swa, global], head dim 12 / 24, KV heads [2,4,1],
              window 32, canvas 8, vocab 300, dense FFN 64, 4 experts top-2 width 24 (split
              gate/up experts, no ffn_down_exps.scale).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402

ARCH = "diffusion-gemma"

CONFIGS = {
    "ref-a": dict(seed=1001, D=64, n_head=4, pattern=[True, True, False, True, False],
                  hd_swa=16, hd_global=32, n_kv=[2, 2, 1, 2, 1], window=8, canvas=16,
                  vocab=512, ff=96, n_expert=8, n_used=3, ff_exp=16, fused=True,
                  down_scale=True, ctx=1024, emb_std=0.6),
    "ref-b": dict(seed=2002, D=48, n_head=4, pattern=[True, True, False], hd_swa=12,
                  hd_global=24, n_kv=[2, 4, 1], window=32, canvas=8, vocab=300, ff=64,
                  n_expert=4, n_used=2, ff_exp=24, fused=False, down_scale=False, ctx=512,
                  emb_std=0.7),
}

# Weight-scale knobs (defaults; CONFIGS may override). Chosen so that the random network is
# numerically well conditioned, which golden decisions need: with q/k-norm weights ~1 the
# attention scores (scale 1.0, normed q/k) have std ~sqrt(hd)... ~hd and near-one-hot softmax,
# and with a full-size SC down projection the self-conditioning loop (logits -> softmax -> SC
# -> logits) is expanding: an f32 evaluation then drifted from the float64 golden by 2.5x per
# denoising step (1e-4 -> O(10) in 8 steps). With q/k-norm ~0.6 (score std ~1.5), SC down x0.3
# and the two post-branch norms (post_attention_norm, post_ffw_norm) ~0.5 the loop contracts
# and an f32 evaluation stays within ~1e-4 over 48 steps, while SC still moves the logits by
# ~0.4-0.8 on average and entropies stay spread. All other norm weights are U(0.8, 1.2).
KNOBS = dict(qk_norm=(0.5, 0.7), post_norm=(0.4, 0.6), sc_down=0.3, router_std=2.5)

SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]   # ids 0..4 as in the real vocab
WORDS = """the of and to in is that it for was on are as with be at by this have from or one
had not but what all were when we there can an your which their said if do will each about how
up out them then she many some so these would other into has more her two like him see time
could no make than first been its who now people my made over did down only way find use may
water long little very after words called just where most know get through back much go good
new write our me man too any day same right look think also around another came come work three
must because does part even place well such here take why help put different away again off
went old number great tell men say small every found still between name should home big give
air line set own under read last never us left end along while might next sound below saw
something thought both few those always show large often together asked house world going want
school important until form food keep children feet land side without boy once animal life
enough took four head above kind began almost live page got earth need far hand high year
mother light country father let night picture being study second soon story since white ever
paper hard near sentence better best across during today however sure knew try told young sun
thing whole hear example heard several change answer room sea against top turned learn point
city play toward five himself usually money seen car morning""".split()
SUFFIXES = ["er", "ing", "ed", "es", "re", "on", "an", "at", "en", "or", "ly", "tion", "al"]
SINGLES = list("▁etaoinshrdlcumwfgypbvk,.'xjqz") + ["!", "?"]

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|turn>"
    "{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{{ message['content'] | trim }}<turn|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|turn>model\n{% endif %}")


def normal_pieces(n):
    """n SentencePiece-style pieces, closed under 'drop the last character' so every piece
    is reachable by merges of smaller pieces."""
    out, seen = [], set()

    def add(p):
        if p not in seen and len(out) < n:
            seen.add(p)
            out.append(p)

    for s in SINGLES:
        add(s)
    groups = [["▁" + w for w in WORDS[:30]], SUFFIXES, ["▁" + w for w in WORDS[30:]]]
    for g in groups:
        for w in g:
            for k in range(2, len(w) + 1):
                add(w[:k])
    assert len(out) == n, f"not enough pieces ({len(out)} < {n})"
    return out


def tokenizer_kv(w, vocab):
    n_bytes = 256
    n_normal = vocab - len(SPECIALS) - n_bytes
    assert n_normal > 0
    tokens = list(SPECIALS) + [f"<0x{b:02X}>" for b in range(256)] + normal_pieces(n_normal)
    types = [3, 3, 3, 2, 3] + [6] * 256 + [1] * n_normal
    scores = [0.0] * (len(SPECIALS) + n_bytes) + [-float(i) for i in range(n_normal)]
    w.add_kv("tokenizer.ggml.model", "llama")
    w.add_kv("tokenizer.ggml.pre", "default")
    w.add_kv("tokenizer.ggml.tokens", tokens, gguf.ARRAY, gguf.STRING)
    w.add_kv("tokenizer.ggml.scores", np.array(scores, np.float32))
    w.add_kv("tokenizer.ggml.token_type", np.array(types, np.int32))
    w.add_kv("tokenizer.ggml.unknown_token_id", 3, gguf.UINT32)
    w.add_kv("tokenizer.ggml.bos_token_id", 2, gguf.UINT32)
    w.add_kv("tokenizer.ggml.eos_token_id", 1, gguf.UINT32)
    w.add_kv("tokenizer.ggml.mask_token_id", 4, gguf.UINT32)
    w.add_kv("tokenizer.ggml.padding_token_id", 0, gguf.UINT32)
    w.add_kv("tokenizer.ggml.add_bos_token", True)
    w.add_kv("tokenizer.ggml.add_eos_token", False)
    w.add_kv("tokenizer.ggml.add_space_prefix", False)
    w.add_kv("tokenizer.chat_template", CHAT_TEMPLATE)


def build(name, cfg, path):
    cfg = dict(KNOBS, **cfg)
    rng = np.random.default_rng(cfg["seed"])
    D, L, nh = cfg["D"], len(cfg["pattern"]), cfg["n_head"]
    V, ff, E, fe = cfg["vocab"], cfg["ff"], cfg["n_expert"], cfg["ff_exp"]
    U32 = gguf.UINT32

    def lin(n_out, n_in):               # numpy [out, in] == GGUF [in, out]
        return rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_out, n_in))

    def norm_w(n, lo=0.8, hi=1.2):
        return rng.uniform(lo, hi, n)

    w = gguf.GGUFWriter(path, arch=ARCH)
    p = ARCH + "."
    w.add_kv("general.name", f"dllm-{name}-random")
    w.add_kv("general.file_type", 0, U32)
    w.add_kv("general.size_label", f"{E}x{name}")
    w.add_kv(p + "context_length", cfg["ctx"], U32)
    w.add_kv(p + "embedding_length", D, U32)
    w.add_kv(p + "block_count", L, U32)
    w.add_kv(p + "feed_forward_length", ff, U32)
    w.add_kv(p + "attention.head_count", nh, U32)
    w.add_kv(p + "attention.head_count_kv", np.array(cfg["n_kv"], np.int32))
    w.add_kv(p + "attention.key_length", cfg["hd_global"], U32)
    w.add_kv(p + "attention.value_length", cfg["hd_global"], U32)
    w.add_kv(p + "attention.key_length_swa", cfg["hd_swa"], U32)
    w.add_kv(p + "attention.value_length_swa", cfg["hd_swa"], U32)
    w.add_kv(p + "rope.dimension_count", cfg["hd_global"], U32)
    w.add_kv(p + "rope.dimension_count_swa", cfg["hd_swa"], U32)
    w.add_kv(p + "rope.freq_base", 1000000.0)
    w.add_kv(p + "rope.freq_base_swa", 10000.0)
    w.add_kv(p + "attention.layer_norm_rms_epsilon", 1e-6)
    w.add_kv(p + "attention.sliding_window", cfg["window"], U32)
    w.add_kv(p + "attention.sliding_window_pattern", [bool(x) for x in cfg["pattern"]])
    w.add_kv(p + "final_logit_softcapping", 30.0)
    w.add_kv(p + "expert_count", E, U32)
    w.add_kv(p + "expert_used_count", cfg["n_used"], U32)
    w.add_kv(p + "expert_feed_forward_length", fe, U32)
    w.add_kv(p + "attention.shared_kv_layers", 0, U32)
    w.add_kv(p + "embedding_length_per_layer_input", 0, U32)
    w.add_kv(p + "attention.causal", False)
    w.add_kv("diffusion.canvas_length", cfg["canvas"], U32)
    w.add_kv("diffusion.eb_max_steps", 48, U32)
    w.add_kv("diffusion.eb_t_min", 0.4)
    w.add_kv("diffusion.eb_t_max", 0.8)
    w.add_kv("diffusion.eb_entropy_bound", 0.1)
    w.add_kv("diffusion.eb_stability_threshold", 1, U32)
    w.add_kv("diffusion.eb_confidence_threshold", 0.005)
    tokenizer_kv(w, V)

    def T(n, a):
        w.add_tensor(n, np.asarray(a, np.float32), gguf.GGML_F32)

    T("token_embd.weight", rng.normal(0.0, cfg["emb_std"], (V, D)))
    T("output_norm.weight", norm_w(D))
    n_pairs = cfg["hd_global"] // 2
    q = n_pairs // 4                     # first quarter of the pairs rotates
    T("rope_freqs.weight", np.array([1.0] * q + [1e30] * (n_pairs - q)))
    T("self_cond_pre_norm.weight", norm_w(D))
    T("self_cond_gate.weight", lin(ff, D))
    T("self_cond_up.weight", lin(ff, D))
    T("self_cond_down.weight", lin(D, ff) * cfg["sc_down"])
    for l, swa in enumerate(cfg["pattern"]):
        b = f"blk.{l}."
        hd = cfg["hd_swa"] if swa else cfg["hd_global"]
        nkv = cfg["n_kv"][l]
        T(b + "attn_norm.weight", norm_w(D))
        T(b + "attn_q.weight", lin(nh * hd, D))
        T(b + "attn_k.weight", lin(nkv * hd, D))
        if swa:
            T(b + "attn_v.weight", lin(nkv * hd, D))
        T(b + "attn_output.weight", lin(D, nh * hd))
        T(b + "attn_q_norm.weight", norm_w(hd, *cfg["qk_norm"]))
        T(b + "attn_k_norm.weight", norm_w(hd, *cfg["qk_norm"]))
        T(b + "post_attention_norm.weight", norm_w(D, *cfg["post_norm"]))
        T(b + "layer_output_scale.weight", rng.uniform(0.55, 0.95, 1))
        T(b + "enc_layer_output_scale.weight", rng.uniform(0.55, 0.95, 1))
        T(b + "ffn_norm.weight", norm_w(D))
        T(b + "ffn_gate.weight", lin(ff, D))
        T(b + "ffn_up.weight", lin(ff, D))
        T(b + "ffn_down.weight", lin(D, ff))
        T(b + "post_ffw_norm.weight", norm_w(D, *cfg["post_norm"]))
        # router logits = W · (rmsnorm(h) * scale / sqrt(D)): std ≈ 2.5 with this W
        T(b + "ffn_gate_inp.weight", rng.normal(0.0, cfg["router_std"], (E, D)))
        T(b + "ffn_gate_inp.scale", norm_w(D))
        T(b + "pre_ffw_norm_2.weight", norm_w(D))
        T(b + "post_ffw_norm_1.weight", norm_w(D))
        T(b + "post_ffw_norm_2.weight", norm_w(D))
        gate = rng.normal(0.0, 1.0 / np.sqrt(D), (E, fe, D))
        up = rng.normal(0.0, 1.0 / np.sqrt(D), (E, fe, D))
        if cfg["fused"]:
            T(b + "ffn_gate_up_exps.weight", np.concatenate([gate, up], axis=1))  # [E, 2F, D]
        else:
            T(b + "ffn_gate_exps.weight", gate)
            T(b + "ffn_up_exps.weight", up)
        T(b + "ffn_down_exps.weight", rng.normal(0.0, 1.0 / np.sqrt(fe), (E, D, fe)))
        if cfg["down_scale"]:
            T(b + "ffn_down_exps.scale", rng.uniform(0.5, 1.5, E))
    w.write()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "data", "models"))
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, cfg in CONFIGS.items():
        if args.only and name not in args.only:
            continue
        path = os.path.join(args.out, name + ".gguf")
        build(name, cfg, path)
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
