/*
 * dllm.h — the C ABI of dllm, a runtime for block-diffusion language models (DiffusionGemma)
 * on ordinary CPUs. This header is plain C99 and the only surface the shared library exports.
 *
 * CONVENTIONS (they hold for every function below unless its comment says otherwise)
 *
 * Errors. Every fallible function returns a dllm_status; DLLM_OK (0) is success. After a failure,
 * dllm_last_error() returns a message for the calling thread that names what was wrong. Nothing
 * aborts or exits the process on bad input. Every function may also return
 * DLLM_ERROR_OUT_OF_MEMORY (an allocation failed) and DLLM_ERROR_INTERNAL (a bug in dllm); the
 * per-function lists below name the other codes. On failure, output parameters are left as they
 * were unless stated otherwise.
 *
 * Handles. dllm_model and dllm_session are opaque. Functions check that a handle is one that dllm
 * created and has not freed yet (a registry lookup; no memory behind a stale pointer is read):
 * NULL, a freed handle or a handle of the other kind gives DLLM_ERROR_INVALID_ARGUMENT. A freed
 * handle whose address the allocator has reused for a new handle of the same kind cannot be told
 * apart from that new handle, so do not rely on the check — it is a safety net.
 *
 * Lifetime. dllm_model is reference-counted: dllm_model_free() drops the caller's reference,
 * and every session created from the model holds another one. The model's memory is released
 * when the last of them is gone, so freeing a model while its sessions live is allowed (the
 * sessions keep working; the dllm_model handle itself becomes invalid at once).
 *
 * Threads. A dllm_model is immutable after loading: any number of threads may call model
 * functions (info, tokenizer, chat template, dllm_session_create) on one model at once. A
 * dllm_session is used by one thread at a time; a second call on a session that is already busy
 * (from another thread, or from inside one of its own callbacks) fails fast with
 * DLLM_ERROR_BUSY and changes nothing. dllm_session_cancel() is the exception: any thread may
 * call it at any time while the session handle is valid. Different sessions may run in parallel.
 *
 * Versioned structs. Every struct passed by pointer starts with `uint32_t struct_size`, so fields
 * can be appended in later versions without breaking the ABI:
 *  - parameter structs (caller -> dllm) are prepared with their *_init(p, sizeof *p) function,
 *    which sets struct_size and every field's default; then the caller changes what it needs;
 *  - output structs (dllm -> caller) are prepared by setting struct_size = sizeof(the struct);
 *  - structs dllm passes to callbacks carry the library's own size: read a field only if
 *    struct_size covers it (it always does when header and library versions match).
 * struct_size smaller than this version's size gives DLLM_ERROR_INVALID_ARGUMENT. A larger one
 * (a caller built against a newer header) is accepted if every byte the library does not know is
 * zero; otherwise DLLM_ERROR_UNSUPPORTED (the caller asks for something this library lacks). In
 * output structs, bytes beyond the library's size are set to zero.
 *
 * Strings. Text is UTF-8. Input text is given as (pointer, length in bytes); the length may be
 * DLLM_NUL_TERMINATED for a NUL-terminated string, and the pointer may be NULL only when the
 * length is 0. Strings dllm returns are NUL-terminated and their length excludes the NUL.
 *
 * Caller buffers. Functions that write into a caller's buffer take (buffer, capacity) and an
 * out-parameter for the length. If the capacity is too small (0 included; the buffer may then
 * be NULL) they return DLLM_ERROR_BUFFER_TOO_SMALL, write nothing into the buffer and store the
 * length needed (without the NUL) in the out-parameter: call again with that length + 1 bytes.
 */
#ifndef DLLM_DLLM_H_
#define DLLM_DLLM_H_

#include <stddef.h>
#include <stdint.h>

