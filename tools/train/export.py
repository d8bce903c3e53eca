"""Export a trained checkpoint to a `diffusion-gemma` GGUF (F32), keys and tensor names as the
published files (spec §7.2–7.3; same key set as /work/shared/testdata dg-tiny-f32.gguf).

    /usr/bin/python3 tools/train/export.py --ckpt models/run/ckpt.pt \
        --tok models/dg-tiny-tasks-tok.model --out models/dg-tiny-tasks.gguf
"""

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import gguf  # noqa: E402
import tok as tokmod  # noqa: E402
from model import Config, DiffusionGemma  # noqa: E402

SAMPLER_DEFAULTS = {"eb_max_steps": 48, "eb_t_min": 0.4, "eb_t_max": 0.8, "eb_entropy_bound": 0.1,
                    "eb_stability_threshold": 1, "eb_confidence_threshold": 0.005}


def load(ckpt_path):
    st = torch.load(ckpt_path, map_location="cpu")
    m = DiffusionGemma(Config(**st["config"]))
    m.load_state_dict(st["model"])
    m.eval()
    return m, st


def export(m, tk, path, name="dg-tiny-tasks"):
    c = m.c
    A = "diffusion-gemma."
    U32, F32_, I32 = gguf.UINT32, gguf.FLOAT32, gguf.INT32
    w = gguf.GGUFWriter(path, arch="diffusion-gemma")
    w.add_kv("general.name", name)
    w.add_kv("general.file_type", 0, U32)
    w.add_kv(A + "context_length", c.ctx_len, U32)
    w.add_kv(A + "embedding_length", c.D, U32)
    w.add_kv(A + "block_count", c.L, U32)
    w.add_kv(A + "feed_forward_length", c.ffn, U32)
    w.add_kv(A + "attention.head_count", c.n_head, U32)
    w.add_kv(A + "attention.head_count_kv", [c.n_kv(l) for l in range(c.L)], gguf.ARRAY, I32)
    w.add_kv(A + "attention.key_length", c.hd_glob, U32)
    w.add_kv(A + "attention.value_length", c.hd_glob, U32)
    w.add_kv(A + "attention.key_length_swa", c.hd_swa, U32)
    w.add_kv(A + "attention.value_length_swa", c.hd_swa, U32)
    w.add_kv(A + "rope.dimension_count", c.hd_glob, U32)
    w.add_kv(A + "rope.dimension_count_swa", c.hd_swa, U32)
    w.add_kv(A + "rope.freq_base", c.base_glob, F32_)
    w.add_kv(A + "rope.freq_base_swa", c.base_swa, F32_)
    w.add_kv(A + "attention.layer_norm_rms_epsilon", c.eps, F32_)
    w.add_kv(A + "attention.sliding_window", c.window, U32)
    w.add_kv(A + "attention.sliding_window_pattern", [bool(x) for x in c.pattern], gguf.ARRAY,
             gguf.BOOL)
    w.add_kv(A + "final_logit_softcapping", c.softcap, F32_)
    w.add_kv(A + "expert_count", c.n_exp, U32)
    w.add_kv(A + "expert_used_count", c.k_exp, U32)
    w.add_kv(A + "expert_feed_forward_length", c.f_exp, U32)
    w.add_kv(A + "attention.shared_kv_layers", 0, U32)
    w.add_kv(A + "embedding_length_per_layer_input", 0, U32)
    w.add_kv(A + "attention.causal", False, gguf.BOOL)
    w.add_kv("diffusion.canvas_length", c.canvas, U32)
    for k, v in SAMPLER_DEFAULTS.items():
        w.add_kv("diffusion." + k, v, U32 if isinstance(v, int) else F32_)
    toks, scores, types = tk.gguf_vocab()
    w.add_kv("tokenizer.ggml.model", "llama")
    w.add_kv("tokenizer.ggml.pre", "default")
    w.add_kv("tokenizer.ggml.tokens", toks, gguf.ARRAY, gguf.STRING)
    w.add_kv("tokenizer.ggml.scores", scores, gguf.ARRAY, F32_)
    w.add_kv("tokenizer.ggml.token_type", types, gguf.ARRAY, I32)
    w.add_kv("tokenizer.ggml.unknown_token_id", tokmod.UNK, U32)
    w.add_kv("tokenizer.ggml.bos_token_id", tokmod.BOS, U32)
    w.add_kv("tokenizer.ggml.eos_token_id", tokmod.EOS, U32)
    w.add_kv("tokenizer.ggml.eot_token_id", tk.turn_close, U32)
    w.add_kv("tokenizer.ggml.mask_token_id", tokmod.MASK, U32)
    w.add_kv("tokenizer.ggml.padding_token_id", tokmod.PAD, U32)
    w.add_kv("tokenizer.ggml.add_bos_token", True, gguf.BOOL)
    w.add_kv("tokenizer.ggml.add_eos_token", False, gguf.BOOL)
    w.add_kv("tokenizer.ggml.add_space_prefix", tk.add_dummy_prefix(), gguf.BOOL)

    def T(name, t):
        w.add_tensor(name, t.detach().cpu().float().numpy().astype(np.float32), gguf.GGML_F32)

    T("token_embd.weight", m.embed)
    T("output_norm.weight", m.out_norm)
    rf = np.full(c.hd_glob // 2, 1e30, np.float32)
    rf[:c.hd_glob // 8] = 1.0
    w.add_tensor("rope_freqs.weight", rf, gguf.GGML_F32)
    T("self_cond_pre_norm.weight", m.sc_pre_norm)
    T("self_cond_gate.weight", m.sc_gate)
    T("self_cond_up.weight", m.sc_up)
    T("self_cond_down.weight", m.sc_down)
    for l, L in enumerate(m.layers):
        b = f"blk.{l}."
        T(b + "attn_norm.weight", L.attn_norm)
        T(b + "attn_q.weight", L.wq)
        T(b + "attn_k.weight", L.wk)
        if L.wv is not None:
            T(b + "attn_v.weight", L.wv)
        T(b + "attn_output.weight", L.wo)
        T(b + "attn_q_norm.weight", L.q_norm)
        T(b + "attn_k_norm.weight", L.k_norm)
        T(b + "post_attention_norm.weight", L.post_attn_norm)
        T(b + "layer_output_scale.weight", L.layer_scalar)
        T(b + "enc_layer_output_scale.weight", L.layer_scalar)
        T(b + "ffn_norm.weight", L.ffn_norm)
        T(b + "ffn_gate.weight", L.gate)
        T(b + "ffn_up.weight", L.up)
        T(b + "ffn_down.weight", L.down)
        T(b + "post_ffw_norm.weight", L.post_ffw_norm)
        T(b + "ffn_gate_inp.weight", L.router)
        T(b + "ffn_gate_inp.scale", L.router_scale)
        T(b + "pre_ffw_norm_2.weight", L.pre_ffw_norm_2)
        T(b + "post_ffw_norm_1.weight", L.post_ffw_norm_1)
        T(b + "post_ffw_norm_2.weight", L.post_ffw_norm_2)
        T(b + "ffn_gate_up_exps.weight", L.gate_up_exps)
        T(b + "ffn_down_exps.weight", L.down_exps)
        T(b + "ffn_down_exps.scale", L.per_expert_scale)
    w.write()
    return path


def from_gguf(path):
    """Load an exported GGUF back into the PyTorch model (so eval runs on the shipped file)."""
    r = gguf.GGUFReader(path)
    A = "diffusion-gemma."
    kv = r.kv
    hkv = kv[A + "attention.head_count_kv"]
    pat = [bool(x) for x in kv[A + "attention.sliding_window_pattern"]]
    c = Config(V=len(kv["tokenizer.ggml.tokens"]), D=kv[A + "embedding_length"], pattern=pat,
               n_head=kv[A + "attention.head_count"],
               n_kv_swa=[h for h, s in zip(hkv, pat) if s][0],
               n_kv_glob=[h for h, s in zip(hkv, pat) if not s][0],
               hd_swa=kv[A + "attention.key_length_swa"], hd_glob=kv[A + "attention.key_length"],
               ffn=kv[A + "feed_forward_length"], n_exp=kv[A + "expert_count"],
               k_exp=kv[A + "expert_used_count"], f_exp=kv[A + "expert_feed_forward_length"],
               window=kv[A + "attention.sliding_window"], canvas=kv["diffusion.canvas_length"],
               base_swa=kv[A + "rope.freq_base_swa"], base_glob=kv[A + "rope.freq_base"],
               softcap=kv[A + "final_logit_softcapping"],
               eps=kv[A + "attention.layer_norm_rms_epsilon"], ctx_len=kv[A + "context_length"])
    m = DiffusionGemma(c)

    def G(name):
        return torch.from_numpy(np.array(r.tensor(name).numpy(), np.float32))

    with torch.no_grad():
        m.embed.copy_(G("token_embd.weight"))
        m.out_norm.copy_(G("output_norm.weight"))
        m.sc_pre_norm.copy_(G("self_cond_pre_norm.weight"))
        m.sc_gate.copy_(G("self_cond_gate.weight"))
        m.sc_up.copy_(G("self_cond_up.weight"))
        m.sc_down.copy_(G("self_cond_down.weight"))
        for l, L in enumerate(m.layers):
            b = f"blk.{l}."
            pairs = [("attn_norm.weight", L.attn_norm), ("attn_q.weight", L.wq),
                     ("attn_k.weight", L.wk), ("attn_output.weight", L.wo),
                     ("attn_q_norm.weight", L.q_norm), ("attn_k_norm.weight", L.k_norm),
                     ("post_attention_norm.weight", L.post_attn_norm),
                     ("layer_output_scale.weight", L.layer_scalar),
                     ("ffn_norm.weight", L.ffn_norm), ("ffn_gate.weight", L.gate),
                     ("ffn_up.weight", L.up), ("ffn_down.weight", L.down),
                     ("post_ffw_norm.weight", L.post_ffw_norm),
                     ("ffn_gate_inp.weight", L.router), ("ffn_gate_inp.scale", L.router_scale),
                     ("pre_ffw_norm_2.weight", L.pre_ffw_norm_2),
                     ("post_ffw_norm_1.weight", L.post_ffw_norm_1),
                     ("post_ffw_norm_2.weight", L.post_ffw_norm_2),
                     ("ffn_gate_up_exps.weight", L.gate_up_exps),
                     ("ffn_down_exps.weight", L.down_exps),
                     ("ffn_down_exps.scale", L.per_expert_scale)]
            if L.wv is not None:
                pairs.append(("attn_v.weight", L.wv))
            for n, p in pairs:
                p.copy_(G(b + n).reshape(p.shape))
            enc = G(b + "enc_layer_output_scale.weight")
            assert torch.equal(enc.reshape(1), L.layer_scalar.reshape(1)), "untied layer scalars"
    m.eval()
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tok", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="dg-tiny-tasks")
    a = ap.parse_args()
    m, st = load(a.ckpt)
    export(m, tokmod.Tokenizer(a.tok), a.out, a.name)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes) from step {st['step']}")


if __name__ == "__main__":
    main()
