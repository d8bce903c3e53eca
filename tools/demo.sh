#!/usr/bin/env bash
# The main job: build dllm and generate with the tiny DiffusionGemma-architecture model shipped in
# models/ (trained by tools/train/; see models/README.md). Streams each answer as its canvases
# commit. Usage: bash tools/demo.sh [--visual]   (--visual: watch the canvas being denoised)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target dllm-cli
model=models/dg-tiny-tasks.gguf
cli=build/tools/cli/dllm-cli
"$cli" info -m "$model"
# Prompts in the formats the model was trained on (models/README.md lists the tasks).
prompts=(
  "Sort in ascending order: 4 2 7 1 9 8 8 3 5 6 2 1 6 4 0 9 3 7"
  "Reverse: d i f f u s i o n m o d e l s r u n o n c p u s"
  "What is 47 + 85?"
  "Count the letter b in: a b c b d b a"
  "Uppercase: the quick brown fox"
  "Lowercase: HAPPY BIRD"
)
for p in "${prompts[@]}"; do
  echo
  echo "> $p"
  "$cli" generate -m "$model" --chat -p "$p" "$@"
  echo
done