/* Compile-time version of this header. dllm_version_*() give the library's at run time. */
#define DLLM_VERSION_MAJOR 0
#define DLLM_VERSION_MINOR 1
#define DLLM_VERSION_PATCH 0
#define DLLM_VERSION_STRING "0.1.0"
/* major * 10000 + minor * 100 + patch */
#define DLLM_VERSION_NUMBER \
  (DLLM_VERSION_MAJOR * 10000 + DLLM_VERSION_MINOR * 100 + DLLM_VERSION_PATCH)
/* The ABI major version (the shared library's SOVERSION). Bumped on incompatible changes. */
#define DLLM_ABI_VERSION 0

#if defined(DLLM_STATIC_DEFINE)
#define DLLM_API
#elif defined(_WIN32)
#if defined(DLLM_BUILDING_LIBRARY)
#define DLLM_API __declspec(dllexport)
#else
#define DLLM_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define DLLM_API __attribute__((visibility("default")))
#else
#define DLLM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================
 * Status, errors, versions, logging
 * ========================================================================================== */

typedef enum dllm_status {
  DLLM_OK = 0,
  DLLM_ERROR_INVALID_ARGUMENT = 1, /* NULL, freed handle, bad size, out-of-range value, bad id */
  DLLM_ERROR_IO = 2,               /* the operating system failed (open, mmap, read) */
  DLLM_ERROR_FORMAT = 3,           /* a model file is malformed (truncated, bad metadata) */
  DLLM_ERROR_UNSUPPORTED = 4,      /* valid but unsupported (architecture, tensor type, newer
                                      struct fields, a model without a chat format) */
  DLLM_ERROR_OUT_OF_MEMORY = 5,    /* an allocation failed */
  DLLM_ERROR_CANCELLED = 6,        /* the caller cancelled (dllm_session_cancel, progress cb) */
  DLLM_ERROR_INTERNAL = 7,         /* a bug in dllm; the message says where */
  DLLM_ERROR_BUSY = 8,             /* the session is in use by another call */
  DLLM_ERROR_BUFFER_TOO_SMALL = 9, /* a caller buffer is too small; the needed length is given */
  DLLM_ERROR_CONTEXT_FULL = 10     /* the session's context cannot hold the prompt plus one
                                      canvas; reset the session or create a larger one */
} dllm_status;

/* A constant name such as "DLLM_ERROR_IO" ("DLLM_UNKNOWN_STATUS" for other values). Never NULL;
 * static storage. Thread-safe. */
DLLM_API const char* dllm_status_string(dllm_status status);

/* The message of the most recent failed dllm call on the calling thread ("" if none). Successful
 * calls do not clear it. The pointer is valid until the next failing dllm call on this thread.
 * Never NULL. */
DLLM_API const char* dllm_last_error(void);

/* Run-time library version: "0.1.0", DLLM_VERSION_NUMBER's encoding, and the ABI major. A
 * program may compare them with the compile-time macros. Never fail; thread-safe. */
DLLM_API const char* dllm_version_string(void);
DLLM_API uint32_t dllm_version_number(void);
DLLM_API uint32_t dllm_abi_version(void);

typedef enum dllm_log_level {
  DLLM_LOG_NONE = 0,
  DLLM_LOG_ERROR = 1,
  DLLM_LOG_WARN = 2,
  DLLM_LOG_INFO = 3,
  DLLM_LOG_DEBUG = 4 /* includes every failed call with its message */
} dllm_log_level;

/* Receives one log line (UTF-8, NUL-terminated, no trailing newline; valid during the call). It
 * may be called from any thread that calls into dllm, possibly from several at once; it must not
 * call dllm_log_set_callback. */
typedef void (*dllm_log_callback)(int32_t level, const char* message, void* user_data);

/* Installs the process-wide log callback (NULL: no logging, the default — dllm is quiet unless
 * asked). Messages above `level` (a dllm_log_level) are not produced. Thread-safe; the previous
 * callback may still be running on another thread when this returns.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (level outside DLLM_LOG_NONE..DLLM_LOG_DEBUG). */
DLLM_API dllm_status dllm_log_set_callback(dllm_log_callback callback, void* user_data,
                                           int32_t level);

