"""ctypes binding of dllm's C ABI (include/dllm/dllm.h) with a small Pythonic layer.

    import dllm
    model = dllm.Model("model.gguf")
    session = dllm.Session(model)
    result = session.generate("Why is the sky blue?", seed=42,
                              on_canvas=lambda c: print(c.answer, end="", flush=True))

The shared library is found through $DLLM_LIBRARY, then ctypes.util.find_library("dllm"), or
pass its path to dllm.load_library() first. Errors raise dllm.DllmError (with .status and the
library's message). ctypes releases the GIL during C calls, so another Python thread may call
Session.cancel() while generate() runs.
"""

import ctypes
import ctypes.util
import os
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

# --- dllm.h constants ---------------------------------------------------------------------------
OK = 0
ERROR_INVALID_ARGUMENT = 1
ERROR_IO = 2
ERROR_FORMAT = 3
ERROR_UNSUPPORTED = 4
ERROR_OUT_OF_MEMORY = 5
ERROR_CANCELLED = 6
ERROR_INTERNAL = 7
ERROR_BUSY = 8
ERROR_BUFFER_TOO_SMALL = 9
ERROR_CONTEXT_FULL = 10

CONTINUE = 0
STOP = 1
TOKENIZE_ADD_BOS = 1
TOKENIZE_PARSE_SPECIAL = 2
DETOKENIZE_RENDER_SPECIAL = 1
CHAT_THINKING = 1
CHAT_NO_GENERATION_PROMPT = 2
STOP_REASONS = {0: "end_of_generation", 1: "max_tokens", 2: "callback", 3: "cancelled"}

c_int32_p = ctypes.POINTER(ctypes.c_int32)


