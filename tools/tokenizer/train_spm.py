#!/usr/bin/python3
"""Trains the tiny SentencePiece BPE models of the "llama" tokenizer tests and writes
SentencePiece's own ids for the corpus (the reference for tests/tokenizer/spm_test.cc).

  spm-a: like dllm's tiny task model (tools/train/tok.py): byte_fallback, identity
         normalisation, no dummy prefix, no whitespace removal, split_digits, Gemma-style
         control symbols, plus user-defined symbols (<table>, [multimodal], two tabs, four ▁).
  spm-b: llama style: byte_fallback, add_dummy_prefix, identity normalisation.
  spm-c: no byte tokens (unknown characters become <unk>), add_dummy_prefix.

Outputs in tests/data/tokenizer/: <name>.model, <name>.vocab, corpus-<name>-ids.txt.
Needs Debian's python3-sentencepiece:  /usr/bin/python3 tools/tokenizer/train_spm.py
"""

import argparse
import os
import random
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_corpus  # noqa: E402
import textfmt  # noqa: E402

COMMON = dict(model_type="bpe", normalization_rule_name="identity",
              remove_extra_whitespaces=False, num_threads=1, minloglevel=2,
              pad_id=0, eos_id=1, bos_id=2, unk_id=3,
              pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>")

MODELS = {
    "spm-a": dict(vocab_size=1000, byte_fallback=True, add_dummy_prefix=False, split_digits=True,
                  character_coverage=0.98, allow_whitespace_only_pieces=True,
                  control_symbols=["<mask>", "<|turn>", "<turn|>", "<|channel>", "<channel|>",
                                   "<|think|>"],
                  user_defined_symbols=["<table>", "[multimodal]", "\t\t",
                                        "\u2581\u2581\u2581\u2581"]),
    "spm-b": dict(vocab_size=1200, byte_fallback=True, add_dummy_prefix=True,
                  character_coverage=0.98, control_symbols=["<|turn>", "<turn|>"]),
    "spm-c": dict(vocab_size=700, byte_fallback=False, add_dummy_prefix=True,
                  character_coverage=0.98),
}


def training_lines():
    rng = random.Random(7)
    lines = [s for s in make_corpus.HAND if s.strip()]
    for _ in range(400):
        lines.append(make_corpus.paragraph(rng, make_corpus.WORDS, rng.randint(5, 40)))
    for _ in range(100):
        lines.append(make_corpus.random_line(rng))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", default=os.path.join(HERE, "../../tests/data/tokenizer"))
    a = ap.parse_args()
    out = os.path.abspath(a.out_dir)
    corpus = textfmt.read_lines(os.path.join(out, "corpus.txt"))
    lines = training_lines()
    os.chdir(out)  # the .model records its prefix: keep it free of the directory
    for name, opts in MODELS.items():
        prefix = os.path.join(out, name)
        spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_prefix=name,
                                       **COMMON, **opts)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        ids = [sp.encode(s) for s in corpus]
        for s, i in zip(corpus, ids):
            # SentencePiece's own round trip (a check of the reference itself).
            if "\u2581" not in s and sp.unk_id() not in i:
                assert sp.decode(i) == s, (name, s)
        textfmt.write_ids(os.path.join(out, f"corpus-{name}-ids.txt"), ids)
        print(f"{name}: {sp.get_piece_size()} pieces, "
              f"{os.path.getsize(prefix + '.model')} bytes, {sum(map(len, ids))} corpus ids")


if __name__ == "__main__":
    main()