/* For (pointer, length) text arguments: the text is NUL-terminated. */
#define DLLM_NUL_TERMINATED ((size_t)-1)

/* Callback return values: continue, or stop what is running. */
#define DLLM_CONTINUE 0
#define DLLM_STOP 1

/* ============================================================================================
 * Model
 * ========================================================================================== */

typedef struct dllm_model dllm_model;

/* Called as loading proceeds with a fraction in [0, 1] (0 first, 1 last), on the loading thread.
 * Return DLLM_CONTINUE, or DLLM_STOP to abandon loading (dllm_model_load then returns
 * DLLM_ERROR_CANCELLED). */
typedef int (*dllm_progress_callback)(float fraction, void* user_data);

typedef struct dllm_load_params {
  uint32_t struct_size;
  int32_t n_threads;   /* threads for sessions of this model that ask for 0; 0: every core */
  int32_t use_mmap;    /* 1 (default): map the file; 0: read it into memory */
  dllm_progress_callback progress; /* NULL (default): no progress reports */
  void* progress_user_data;
} dllm_load_params;

/* Fills `params` with the defaults. Pass struct_size = sizeof *params (the size in the caller's
 * header; it is stored in params->struct_size). The *_init functions below work the same way.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (params NULL, struct_size too small). */
DLLM_API dllm_status dllm_load_params_init(dllm_load_params* params, size_t struct_size);

/* Loads a GGUF model file (architecture "diffusion-gemma") with its tokenizer. `params` may be
 * NULL for the defaults. On success *out_model is a new handle the caller owns (free it with
 * dllm_model_free); on failure *out_model is set to NULL. `path` is a NUL-terminated file name
 * in the operating system's encoding; it is not kept. Thread-safe (loads may run in parallel).
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (path or out_model NULL, bad params), DLLM_ERROR_IO
 * (cannot open/map/read), DLLM_ERROR_FORMAT (malformed file, missing/mis-shaped tensors, bad
 * metadata or vocabulary), DLLM_ERROR_UNSUPPORTED (other architecture, tensor type this build
 * cannot compute with), DLLM_ERROR_CANCELLED (the progress callback returned DLLM_STOP). */
DLLM_API dllm_status dllm_model_load(const char* path, const dllm_load_params* params,
                                     dllm_model** out_model);

/* Drops the caller's reference to the model; the handle is invalid afterwards. Sessions created
 * from it keep the model alive until they are freed. NULL is a no-op returning DLLM_OK. Calls on
 * other threads that use the handle at the same moment either complete normally or fail with
 * DLLM_ERROR_INVALID_ARGUMENT; pointers obtained from the model (dllm_model_info strings) stay
 * valid only while a session keeps the model alive.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (not a live model handle, e.g. freed twice). */
DLLM_API dllm_status dllm_model_free(dllm_model* model);

/* Model metadata. Strings and arrays point into the model and stay valid while the model lives
 * (as long as the handle or any of its sessions does). Token ids are -1 when the model has none. */
typedef struct dllm_model_info {
  uint32_t struct_size;
  const char* architecture;   /* "diffusion-gemma" */
  const char* name;           /* general.name, "" if absent */
  int64_t n_embd;
  int64_t n_layer;
  int64_t n_ff;               /* dense feed-forward width */
  int64_t n_vocab;
  int64_t context_length;     /* tokens of context the model was trained for */
  int64_t canvas_length;      /* tokens denoised together (one canvas) */
  int64_t sliding_window;
  int32_t n_expert;
  int32_t n_expert_used;
  int64_t n_ff_expert;
  float rms_eps;
  float final_logit_softcap;  /* 0: none */
  /* Special tokens. */
  int32_t bos_id, eos_id, eot_id, pad_id, unk_id, mask_id;
  const int32_t* eog_ids;     /* ids that end generation by default */
  size_t n_eog_ids;
  int32_t add_bos;            /* 1 if prompts start with BOS (tokenizer.ggml.add_bos_token) */
  int32_t has_chat_template;  /* 1 if the file has a tokenizer.chat_template entry */
  int32_t has_chat_format;    /* 1 if the dllm_chat_* functions work (Gemma 4 turn tokens) */
  int32_t n_tensor_types;     /* entries for dllm_model_get_tensor_type() */
  /* Parameters and bytes. */
  uint64_t n_params;          /* all weight elements */
  uint64_t n_params_active;   /* used per token (routed experts counted used/total) */
  uint64_t n_params_expert;   /* routed experts */
  uint64_t n_params_embedding;
  uint64_t file_bytes;
  uint64_t weight_bytes;      /* tensor data; memory-mapped by default */
  const char* tokenizer_model; /* tokenizer.ggml.model, e.g. "gemma4" */
} dllm_model_info;

