"""SentencePiece BPE tokenizer for the task model (Gemma 4 style special ids).

ids 0..4 = <pad> <eos> <bos> <unk> <mask> (as Gemma 4), then the control symbols
<|turn> <turn|> <|channel> <channel|> <|think|> (5..9), then 256 byte pieces <0x00>..<0xFF>,
then the learned BPE pieces. Trained with model_type=bpe, byte_fallback=True,
normalization_rule_name=identity (so "\n" survives), add_dummy_prefix=False,
remove_extra_whitespaces=False, split_digits=True.

Control symbols are never produced by SentencePiece from text; `chat_ids` splices them in
between separately encoded text segments (that is how the prompt/answer ids are built).

    python3 tools/train/tok.py --out models/dg-tiny-tasks-tok   # -> .model / .vocab
"""

import argparse
import io
import os
import random
import sys

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402

CONTROL = ["<mask>", "<|turn>", "<turn|>", "<|channel>", "<channel|>", "<|think|>"]
PAD, EOS, BOS, UNK, MASK = 0, 1, 2, 3, 4


def train(prefix, vocab_size=512, n_samples=30000, seed=1):
    rng = random.Random(seed)
    lines = []
    for _ in range(n_samples):
        _, ins, ans = data.make(rng.choice(data.TASKS), rng)
        lines.append("user\n" + ins)
        lines.append(ans)
        lines.append("model\n")
        lines.append("thought\n")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=prefix, model_type="bpe",
        vocab_size=vocab_size, byte_fallback=True, character_coverage=1.0,
        normalization_rule_name="identity", add_dummy_prefix=False,
        remove_extra_whitespaces=False, split_digits=True,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
        control_symbols=CONTROL, num_threads=1, minloglevel=2,
        allow_whitespace_only_pieces=True)


class Tokenizer:
    def __init__(self, model_path):
        self.sp = spm.SentencePieceProcessor(model_file=model_path)
        self.model_path = model_path
        self.V = self.sp.get_piece_size()
        self.id = {p: self.sp.piece_to_id(p) for p in CONTROL}
        assert [self.sp.id_to_piece(i) for i in range(5)] == [
            "<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
        self.turn_open = self.id["<|turn>"]
        self.turn_close = self.id["<turn|>"]
        self.eog = [EOS, self.turn_close]

    def enc(self, text):
        return self.sp.encode(text) if text else []

    def prompt_ids(self, instruction):
        i = self.id
        return ([BOS, i["<|turn>"]] + self.enc("user\n" + instruction) + [i["<turn|>"]] +
                self.enc("\n") + [i["<|turn>"]] + self.enc("model\n") + [i["<|channel>"]] +
                self.enc("thought\n") + [i["<channel|>"]])

    def answer_ids(self, answer):
        return self.enc(answer) + [self.turn_close]

    def decode(self, ids):
        """Text of the generated ids up to (excluding) the first end-of-generation id."""
        out = []
        for t in ids:
            if t in self.eog:
                break
            out.append(int(t))
        return self.sp.decode(out)

    def gguf_vocab(self):
        """tokens, scores, token_type (1 normal, 2 unknown, 3 control, 6 byte)."""
        toks, scores, types = [], [], []
        for i in range(self.V):
            toks.append(self.sp.id_to_piece(i))
            scores.append(float(self.sp.get_score(i)))
            if self.sp.is_unknown(i):
                types.append(2)
            elif self.sp.is_control(i):
                types.append(3)
            elif self.sp.is_byte(i):
                types.append(6)
            else:
                types.append(1)
        return toks, scores, types

    def add_dummy_prefix(self):
        """Whether the normaliser adds a leading space (checked by behaviour: protobuf is not
        available to read normalizer_spec.add_dummy_prefix directly)."""
        return self.sp.encode("ab", out_type=str)[0].startswith("\u2581")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="model prefix (writes .model and .vocab)")
    ap.add_argument("--vocab", type=int, default=512)
    a = ap.parse_args()
    train(a.out, a.vocab)
    t = Tokenizer(a.out + ".model")
    p = t.prompt_ids("Sort in ascending order: 42 7 19")
    print("V", t.V, "prompt", p, [t.sp.id_to_piece(x) for x in p])
    print("answer", [t.sp.id_to_piece(x) for x in t.answer_ids("7 19 42")])
