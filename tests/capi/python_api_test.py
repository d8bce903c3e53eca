#!/usr/bin/env python3
"""The ctypes binding (examples/python/dllm.py) against the shared library: loading, metadata,
tokenizer, generation with streaming callbacks, stop/cancel/errors, busy detection."""
import os
import threading
import unittest

import dllm

MODEL = os.environ["DLLM_TEST_MODEL"]


class BindingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = dllm.Model(MODEL)

    def session(self):
        return dllm.Session(self.model, n_threads=1)

    def test_version_and_info(self):
        self.assertEqual(dllm.version().count("."), 2)
        self.assertEqual(self.model.architecture, "diffusion-gemma")
        self.assertEqual(self.model.n_layer, 6)
        self.assertEqual(self.model.eog_ids, [1, 6])
        self.assertTrue(self.model.has_chat_format)

    def test_tokenizer(self):
        ids = self.model.tokenize("Hello world", add_bos=True)
        self.assertEqual(ids[0], self.model.bos_id)
        self.assertEqual(self.model.detokenize(ids), "Hello world")
        self.assertEqual(self.model.detokenize(ids, render_special=True), "<bos>Hello world")
        self.assertEqual(self.model.tokenize(""), [])
        self.assertIn("<|turn>user\nHi<turn|>",
                      self.model.apply_chat_template([{"role": "user", "content": "Hi"}]))
        with self.assertRaises(dllm.DllmError) as e:
            self.model.detokenize([99999])
        self.assertEqual(e.exception.status, dllm.ERROR_INVALID_ARGUMENT)

    def test_progress(self):
        seen = []
        with dllm.Model(MODEL, progress=seen.append):
            pass
        self.assertEqual(seen[0], 0.0)
        self.assertEqual(seen[-1], 1.0)
        with self.assertRaises(dllm.DllmError) as e:
            dllm.Model(MODEL, progress=lambda f: False)
        self.assertEqual(e.exception.status, dllm.ERROR_CANCELLED)

    def test_generate_streams_and_is_deterministic(self):
        pieces, steps = [], []
        with self.session() as s:
            r = s.generate("Once upon a time", seed=3, max_steps=4, max_new_tokens=64,
                           on_step=lambda i: steps.append((i.canvas_index, i.step)),
                           on_canvas=lambda c: pieces.append(c.text))
            m = s.metrics()
        self.assertEqual("".join(pieces), r.text)
        self.assertEqual(len(steps), m.steps)
        self.assertEqual(sum(m.steps_per_canvas), m.steps)
        self.assertGreater(len(r.tokens), 0)
        with self.session() as s:
            again = s.generate(tokens=self.model.tokenize("Once upon a time", add_bos=True,
                                                          parse_special=True),
                               seed=3, max_steps=4, max_new_tokens=64)
        self.assertEqual(again.tokens, r.tokens)

    def test_chat_turns(self):
        with self.session() as s:
            r1 = s.generate(messages=[{"role": "user", "content": "Hi"}], max_steps=2,
                            max_new_tokens=32)
            r2 = s.generate(messages=[{"role": "user", "content": "More"}], thinking=True,
                            max_steps=2, max_new_tokens=32)
        self.assertIsInstance(r1.answer, str)
        self.assertIsInstance(r2.thought, str)

    def test_callback_stop_and_exception(self):
        with self.session() as s:
            r = s.generate("hi", max_steps=4, fixed_steps=True, max_new_tokens=1000,
                           stop_ids=[4], on_step=lambda i: False)
            if r.stop_reason != "end_of_generation":
                self.assertEqual(r.stop_reason, "callback")
            s.reset()

            def boom(_):
                raise ValueError("from the callback")

            with self.assertRaises(ValueError):
                s.generate("hi", max_steps=2, max_new_tokens=32, on_canvas=boom)

    def test_cancel_from_another_thread(self):
        started = threading.Event()
        with self.session() as s:
            threading.Thread(target=lambda: (started.wait(5), s.cancel())).start()
            try:
                r = s.generate("hi", max_steps=48, fixed_steps=True, max_new_tokens=4000,
                               stop_ids=[4], on_step=lambda i: started.set())
                self.assertEqual(r.stop_reason, "end_of_generation")
            except dllm.Cancelled as e:
                self.assertEqual(e.status, dllm.ERROR_CANCELLED)
                self.assertEqual(e.result.stop_reason, "cancelled")

    def test_busy_from_a_callback_thread(self):
        statuses = []
        with self.session() as s:
            def probe(_):
                if not statuses:
                    t = threading.Thread(target=lambda: statuses.append(self._try_reset(s)))
                    t.start()
                    t.join()
            s.generate("hi", max_steps=2, max_new_tokens=32, on_step=probe)
        self.assertEqual(statuses, [dllm.ERROR_BUSY])

    @staticmethod
    def _try_reset(s):
        try:
            s.reset()
            return dllm.OK
        except dllm.DllmError as e:
            return e.status

    def test_errors(self):
        with self.assertRaises(dllm.DllmError) as e:
            dllm.Model("/nonexistent.gguf")
        self.assertEqual(e.exception.status, dllm.ERROR_IO)
        with self.session() as s:
            with self.assertRaises(dllm.DllmError):
                s.generate(tokens=[-1])
            with self.assertRaises(dllm.DllmError):
                s.generate("x", t_min=0.0)
            with self.assertRaises(TypeError):
                s.generate("x", temperature=1.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