/* Fills `info` (set info->struct_size first). Thread-safe.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, info NULL, struct_size too small). */
DLLM_API dllm_status dllm_model_get_info(const dllm_model* model, dllm_model_info* info);

/* Geometry of one layer. */
typedef struct dllm_layer_info {
  uint32_t struct_size;
  int32_t sliding;       /* 1: sliding-window attention; 0: global attention */
  int32_t n_head;
  int32_t n_kv_head;
  int32_t head_dim;
  float rope_base;
  int32_t has_v;         /* 0: V is the raw K projection (DiffusionGemma's global layers) */
} dllm_layer_info;

/* Fills `info` for layer `layer` (0 <= layer < n_layer). Thread-safe.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, info NULL, struct_size, layer range). */
DLLM_API dllm_status dllm_model_get_layer_info(const dllm_model* model, int64_t layer,
                                               dllm_layer_info* info);

/* Entry `index` (0 <= index < n_tensor_types) of the tensor type histogram: a ggml type name
 * ("F32", "Q8_0", ...; valid while the model lives) and how many tensors have it. Either output
 * may be NULL. Thread-safe.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, index out of range). */
DLLM_API dllm_status dllm_model_get_tensor_type(const dllm_model* model, int32_t index,
                                                const char** type_name, uint64_t* n_tensors);

/* What a model plus one session of `n_ctx` tokens needs (bytes). */
typedef struct dllm_memory_estimate {
  uint32_t struct_size;
  uint64_t weight_bytes;     /* tensor data (memory-mapped: shared with the page cache) */
  uint64_t kv_cache_bytes;   /* the session's KV cache when its context is full */
  uint64_t scratch_bytes;    /* the session's logits and step buffers (lower bound) */
  uint64_t total_bytes;      /* the sum */
} dllm_memory_estimate;

/* Estimates memory for a session of `n_ctx` tokens (0: the model's context_length). Thread-safe.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, estimate NULL/struct_size, n_ctx < 0). */
DLLM_API dllm_status dllm_model_estimate_memory(const dllm_model* model, int64_t n_ctx,
                                                dllm_memory_estimate* estimate);

/* ============================================================================================
 * Tokenizer and chat template (model functions: thread-safe)
 * ========================================================================================== */

/* Flags of dllm_tokenize. */
#define DLLM_TOKENIZE_ADD_BOS 1u       /* prepend BOS (if the model has one) */
#define DLLM_TOKENIZE_PARSE_SPECIAL 2u /* "<|turn>" etc. in the text become control tokens;
                                          without it they are tokenized as plain text */

/* Tokenizes `text` (text_len bytes or DLLM_NUL_TERMINATED) into `ids` (capacity entries) and
 * stores the number of ids in *n_ids (also when the capacity is too small). ids may be NULL when
 * capacity is 0 (a size query). NUL bytes inside text_len are ordinary characters.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, text NULL with length > 0, n_ids NULL,
 * unknown flag bits, text not valid UTF-8), DLLM_ERROR_BUFFER_TOO_SMALL. */
DLLM_API dllm_status dllm_tokenize(const dllm_model* model, const char* text, size_t text_len,
                                   uint32_t flags, int32_t* ids, size_t capacity, size_t* n_ids);

