#!/usr/bin/env python3
"""Writes a fuzz_quantize seed: a small diffusion-gemma GGUF (not a whole model) whose tensors
have 256-value rows, so every dllm-quantize target runs its real type on them (generated tiny
models have 64-value rows, where the K-quants fall back to simple types), after the byte that
picks the target (fuzz_quantize.cc: an index into dllm-quantize's list; 0 = Q4_K_M).

    python3 tests/fuzz/make_quantize_seed.py OUT [TARGET_INDEX]

The committed seed-kquant-rows-<index> files are this for indices 0, 3, 5, 8, 10, 11, 13.
"""
import random
import struct
import sys

GGUF_STRING, GGUF_UINT32 = 8, 4
F32, F16, BF16 = 0, 1, 30
ALIGN = 32


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = gguf_str(key) + struct.pack("<I", vtype)
    if vtype == GGUF_STRING:
        return out + gguf_str(value)
    return out + struct.pack("<I", value)


def encode(values, ttype):
    if ttype == F32:
        return struct.pack("<%df" % len(values), *values)
    if ttype == F16:
        return struct.pack("<%de" % len(values), *values)
    # BF16: the upper half of each f32 (truncated; the exact rounding does not matter here)
    raw = struct.pack("<%df" % len(values), *values)
    return b"".join(raw[i + 2:i + 4] for i in range(0, len(raw), 4))


def main():
    rng = random.Random(8)

    def values(n):
        v = [rng.gauss(0.0, 0.05) for _ in range(n)]
        for i in range(0, n, 97):  # outliers and zeros: the scale searches' hard cases
            v[i] = rng.choice([0.0, 3.0, -2.5, 1e-4])
        return v

    # name, dims (row length first), type
    tensors = [
        ("token_embd.weight", [256, 2], F32),
        ("output_norm.weight", [256], F32),
        ("blk.0.attn_q.weight", [256, 2], F16),
        ("blk.0.attn_v.weight", [256, 1], BF16),
        ("blk.0.ffn_down.weight", [256, 2], F32),
        ("blk.0.ffn_gate_up_exps.weight", [256, 2, 2], BF16),
        ("blk.0.ffn_down_exps.weight", [256, 1, 2], F16),
    ]
    meta = [
        ("general.architecture", GGUF_STRING, "diffusion-gemma"),
        ("general.name", GGUF_STRING, "fuzz seed"),
        ("general.alignment", GGUF_UINT32, ALIGN),
        ("diffusion-gemma.block_count", GGUF_UINT32, 1),
    ]
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta))
    header += b"".join(kv(k, t, v) for k, t, v in meta)
    data = b""
    for name, dims, ttype in tensors:
        n = 1
        for d in dims:
            n *= d
        blob = encode(values(n), ttype)
        data += b"\0" * (-len(data) % ALIGN)
        header += gguf_str(name) + struct.pack("<I", len(dims))
        header += struct.pack("<%dQ" % len(dims), *dims) + struct.pack("<IQ", ttype, len(data))
        data += blob
    header += b"\0" * (-len(header) % ALIGN)
    target = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with open(sys.argv[1], "wb") as f:
        f.write(bytes([target]) + header + data)


if __name__ == "__main__":
    main()