class _Sized(ctypes.Structure):
    """A versioned struct: struct_size is set to this (the binding's) size."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.struct_size = ctypes.sizeof(self)


class LoadParams(_Sized):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_threads", ctypes.c_int32),
                ("use_mmap", ctypes.c_int32),
                ("progress", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_float, ctypes.c_void_p)),
                ("progress_user_data", ctypes.c_void_p)]


ProgressCallback = LoadParams._fields_[3][1]


class ModelInfo(_Sized):
    _fields_ = [("struct_size", ctypes.c_uint32), ("architecture", ctypes.c_char_p),
                ("name", ctypes.c_char_p), ("n_embd", ctypes.c_int64),
                ("n_layer", ctypes.c_int64), ("n_ff", ctypes.c_int64),
                ("n_vocab", ctypes.c_int64), ("context_length", ctypes.c_int64),
                ("canvas_length", ctypes.c_int64), ("sliding_window", ctypes.c_int64),
                ("n_expert", ctypes.c_int32), ("n_expert_used", ctypes.c_int32),
                ("n_ff_expert", ctypes.c_int64), ("rms_eps", ctypes.c_float),
                ("final_logit_softcap", ctypes.c_float), ("bos_id", ctypes.c_int32),
                ("eos_id", ctypes.c_int32), ("eot_id", ctypes.c_int32),
                ("pad_id", ctypes.c_int32), ("unk_id", ctypes.c_int32),
                ("mask_id", ctypes.c_int32), ("eog_ids", c_int32_p),
                ("n_eog_ids", ctypes.c_size_t), ("add_bos", ctypes.c_int32),
                ("has_chat_template", ctypes.c_int32), ("has_chat_format", ctypes.c_int32),
                ("n_tensor_types", ctypes.c_int32), ("n_params", ctypes.c_uint64),
                ("n_params_active", ctypes.c_uint64), ("n_params_expert", ctypes.c_uint64),
                ("n_params_embedding", ctypes.c_uint64), ("file_bytes", ctypes.c_uint64),
                ("weight_bytes", ctypes.c_uint64), ("tokenizer_model", ctypes.c_char_p)]


class SessionParams(_Sized):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_ctx", ctypes.c_int64),
                ("n_threads", ctypes.c_int32)]


class SamplerParams(_Sized):
    _fields_ = [("struct_size", ctypes.c_uint32), ("max_steps", ctypes.c_int32),
                ("t_min", ctypes.c_float), ("t_max", ctypes.c_float),
                ("entropy_bound", ctypes.c_float), ("stability_threshold", ctypes.c_int32),
                ("confidence_threshold", ctypes.c_float), ("seed", ctypes.c_uint64),
                ("max_new_tokens", ctypes.c_int64), ("stop_ids", c_int32_p),
                ("n_stop_ids", ctypes.c_size_t), ("fixed_steps", ctypes.c_int32),
                ("argmax", ctypes.c_int32), ("sc_threshold", ctypes.c_float)]


class StepInfoC(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("canvas_index", ctypes.c_int32),
                ("step", ctypes.c_int32), ("is_final", ctypes.c_int32),
                ("length", ctypes.c_int64), ("canvas", c_int32_p), ("next_canvas", c_int32_p),
                ("accepted", ctypes.POINTER(ctypes.c_uint8)),
                ("entropy", ctypes.POINTER(ctypes.c_float)), ("mean_entropy", ctypes.c_double),
                ("max_steps", ctypes.c_int32)]


class CanvasInfoC(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("canvas_index", ctypes.c_int32),
                ("ids", c_int32_p), ("n_ids", ctypes.c_size_t),
                ("text", ctypes.POINTER(ctypes.c_char)), ("text_len", ctypes.c_size_t),
                ("thought", ctypes.POINTER(ctypes.c_char)), ("thought_len", ctypes.c_size_t),
                ("answer", ctypes.POINTER(ctypes.c_char)), ("answer_len", ctypes.c_size_t),
                ("steps", ctypes.c_int32)]


StepCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(StepInfoC), ctypes.c_void_p)
CanvasCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(CanvasInfoC), ctypes.c_void_p)
LogCallback = ctypes.CFUNCTYPE(None, ctypes.c_int32, ctypes.c_char_p, ctypes.c_void_p)


class Callbacks(_Sized):
    _fields_ = [("struct_size", ctypes.c_uint32), ("on_step", StepCallback),
                ("on_canvas", CanvasCallback), ("user_data", ctypes.c_void_p)]


class ResultC(_Sized):
    _fields_ = [("struct_size", ctypes.c_uint32), ("stop_reason", ctypes.c_int32),
                ("tokens", c_int32_p), ("n_tokens", ctypes.c_size_t),
                ("text", ctypes.POINTER(ctypes.c_char)), ("text_len", ctypes.c_size_t),
                ("thought", ctypes.POINTER(ctypes.c_char)), ("thought_len", ctypes.c_size_t),
                ("answer", ctypes.POINTER(ctypes.c_char)), ("answer_len", ctypes.c_size_t),
                ("n_canvases", ctypes.c_int32)]


class MetricsC(_Sized):
    _fields_ = [("struct_size", ctypes.c_uint32), ("prompt_tokens", ctypes.c_int64),
                ("prompt_seconds", ctypes.c_double), ("generated_tokens", ctypes.c_int64),
                ("canvases", ctypes.c_int64), ("steps", ctypes.c_int64),
                ("steps_per_canvas", c_int32_p), ("n_steps_per_canvas", ctypes.c_size_t),
                ("step_seconds", ctypes.c_double), ("denoise_seconds", ctypes.c_double),
                ("commit_seconds", ctypes.c_double), ("total_seconds", ctypes.c_double),
                ("tokens_per_second", ctypes.c_double)]


class ChatMessageC(ctypes.Structure):
    _fields_ = [("role", ctypes.c_char_p), ("content", ctypes.c_char_p)]


# --- the library ----------------------------------------------------------------------------------
_lib = None


def load_library(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads libdllm (once) and declares the functions' signatures."""
    global _lib
    if _lib is not None:
        return _lib
    path = path or os.environ.get("DLLM_LIBRARY") or ctypes.util.find_library("dllm")
    if not path:
        raise OSError("libdllm not found: set DLLM_LIBRARY or call dllm.load_library(path)")
    lib = ctypes.CDLL(path)
    st = ctypes.c_int
    P = ctypes.POINTER
    vp = ctypes.c_void_p
    sigs = {
        "dllm_status_string": (ctypes.c_char_p, [st]),
        "dllm_last_error": (ctypes.c_char_p, []),
        "dllm_version_string": (ctypes.c_char_p, []),
        "dllm_version_number": (ctypes.c_uint32, []),
        "dllm_abi_version": (ctypes.c_uint32, []),
        "dllm_log_set_callback": (st, [LogCallback, vp, ctypes.c_int32]),
        "dllm_load_params_init": (st, [P(LoadParams), ctypes.c_size_t]),
        "dllm_model_load": (st, [ctypes.c_char_p, P(LoadParams), P(vp)]),
        "dllm_model_free": (st, [vp]),
        "dllm_model_get_info": (st, [vp, P(ModelInfo)]),
        "dllm_tokenize": (st, [vp, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32, c_int32_p,
                               ctypes.c_size_t, P(ctypes.c_size_t)]),
        "dllm_detokenize": (st, [vp, c_int32_p, ctypes.c_size_t, ctypes.c_uint32,
                                 ctypes.c_char_p, ctypes.c_size_t, P(ctypes.c_size_t)]),
        "dllm_chat_apply_template": (st, [vp, P(ChatMessageC), ctypes.c_size_t, ctypes.c_uint32,
                                          ctypes.c_char_p, ctypes.c_size_t,
                                          P(ctypes.c_size_t)]),
        "dllm_session_params_init": (st, [P(SessionParams), ctypes.c_size_t]),
        "dllm_session_create": (st, [vp, P(SessionParams), P(vp)]),
        "dllm_session_free": (st, [vp]),
        "dllm_session_reset": (st, [vp]),
        "dllm_session_cancel": (st, [vp]),
        "dllm_sampler_params_init": (st, [P(SamplerParams), ctypes.c_size_t]),
        "dllm_model_get_sampler_defaults": (st, [vp, P(SamplerParams)]),
        "dllm_callbacks_init": (st, [P(Callbacks), ctypes.c_size_t]),
        "dllm_session_generate_text": (st, [vp, ctypes.c_char_p, ctypes.c_size_t,
                                            P(SamplerParams), P(Callbacks), P(ResultC)]),
        "dllm_session_generate_tokens": (st, [vp, c_int32_p, ctypes.c_size_t,
                                              P(SamplerParams), P(Callbacks), P(ResultC)]),
        "dllm_session_generate_chat": (st, [vp, P(ChatMessageC), ctypes.c_size_t,
                                            ctypes.c_uint32, P(SamplerParams), P(Callbacks),
                                            P(ResultC)]),
        "dllm_session_get_metrics": (st, [vp, P(MetricsC)]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    _lib = lib
    return lib


class DllmError(Exception):
    """A failed dllm call: .status is the dllm_status, str() the library's message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Cancelled(DllmError):
    """Generation was cancelled; .result holds what was committed before."""

    def __init__(self, status, message, result):
        super().__init__(status, message)
        self.result = result


def _check(status: int) -> None:
    if status != OK:
        lib = load_library()
        name = lib.dllm_status_string(status).decode()
        raise DllmError(status, f"{name}: {lib.dllm_last_error().decode(errors='replace')}")


def _bytes(ptr, n) -> str:
    return ctypes.string_at(ptr, n).decode("utf-8") if n else ""


def version() -> str:
    return load_library().dllm_version_string().decode()


_log_keepalive = None


def set_log_callback(fn: Optional[Callable[[int, str], None]], level: int = 3) -> None:
    """fn(level, message) receives dllm's log lines (None: quiet)."""
    global _log_keepalive
    lib = load_library()
    if fn is None:
        _check(lib.dllm_log_set_callback(LogCallback(), None, 0))
        return
    cb = LogCallback(lambda lvl, msg, ud: fn(lvl, msg.decode(errors="replace")))
    _check(lib.dllm_log_set_callback(cb, None, level))
    _log_keepalive = cb


# --- the Pythonic layer -------------------------------------------------------------------------
@dataclass
class StepInfo:
    canvas_index: int
    step: int
    max_steps: int
    is_final: bool
    canvas: List[int]
    accepted: List[bool]
    entropy: List[float]
    mean_entropy: float


@dataclass
class CanvasInfo:
    canvas_index: int
    ids: List[int]
    text: str
    thought: str
    answer: str
    steps: int


@dataclass
class Result:
    tokens: List[int]
    text: str
    thought: str
    answer: str
    stop_reason: str
    n_canvases: int


@dataclass
class Metrics:
    prompt_tokens: int
    prompt_seconds: float
    generated_tokens: int
    canvases: int
    steps: int
    steps_per_canvas: List[int] = field(default_factory=list)
    step_seconds: float = 0.0
    total_seconds: float = 0.0
    tokens_per_second: float = 0.0


class Model:
    """A loaded model (thread-safe, shareable)."""

    def __init__(self, path: str, n_threads: int = 0, use_mmap: bool = True,
                 progress: Optional[Callable[[float], Optional[bool]]] = None):
        lib = load_library()
        self._lib = lib
        self._h = ctypes.c_void_p()
        p = LoadParams()
        _check(lib.dllm_load_params_init(ctypes.byref(p), ctypes.sizeof(p)))
        p.n_threads = n_threads
        p.use_mmap = 1 if use_mmap else 0
        if progress is not None:
            # Returning False cancels loading; None (no return) continues.
            cb = ProgressCallback(lambda f, ud: STOP if progress(f) is False else CONTINUE)
            p.progress = cb
        _check(lib.dllm_model_load(os.fsencode(path), ctypes.byref(p), ctypes.byref(self._h)))
        info = ModelInfo()
        _check(lib.dllm_model_get_info(self._h, ctypes.byref(info)))
        self.architecture = info.architecture.decode()
        self.n_layer = info.n_layer
        self.n_vocab = info.n_vocab
        self.canvas_length = info.canvas_length
        self.context_length = info.context_length
        self.has_chat_format = bool(info.has_chat_format)
        self.bos_id = info.bos_id
        self.eog_ids = [info.eog_ids[i] for i in range(info.n_eog_ids)]

    def close(self) -> None:
        if self._h:
            _check(self._lib.dllm_model_free(self._h))
            self._h = ctypes.c_void_p()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def tokenize(self, text: str, add_bos: bool = False, parse_special: bool = False) -> List[int]:
        data = text.encode("utf-8")
        flags = (TOKENIZE_ADD_BOS if add_bos else 0) | (TOKENIZE_PARSE_SPECIAL if parse_special else 0)
        n = ctypes.c_size_t()
        st = self._lib.dllm_tokenize(self._h, data, len(data), flags, None, 0, ctypes.byref(n))
        if st not in (OK, ERROR_BUFFER_TOO_SMALL):
            _check(st)
        buf = (ctypes.c_int32 * max(n.value, 1))()
        _check(self._lib.dllm_tokenize(self._h, data, len(data), flags, buf, n.value,
                                       ctypes.byref(n)))
        return list(buf[:n.value])

    def detokenize(self, ids: Sequence[int], render_special: bool = False) -> str:
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        flags = DETOKENIZE_RENDER_SPECIAL if render_special else 0
        n = ctypes.c_size_t()
        st = self._lib.dllm_detokenize(self._h, arr, len(ids), flags, None, 0, ctypes.byref(n))
        if st not in (OK, ERROR_BUFFER_TOO_SMALL):
            _check(st)
        buf = ctypes.create_string_buffer(n.value + 1)
        _check(self._lib.dllm_detokenize(self._h, arr, len(ids), flags, buf, n.value + 1,
                                         ctypes.byref(n)))
        return buf.raw[:n.value].decode("utf-8")

    def apply_chat_template(self, messages, thinking: bool = False) -> str:
        arr, keep = _messages(messages)
        flags = CHAT_THINKING if thinking else 0
        n = ctypes.c_size_t()
        st = self._lib.dllm_chat_apply_template(self._h, arr, len(keep), flags, None, 0,
                                                ctypes.byref(n))
        if st not in (OK, ERROR_BUFFER_TOO_SMALL):
            _check(st)
        buf = ctypes.create_string_buffer(n.value + 1)
        _check(self._lib.dllm_chat_apply_template(self._h, arr, len(keep), flags, buf,
                                                  n.value + 1, ctypes.byref(n)))
        return buf.raw[:n.value].decode("utf-8")


def _messages(messages):
    keep = [(m["role"].encode(), m["content"].encode()) for m in messages]
    arr = (ChatMessageC * max(len(keep), 1))(*[ChatMessageC(r, c) for r, c in keep])
    return arr, keep


class Session:
    """Generation state over a model; one thread at a time (cancel() from any thread)."""

    def __init__(self, model: Model, n_ctx: int = 0, n_threads: int = 0):
        self._lib = model._lib
        self._model = model
        p = SessionParams()
        _check(self._lib.dllm_session_params_init(ctypes.byref(p), ctypes.sizeof(p)))
        p.n_ctx = n_ctx
        p.n_threads = n_threads
        self._h = ctypes.c_void_p()
        _check(self._lib.dllm_session_create(model._h, ctypes.byref(p), ctypes.byref(self._h)))
        self._defaults = SamplerParams()
        _check(self._lib.dllm_sampler_params_init(ctypes.byref(self._defaults),
                                                  ctypes.sizeof(self._defaults)))
        _check(self._lib.dllm_model_get_sampler_defaults(model._h, ctypes.byref(self._defaults)))

    def close(self) -> None:
        if self._h:
            _check(self._lib.dllm_session_free(self._h))
            self._h = ctypes.c_void_p()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def cancel(self) -> None:
        """Thread-safe: the running generate() stops within one step and raises Cancelled."""
        _check(self._lib.dllm_session_cancel(self._h))

    def reset(self) -> None:
        _check(self._lib.dllm_session_reset(self._h))

    def metrics(self) -> Metrics:
        m = MetricsC()
        _check(self._lib.dllm_session_get_metrics(self._h, ctypes.byref(m)))
        return Metrics(m.prompt_tokens, m.prompt_seconds, m.generated_tokens, m.canvases,
                       m.steps, [m.steps_per_canvas[i] for i in range(m.n_steps_per_canvas)],
                       m.step_seconds, m.total_seconds, m.tokens_per_second)

    def generate(self, prompt=None, *, tokens: Optional[Sequence[int]] = None, messages=None,
                 thinking: bool = False, on_step=None, on_canvas=None, stop_ids=None,
                 **sampler) -> Result:
        """Generates after a prompt (str), token ids (tokens=) or chat messages (messages=, a
        list of {"role", "content"}). Sampler fields (seed, max_new_tokens, max_steps, t_min,
        t_max, entropy_bound, stability_threshold, confidence_threshold, fixed_steps, argmax,
        sc_threshold)
        are keyword arguments; unset ones take the model's defaults. on_step(StepInfo) and
        on_canvas(CanvasInfo) may return False to stop (None continues)."""
        p = SamplerParams()
        ctypes.pointer(p)[0] = self._defaults
        for k, v in sampler.items():
            if k not in dict(SamplerParams._fields_) or k in ("struct_size", "stop_ids", "n_stop_ids"):
                raise TypeError(f"unknown sampler setting {k!r}")
            setattr(p, k, int(v) if isinstance(v, bool) else v)
        stops = None
        if stop_ids:
            stops = (ctypes.c_int32 * len(stop_ids))(*stop_ids)
            p.stop_ids = stops
            p.n_stop_ids = len(stop_ids)
        errors = []

        def guard(fn, arg):
            try:
                return STOP if fn(arg) is False else CONTINUE
            except BaseException as e:  # noqa: B902 — re-raised after the C call returns
                errors.append(e)
                return STOP

        def step_cb(info_p, ud):
            i = info_p.contents
            n = i.length
            return guard(on_step, StepInfo(i.canvas_index, i.step, i.max_steps, bool(i.is_final),
                                           i.canvas[:n], [bool(a) for a in i.accepted[:n]],
                                           i.entropy[:n], i.mean_entropy))

        def canvas_cb(info_p, ud):
            c = info_p.contents
            return guard(on_canvas, CanvasInfo(c.canvas_index, c.ids[:c.n_ids],
                                               _bytes(c.text, c.text_len),
                                               _bytes(c.thought, c.thought_len),
                                               _bytes(c.answer, c.answer_len), c.steps))

        cbs = Callbacks()
        _check(self._lib.dllm_callbacks_init(ctypes.byref(cbs), ctypes.sizeof(cbs)))
        if on_step:
            cbs.on_step = StepCallback(step_cb)
        if on_canvas:
            cbs.on_canvas = CanvasCallback(canvas_cb)
        r = ResultC()
        if messages is not None:
            arr, keep = _messages(messages)
            st = self._lib.dllm_session_generate_chat(self._h, arr, len(keep),
                                                      CHAT_THINKING if thinking else 0,
                                                      ctypes.byref(p), ctypes.byref(cbs),
                                                      ctypes.byref(r))
        elif tokens is not None:
            arr = (ctypes.c_int32 * max(len(tokens), 1))(*tokens)
            st = self._lib.dllm_session_generate_tokens(self._h, arr, len(tokens),
                                                        ctypes.byref(p), ctypes.byref(cbs),
                                                        ctypes.byref(r))
        else:
            data = (prompt or "").encode("utf-8")
            st = self._lib.dllm_session_generate_text(self._h, data, len(data), ctypes.byref(p),
                                                      ctypes.byref(cbs), ctypes.byref(r))
        if errors:
            raise errors[0]
        if st not in (OK, ERROR_CANCELLED):
            _check(st)
        result = Result(r.tokens[:r.n_tokens], _bytes(r.text, r.text_len),
                        _bytes(r.thought, r.thought_len), _bytes(r.answer, r.answer_len),
                        STOP_REASONS.get(r.stop_reason, str(r.stop_reason)), r.n_canvases)
        if st == ERROR_CANCELLED:
            raise Cancelled(st, self._lib.dllm_last_error().decode(), result)
        return result