/* Flags of dllm_detokenize. */
#define DLLM_DETOKENIZE_RENDER_SPECIAL 1u /* write control tokens as their text ("<turn|>");
                                             by default they produce no text */

/* Writes the text of `ids` into `text` (capacity bytes, NUL-terminated) and its length into
 * *text_len. Byte-fallback tokens are joined into UTF-8; a byte sequence that is not valid
 * UTF-8 becomes U+FFFD.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, ids NULL with n_ids > 0, text_len NULL,
 * an id outside [0, n_vocab), unknown flag bits), DLLM_ERROR_BUFFER_TOO_SMALL. */
DLLM_API dllm_status dllm_detokenize(const dllm_model* model, const int32_t* ids, size_t n_ids,
                                     uint32_t flags, char* text, size_t capacity,
                                     size_t* text_len);

/* One chat message: role "system" (or "developer"), "user" or "assistant" (or "model");
 * content UTF-8 (surrounding whitespace is trimmed, as the model's template does). Both
 * NUL-terminated. A first system message becomes the system turn; later ones are system turns
 * of their own. This struct is frozen (it never grows). */
typedef struct dllm_chat_message {
  const char* role;
  const char* content;
} dllm_chat_message;

/* Flags of the chat functions. */
#define DLLM_CHAT_THINKING 1u               /* let the model think first (thought channel) */
#define DLLM_CHAT_NO_GENERATION_PROMPT 2u   /* omit the trailing "<|turn>model\n" */

/* Renders a conversation with the model's chat format (Gemma 4: BOS, a system turn if there is
 * a system message or thinking is on, the turns, the generation prompt; thinking off adds the
 * empty thought channel) into `text`, with control tokens written as text: tokenize it with
 * DLLM_TOKENIZE_PARSE_SPECIAL and without DLLM_TOKENIZE_ADD_BOS (it starts with "<bos>").
 * Earlier assistant turns have their thought channel removed. (dllm_session_generate_chat
 * tokenizes messages without special-token parsing, so contents cannot forge turn markers.)
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, messages NULL with n_messages > 0, a NULL
 * role or content, an unknown role, content not valid UTF-8, unknown flags, text_len NULL),
 * DLLM_ERROR_UNSUPPORTED (the vocabulary lacks the chat tokens), DLLM_ERROR_BUFFER_TOO_SMALL. */
DLLM_API dllm_status dllm_chat_apply_template(const dllm_model* model,
                                              const dllm_chat_message* messages,
                                              size_t n_messages, uint32_t flags, char* text,
                                              size_t capacity, size_t* text_len);

/* ============================================================================================
 * Session
 * ========================================================================================== */

typedef struct dllm_session dllm_session;

typedef struct dllm_session_params {
  uint32_t struct_size;
  int64_t n_ctx;      /* most tokens of context (prompts + output); 0 (default): the model's */
  int32_t n_threads;  /* 0 (default): the model's load n_threads, else every core */
} dllm_session_params;

/* Errors: DLLM_ERROR_INVALID_ARGUMENT (params NULL, struct_size too small). */
DLLM_API dllm_status dllm_session_params_init(dllm_session_params* params, size_t struct_size);

/* Creates a session (KV cache, canvas, sampler state) for `model`; `params` may be NULL. The
 * session holds a reference to the model. On failure *out_session is set to NULL. Thread-safe.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, out_session NULL, n_ctx < 0 or too small for
 * a prompt plus one canvas, n_threads outside [0, 4096]). */
DLLM_API dllm_status dllm_session_create(const dllm_model* model,
                                         const dllm_session_params* params,
                                         dllm_session** out_session);

/* Frees the session and its reference to the model; the handle is invalid afterwards. NULL is a
 * no-op returning DLLM_OK.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (not a live session handle), DLLM_ERROR_BUSY (a call is
 * running on the session — e.g. this is called from its own callback; nothing is freed). */
DLLM_API dllm_status dllm_session_free(dllm_session* session);

/* Forgets the context (the conversation) and the last result; keeps allocations.
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle), DLLM_ERROR_BUSY. */
DLLM_API dllm_status dllm_session_reset(dllm_session* session);

