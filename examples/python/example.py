#!/usr/bin/env python3
"""dllm from Python through ctypes: load, tokenize, stream a generation, cancel from a thread.

    DLLM_LIBRARY=/path/to/libdllm.so python3 example.py MODEL.gguf [PROMPT]
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dllm  # noqa: E402


def main() -> int:
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} MODEL.gguf [PROMPT]", file=sys.stderr)
        return 2
    prompt = sys.argv[2] if len(sys.argv) > 2 else "Why is the sky blue?"
    print("dllm", dllm.version())
    model = dllm.Model(sys.argv[1])
    print(f"{model.architecture}: {model.n_layer} layers, vocab {model.n_vocab}")
    ids = model.tokenize(prompt, add_bos=True)
    print(f"prompt: {len(ids)} tokens -> {model.detokenize(ids)!r}")

    session = dllm.Session(model)
    steps = []
    pieces = []

    def on_step(info):  # every denoising step; return False to stop
        steps.append(info.step)

    def on_canvas(canvas):  # every committed canvas: complete UTF-8 text
        pieces.append(canvas.answer)
        print(canvas.answer, end="", flush=True)

    if model.has_chat_format:
        result = session.generate(messages=[{"role": "user", "content": prompt}], seed=42,
                                  max_new_tokens=64, on_step=on_step, on_canvas=on_canvas)
    else:
        result = session.generate(prompt, seed=42, max_new_tokens=64, on_step=on_step,
                                  on_canvas=on_canvas)
    m = session.metrics()
    print(f"\n{len(result.tokens)} tokens, {m.canvases} canvases, {m.steps} steps, "
          f"stop: {result.stop_reason}, {m.tokens_per_second:.1f} tokens/s")
    assert "".join(pieces) == result.answer, "streamed text must add up to the answer"
    assert len(steps) == m.steps

    # Cancel from another thread: the generation stops within one step.
    session.reset()
    started = threading.Event()

    def on_step(s):
        started.set()

    threading.Thread(target=lambda: (started.wait(), session.cancel()), daemon=True).start()
    try:
        session.generate(prompt, seed=1, max_new_tokens=10**6, fixed_steps=True,
                         stop_ids=[model.n_vocab - 1], on_step=on_step)
        print("generation finished before the cancel arrived")
    except dllm.Cancelled as e:
        print(f"cancelled as asked after {len(e.result.tokens)} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
