#!/usr/bin/env bash
# Builds dllm and runs the whole test suite: a Release build, then the suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Usage: bash tools/run-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
# Sanitizers: the same tests, checking memory errors and undefined behaviour on bad input.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDLLM_SANITIZE=ON \
  -DDLLM_BUILD_EXAMPLES=OFF -DDLLM_BUILD_BENCHMARKS=OFF
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE slow