/* Asks the generation running on `session` to stop. It stops after the denoising step in
 * progress (within one step) and returns DLLM_ERROR_CANCELLED with the canvases committed so far
 * in its result. Any thread may call this at any time while the handle is valid (not
 * concurrently with dllm_session_free); never DLLM_ERROR_BUSY. A request made while no generation
 * runs is discarded when the next generation starts. Errors: DLLM_ERROR_INVALID_ARGUMENT. */
DLLM_API dllm_status dllm_session_cancel(dllm_session* session);

typedef struct dllm_session_info {
  uint32_t struct_size;
  int64_t n_ctx;      /* context size */
  int64_t n_past;     /* tokens in the context now */
  int32_t n_threads;
} dllm_session_info;

/* Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, info NULL/struct_size), DLLM_ERROR_BUSY. */
DLLM_API dllm_status dllm_session_get_info(dllm_session* session, dllm_session_info* info);

/* ============================================================================================
 * Generation
 * ========================================================================================== */

/* The sampler (docs/sampler.md gives every decision exactly). */
typedef struct dllm_sampler_params {
  uint32_t struct_size;
  int32_t max_steps;            /* denoising steps per canvas at most, >= 1 (48) */
  float t_min;                  /* temperature of the last step, > 0 (0.4) */
  float t_max;                  /* temperature of the first step, >= t_min (0.8) */
  float entropy_bound;          /* nats of entropy accepted per step, >= 0 (0.1) */
  int32_t stability_threshold;  /* unchanged-argmax steps needed to stop early, >= 0 (1) */
  float confidence_threshold;   /* mean entropy below which a stable canvas stops (0.005) */
  uint64_t seed;                /* RNG seed, reseeded at every generation call (0) */
  int64_t max_new_tokens;       /* most tokens generated by one call, >= 1 (4096) */
  const int32_t* stop_ids;      /* ids that end generation (read during the call); NULL or */
  size_t n_stop_ids;            /* 0 ids (default): the model's eog ids */
  int32_t fixed_steps;          /* 1: always run max_steps steps (no early stop) (0) */
  int32_t argmax;               /* 1: accepted positions take the argmax, not a sample (0) */
  float sc_threshold;           /* truncated self-conditioning: probabilities <= this are left
                                   out of the soft embedding (much cheaper over a large
                                   vocabulary); 0 = exact; in [0, 1) (1e-4) */
} dllm_sampler_params;

/* Fills `params` with the released model's defaults (values in parentheses above).
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (params NULL, struct_size too small). */
DLLM_API dllm_status dllm_sampler_params_init(dllm_sampler_params* params, size_t struct_size);

/* Overwrites max_steps, t_min, t_max, entropy_bound, stability_threshold and
 * confidence_threshold with the model's defaults (its diffusion.eb_* keys; the released values
 * when absent). Other fields are untouched. `params` must have been initialized.
 * Thread-safe. Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, params NULL, struct_size). */
DLLM_API dllm_status dllm_model_get_sampler_defaults(const dllm_model* model,
                                                     dllm_sampler_params* params);

/* Passed to the step callback after every denoising step. Arrays have `length` entries and are
 * valid during the callback only. */
typedef struct dllm_step_info {
  uint32_t struct_size;          /* the library's sizeof(dllm_step_info) */
  int32_t canvas_index;          /* 0-based canvas of this generation call */
  int32_t step;                  /* 0-based step within the canvas */
  int32_t is_final;              /* 1: this step ends the canvas (converged, last, cancelled) */
  int64_t length;                /* canvas length */
  const int32_t* canvas;         /* argmax ids of this step (what a commit takes) */
  const int32_t* next_canvas;    /* the canvas the next step starts from (accepted samples,
                                    fresh noise elsewhere) */
  const uint8_t* accepted;       /* 1 where the entropy bound accepted the position */
  const float* entropy;          /* per-position entropy (nats) */
  double mean_entropy;
  int32_t max_steps;             /* the step budget of a canvas (params.max_steps) */
} dllm_step_info;

/* Return DLLM_CONTINUE, or DLLM_STOP to end generation after this step: the canvas is committed
 * as it is (its argmax) and the call returns DLLM_OK with stop_reason DLLM_STOP_CALLBACK. */
typedef int (*dllm_step_callback)(const dllm_step_info* info, void* user_data);

/* Passed to the canvas callback for each committed canvas. Arrays and strings are valid during
 * the callback only. Text is complete UTF-8: a code point split across canvases is held back and
 * delivered with the next canvas (or, at the end, replaced by U+FFFD). The concatenation of
 * `text` (`thought`, `answer`) over all canvases equals the result's text (thought, answer). */
typedef struct dllm_canvas_info {
  uint32_t struct_size;          /* the library's sizeof(dllm_canvas_info) */
  int32_t canvas_index;
  const int32_t* ids;            /* committed ids (truncated at the stop id / token budget) */
  size_t n_ids;
  const char* text;              /* new text, control tokens rendered (raw transcript) */
  size_t text_len;
  const char* thought;           /* new text of the thought channel (control tokens omitted) */
  size_t thought_len;
  const char* answer;            /* new text outside the thought channel */
  size_t answer_len;
  int32_t steps;                 /* denoising steps this canvas took */
} dllm_canvas_info;

/* Return DLLM_CONTINUE, or DLLM_STOP to end generation after this canvas (DLLM_OK,
 * stop_reason DLLM_STOP_CALLBACK unless the canvas ended generation anyway). */
typedef int (*dllm_canvas_callback)(const dllm_canvas_info* info, void* user_data);

/* Callbacks run on the generating thread, synchronously. Inside them, model functions and
 * dllm_session_cancel may be called; other calls on the same session give DLLM_ERROR_BUSY. */
typedef struct dllm_callbacks {
  uint32_t struct_size;
  dllm_step_callback on_step;     /* NULL: none */
  dllm_canvas_callback on_canvas; /* NULL: none */
  void* user_data;                /* passed to both */
} dllm_callbacks;

/* Errors: DLLM_ERROR_INVALID_ARGUMENT (callbacks NULL, struct_size too small). */
DLLM_API dllm_status dllm_callbacks_init(dllm_callbacks* callbacks, size_t struct_size);

typedef enum dllm_stop_reason {
  DLLM_STOP_END_OF_GENERATION = 0, /* a stop id was generated (it ends the output) */
  DLLM_STOP_MAX_TOKENS = 1,        /* max_new_tokens reached, or the context is full */
  DLLM_STOP_CALLBACK = 2,          /* a callback returned DLLM_STOP */
  DLLM_STOP_CANCELLED = 3          /* dllm_session_cancel (status DLLM_ERROR_CANCELLED) */
} dllm_stop_reason;

/* The outcome of one generation call (an output struct: set struct_size first). Arrays and
 * strings are owned by the session and stay valid until the next generation, reset or free of
 * that session. */
typedef struct dllm_result {
  uint32_t struct_size;
  int32_t stop_reason;     /* a dllm_stop_reason */
  const int32_t* tokens;   /* generated ids, the stop id included */
  size_t n_tokens;
  const char* text;        /* all generated text with control tokens rendered ("<|channel>…") */
  size_t text_len;
  const char* thought;     /* the thought channel's text (without its "thought\n" header) */
  size_t thought_len;
  const char* answer;      /* everything outside the thought channel, control tokens omitted */
  size_t answer_len;
  int32_t n_canvases;      /* canvases committed */
} dllm_result;

/* Generates a continuation of the session's context followed by `prompt` (text_len bytes or
 * DLLM_NUL_TERMINATED). The prompt is tokenized with DLLM_TOKENIZE_PARSE_SPECIAL, and with BOS
 * when the session's context is empty. The output stays in the context: the next call continues
 * after it (multi-turn). `params` NULL: the model's defaults (dllm_model_get_sampler_defaults);
 * `callbacks` NULL: none; `result` NULL: not wanted (streaming through callbacks only).
 * Returns DLLM_OK when generation ended normally (stop id, token budget, or a callback's
 * DLLM_STOP), DLLM_ERROR_CANCELLED after dllm_session_cancel (the result then holds the canvases
 * committed before; the unfinished canvas is dropped and the context keeps the committed ones).
 * Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, prompt NULL with length > 0, invalid UTF-8,
 * an empty prompt on an empty session, bad sampler values, stop ids outside the vocabulary,
 * struct sizes), DLLM_ERROR_UNSUPPORTED (newer struct fields set), DLLM_ERROR_BUSY,
 * DLLM_ERROR_CONTEXT_FULL (context + prompt + one canvas exceed n_ctx; nothing was changed),
 * DLLM_ERROR_CANCELLED. Argument errors (INVALID_ARGUMENT, UNSUPPORTED, BUSY, CONTEXT_FULL)
 * leave the context unchanged; after DLLM_ERROR_OUT_OF_MEMORY or DLLM_ERROR_INTERNAL it is
 * unspecified: reset the session. */
DLLM_API dllm_status dllm_session_generate_text(dllm_session* session, const char* prompt,
                                                size_t prompt_len,
                                                const dllm_sampler_params* params,
                                                const dllm_callbacks* callbacks,
                                                dllm_result* result);

/* The same with prompt token ids (ids in [0, n_vocab); none is allowed when the context is not
 * empty; ids NULL only with n_ids 0). No BOS is added. */
DLLM_API dllm_status dllm_session_generate_tokens(dllm_session* session, const int32_t* ids,
                                                  size_t n_ids,
                                                  const dllm_sampler_params* params,
                                                  const dllm_callbacks* callbacks,
                                                  dllm_result* result);

/* The same with chat messages in the chat format (flags as in dllm_chat_apply_template; the
 * markers are token ids, contents are tokenized without special-token parsing). On an empty
 * session the messages are the conversation so far (a system message first, if any). On a
 * session with context, pass only the new messages (usually the next user message): they are
 * appended as further turns after the previous answer, whose turn is closed first if generation
 * stopped before "<turn|>". Earlier turns stay in the KV cache as they were generated (thought
 * channel included), and DLLM_CHAT_THINKING then only changes the generation prompt (the
 * "<|think|>" system turn belongs to the conversation's start). Errors as
 * dllm_session_generate_text and dllm_chat_apply_template. */
DLLM_API dllm_status dllm_session_generate_chat(dllm_session* session,
                                                const dllm_chat_message* messages,
                                                size_t n_messages, uint32_t flags,
                                                const dllm_sampler_params* params,
                                                const dllm_callbacks* callbacks,
                                                dllm_result* result);

/* Timing and counts of the last generation on the session (zero before the first). An output
 * struct: set struct_size first. steps_per_canvas is owned by the session (valid until its next
 * generation, reset or free) and includes an unfinished, cancelled canvas. */
typedef struct dllm_metrics {
  uint32_t struct_size;
  int64_t prompt_tokens;        /* tokens encoded before denoising (prompt + earlier output) */
  double prompt_seconds;        /* encoding them */
  int64_t generated_tokens;
  int64_t canvases;             /* committed canvases */
  int64_t steps;                /* denoising steps, all canvases */
  const int32_t* steps_per_canvas;
  size_t n_steps_per_canvas;
  double step_seconds;          /* mean time of one denoising step (forward + sampling) */
  double denoise_seconds;       /* all denoising steps */
  double commit_seconds;        /* encoding committed canvases into the cache */
  double total_seconds;         /* the whole call */
  double tokens_per_second;     /* generated_tokens / total_seconds */
} dllm_metrics;

/* Errors: DLLM_ERROR_INVALID_ARGUMENT (bad handle, metrics NULL/struct_size), DLLM_ERROR_BUSY. */
DLLM_API dllm_status dllm_session_get_metrics(dllm_session* session, dllm_metrics* metrics);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DLLM_DLLM_H_ */
