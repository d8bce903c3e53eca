"""Small, self-contained GGUF v2/v3 reader and writer (numpy only).

Written for dllm's numpy reference (tools/reference) and for anyone who needs to export a model
or test data in GGUF without llama.cpp's gguf package. Little-endian files only.

Writing
-------
    import sys; sys.path.insert(0, "tools/reference"); import gguf
    w = gguf.GGUFWriter("out.gguf", arch="diffusion-gemma")    # arch -> general.architecture
    w.add_kv("diffusion-gemma.block_count", 30, gguf.UINT32)     # explicit scalar type
    w.add_kv("diffusion-gemma.rope.freq_base", 1e6)              # float  -> FLOAT32
    w.add_kv("tokenizer.ggml.add_bos_token", True)               # bool   -> BOOL
    w.add_kv("general.name", "x")                                # str    -> STRING
    w.add_kv("x.head_count_kv", [8, 2], gguf.ARRAY, gguf.INT32)  # array of int32
    w.add_kv("x.pattern", [True, False])                         # list of bool -> array of BOOL
    w.add_kv("tokenizer.ggml.tokens", ["<pad>", "a"])            # list of str  -> array of STRING
    w.add_kv("x.u32", np.array([1, 2], np.uint32))               # ndarray -> array of its dtype
    w.add_tensor("token_embd.weight", emb, gguf.GGML_F32)        # emb: numpy [rows, cols]
    w.add_tensor("q.weight", w_np, gguf.GGML_Q8_0)               # quantized on write
    w.write()

Type inference when `type` is None: bool -> BOOL, int -> INT32 (as llama.cpp's writer does;
give UINT32 explicitly for the usual llama.cpp counts), float -> FLOAT32, str -> STRING,
list/tuple -> ARRAY (element type from `sub_type` or inferred from the first element; nested
lists give arrays of arrays), numpy scalar/ndarray -> its dtype. Strings are UTF-8.

Tensor shapes: a numpy array of shape (a, b, c) (C order) is stored with GGUF dims
(ne0, ne1, ne2) = (c, b, a), i.e. the numpy last axis is the GGUF row (ne0). So a PyTorch
`nn.Linear` weight [out, in] written as-is becomes GGUF [in, out], which is what llama.cpp
expects. Writable tensor types: F32, F16, BF16, Q8_0 (from float arrays; Q8_0 needs ne0 % 32
== 0), I8, I16, I32, I64, F64 (from arrays of that kind). `add_tensor_raw(name, bytes, ne,
ggml_type)` writes pre-encoded bytes with explicit GGUF dims.

Layout rules (as llama.cpp's gguf writer): header, KV pairs, tensor infos, zero padding to
`alignment`, then each tensor's data at an offset (relative to the data start) that is a
multiple of `alignment`, each tensor followed by zero padding up to the next multiple (the
last one too). `alignment` is general.alignment (uint32) if that key is added, else 32.

Reading
-------
    r = gguf.GGUFReader("model.gguf")
    r.version, r.alignment, r.data_offset
    r.kv            # dict key -> python value (ints, floats, bools, str, lists, nested lists)
    r.kv_types      # dict key -> (type, sub_type or None)  (sub_type for arrays)
    r.tensors       # list of ReaderTensor, file order; r.tensor(name) -> ReaderTensor
    t.name, t.ne (GGUF dims), t.shape (numpy order), t.ggml_type, t.offset, t.nbytes
    t.raw()         # np.uint8 bytes as stored
    t.numpy()       # dequantized float32 (F32/F16/BF16/Q8_0) or the integer/float64 array
    r.rewrite(path) # writes the same file again through GGUFWriter (byte-identical for files
                    # laid out by llama.cpp's writer)
"""

import struct

import numpy as np

# --- metadata value types -------------------------------------------------------------------
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = (
    range(13))
_SCALAR_FMT = {
    UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i",
    FLOAT32: "<f", BOOL: "<?", UINT64: "<Q", INT64: "<q", FLOAT64: "<d",
}
_SCALAR_NP = {
    UINT8: np.uint8, INT8: np.int8, UINT16: np.uint16, INT16: np.int16, UINT32: np.uint32,
    INT32: np.int32, FLOAT32: np.float32, BOOL: np.bool_, UINT64: np.uint64, INT64: np.int64,
    FLOAT64: np.float64,
}
_NP_TO_VTYPE = {np.dtype(v): k for k, v in _SCALAR_NP.items()}
TYPE_NAMES = {UINT8: "uint8", INT8: "int8", UINT16: "uint16", INT16: "int16", UINT32: "uint32",
              INT32: "int32", FLOAT32: "float32", BOOL: "bool", STRING: "string",
              ARRAY: "array", UINT64: "uint64", INT64: "int64", FLOAT64: "float64"}

# --- ggml tensor types (id: (name, values per block, bytes per block)) -----------------------
GGML_F32, GGML_F16, GGML_Q8_0, GGML_I8, GGML_I16, GGML_I32, GGML_I64, GGML_F64, GGML_BF16 = (
    0, 1, 8, 24, 25, 26, 27, 28, 30)
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8),
    28: ("F64", 1, 8), 30: ("BF16", 1, 2),
}
_PLAIN_NP = {0: np.float32, 1: np.float16, 24: np.int8, 25: np.int16, 26: np.int32,
             27: np.int64, 28: np.float64}
GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32


def ggml_nbytes(ggml_type, ne):
    """Bytes of a tensor with GGUF dims `ne` (ne[0] must be a whole number of blocks)."""
    _, blk, bsz = GGML_TYPES[ggml_type]
    if ne[0] % blk:
        raise ValueError(f"ne0={ne[0]} is not a multiple of the block size {blk}")
    n = 1
    for d in ne[1:]:
        n *= int(d)
    return n * (int(ne[0]) // blk) * bsz


def _pad(n, align):
    return (align - n % align) % align


# --- (de)quantisation ------------------------------------------------------------------------
def bf16_to_f32(u16):
    return (np.asarray(u16, np.uint16).astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x):
    """Round to nearest even; NaN stays NaN (quiet)."""
    u = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    r[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def dequant_q8_0(raw, n):
    b = np.frombuffer(raw, np.uint8).reshape(-1, 34)
    d = b[:, :2].copy().view(np.float16).astype(np.float32)
    q = b[:, 2:].copy().view(np.int8).astype(np.float32)
    return (d * q).reshape(-1)[:n]


def quant_q8_0(x):
    """ggml's reference Q8_0: d = amax/127 (stored f16), q = round-half-away(x/d)."""
    x = np.ascontiguousarray(x, np.float32).reshape(-1, 32)
    d = np.abs(x).max(axis=1, keepdims=True) / np.float32(127)
    with np.errstate(divide="ignore", invalid="ignore"):
        id_ = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = x * id_
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int8)
    out = np.empty((x.shape[0], 34), np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.reshape(-1)


def encode_tensor(arr, ggml_type):
    """numpy array -> raw bytes (np.uint8) in `ggml_type`."""
    a = np.asarray(arr)
    if ggml_type in _PLAIN_NP:
        return np.ascontiguousarray(a.astype(_PLAIN_NP[ggml_type])).view(np.uint8).reshape(-1)
    if ggml_type == GGML_BF16:
        return f32_to_bf16(a.astype(np.float32)).view(np.uint8).reshape(-1)
    if ggml_type == GGML_Q8_0:
        return quant_q8_0(a.astype(np.float32))
    raise ValueError(f"cannot encode ggml type {ggml_type}")


def decode_tensor(raw, ggml_type, ne):
    """raw bytes -> numpy array in numpy order (reversed GGUF dims)."""
    n = 1
    for d in ne:
        n *= int(d)
    shape = tuple(int(d) for d in reversed(ne))
    raw = np.asarray(raw, np.uint8)
    if ggml_type == GGML_F16:
        return raw.view(np.float16).astype(np.float32).reshape(shape)
    if ggml_type in _PLAIN_NP:
        return raw.view(_PLAIN_NP[ggml_type]).reshape(shape)
    if ggml_type == GGML_BF16:
        return bf16_to_f32(raw.view(np.uint16)).reshape(shape)
    if ggml_type == GGML_Q8_0:
        return dequant_q8_0(raw.tobytes(), n).reshape(shape)
    raise ValueError(f"no dequantizer for ggml type {GGML_TYPES.get(ggml_type, (ggml_type,))[0]}")


# --- reader ----------------------------------------------------------------------------------
class ReaderTensor:
    def __init__(self, reader, name, ne, ggml_type, offset):
        self._r = reader
        self.name, self.ne, self.ggml_type, self.offset = name, ne, ggml_type, offset
        self.shape = tuple(int(d) for d in reversed(ne))
        self.nbytes = ggml_nbytes(ggml_type, ne)
        self.type_name = GGML_TYPES[ggml_type][0]

    def raw(self):
        start = self._r.data_offset + self.offset
        return self._r._buf[start:start + self.nbytes]

    def numpy(self):
        return decode_tensor(self.raw(), self.ggml_type, self.ne)

    def __repr__(self):
        return f"<tensor {self.name} {self.type_name} ne={list(self.ne)}>"


class GGUFReader:
    def __init__(self, path):
        with open(path, "rb") as f:
            self._buf = np.frombuffer(f.read(), np.uint8)
        self._b = memoryview(self._buf)
        self._pos = 0
        if bytes(self._b[:4]) != GGUF_MAGIC:
            raise ValueError(f"{path}: not a GGUF file")
        self._pos = 4
        self.version = self._u32()
        if self.version == 1:
            count = self._u32
        elif self.version in (2, 3):
            count = self._u64
        else:
            raise ValueError(f"{path}: unsupported GGUF version {self.version}")
        self._count = count
        n_tensors = count()
        n_kv = count()
        self.kv, self.kv_types = {}, {}
        for _ in range(n_kv):
            key = self._str()
            vt = self._u32()
            val, sub = self._value(vt)
            if key in self.kv:
                raise ValueError(f"{path}: duplicate key {key}")
            self.kv[key] = val
            self.kv_types[key] = (vt, sub)
        self.alignment = int(self.kv.get("general.alignment", DEFAULT_ALIGNMENT))
        self.tensors, self._by_name = [], {}
        for _ in range(n_tensors):
            name = self._str()
            nd = self._u32()
            ne = tuple(count() for _ in range(nd))
            gt = self._u32()
            off = self._u64()
            t = ReaderTensor(self, name, ne, gt, off)
            self.tensors.append(t)
            self._by_name[name] = t
        self.data_offset = self._pos + _pad(self._pos, self.alignment)
        for t in self.tensors:
            if t.offset % self.alignment or self.data_offset + t.offset + t.nbytes > len(self._buf):
                raise ValueError(f"{path}: tensor {t.name} misplaced")

    # primitive readers
    def _unpack(self, fmt):
        n = struct.calcsize(fmt)
        v = struct.unpack_from(fmt, self._b, self._pos)[0]
        self._pos += n
        return v

    def _u32(self):
        return self._unpack("<I")

    def _u64(self):
        return self._unpack("<Q")

    def _str(self):
        n = self._count()
        s = bytes(self._b[self._pos:self._pos + n]).decode("utf-8")
        self._pos += n
        return s

    def _value(self, vt):
        """Returns (value, sub_type). sub_type is the element type for arrays (nested arrays:
        a tuple (ARRAY, inner sub_type) per level is not kept; inner arrays are lists)."""
        if vt in _SCALAR_FMT:
            v = self._unpack(_SCALAR_FMT[vt])
            return v, None
        if vt == STRING:
            return self._str(), None
        if vt == ARRAY:
            et = self._u32()
            n = self._count()
            if et in _SCALAR_FMT and et != BOOL:
                dt = np.dtype(_SCALAR_NP[et]).newbyteorder("<")
                arr = np.frombuffer(self._b, dt, n, self._pos)
                self._pos += n * dt.itemsize
                return arr.tolist(), et
            if et == BOOL:
                arr = np.frombuffer(self._b, np.uint8, n, self._pos)
                self._pos += n
                return [bool(x) for x in arr], et
            out, inner = [], None
            for _ in range(n):
                v, inner = self._value(et)
                out.append(v)
            return out, (et if et != ARRAY else (ARRAY, inner))
        raise ValueError(f"unknown metadata value type {vt}")

    def tensor(self, name):
        return self._by_name[name]

    def has_tensor(self, name):
        return name in self._by_name

    def get(self, key, default=None):
        return self.kv.get(key, default)

    def rewrite(self, path, version=None):
        w = GGUFWriter(path, version=version or max(self.version, 2))
        for k, v in self.kv.items():
            vt, sub = self.kv_types[k]
            w.add_kv(k, v, vt, sub)
        for t in self.tensors:
            w.add_tensor_raw(t.name, t.raw(), t.ne, t.ggml_type)
        w.write()


# --- writer ----------------------------------------------------------------------------------
def _infer_type(v):
    if isinstance(v, (bool, np.bool_)):
        return BOOL, None
    if isinstance(v, int):
        return INT32, None
    if isinstance(v, np.generic):
        return _NP_TO_VTYPE[v.dtype], None
    if isinstance(v, float):
        return FLOAT32, None
    if isinstance(v, str):
        return STRING, None
    if isinstance(v, np.ndarray):
        return ARRAY, _NP_TO_VTYPE[v.dtype]
    if isinstance(v, (list, tuple)):
        if len(v) == 0:
            raise ValueError("empty list: give sub_type explicitly")
        et, es = _infer_type(v[0])
        return ARRAY, (et if et != ARRAY else (ARRAY, es))
    raise TypeError(f"cannot infer GGUF type of {type(v)}")


class GGUFWriter:
    def __init__(self, path, arch=None, version=3):
        if version not in (2, 3):
            raise ValueError("writer supports GGUF v2 and v3")
        self.path, self.version = path, version
        self._kv = []          # (key, vtype, sub, value)
        self._keys = set()
        self._tensors = []     # (name, ne, ggml_type, raw uint8)
        self._names = set()
        if arch is not None:
            self.add_kv("general.architecture", arch, STRING)

    def add_kv(self, key, value, type=None, sub_type=None):
        """Add one metadata pair; see the module docstring for type inference. For arrays,
        type=ARRAY and sub_type=element type (or (ARRAY, inner) for nested arrays)."""
        if key in self._keys:
            raise ValueError(f"duplicate key {key}")
        if type is None:
            type, inferred_sub = _infer_type(value)
            if sub_type is None:
                sub_type = inferred_sub
        if type == ARRAY and sub_type is None:
            _, sub_type = _infer_type(value)
        self._kv.append((key, type, sub_type, value))
        self._keys.add(key)

    # convenience helpers
    def add_uint32(self, key, v): self.add_kv(key, int(v), UINT32)
    def add_int32(self, key, v): self.add_kv(key, int(v), INT32)
    def add_float32(self, key, v): self.add_kv(key, float(v), FLOAT32)
    def add_bool(self, key, v): self.add_kv(key, bool(v), BOOL)
    def add_string(self, key, v): self.add_kv(key, str(v), STRING)
    def add_array(self, key, v, sub_type=None): self.add_kv(key, list(v), ARRAY, sub_type)

    def add_tensor(self, name, array, ggml_type=GGML_F32):
        a = np.asarray(array)
        if a.ndim == 0:
            a = a.reshape(1)
        ne = tuple(int(d) for d in reversed(a.shape))
        self.add_tensor_raw(name, encode_tensor(a, ggml_type), ne, ggml_type)

    def add_tensor_raw(self, name, raw, ne, ggml_type):
        if name in self._names:
            raise ValueError(f"duplicate tensor {name}")
        raw = np.asarray(raw, np.uint8).reshape(-1)
        if raw.size != ggml_nbytes(ggml_type, ne):
            raise ValueError(f"{name}: {raw.size} bytes, expected {ggml_nbytes(ggml_type, ne)}")
        self._tensors.append((name, tuple(int(d) for d in ne), ggml_type, raw))
        self._names.add(name)

    # encoding
    @staticmethod
    def _enc_str(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def _enc_value(self, vt, sub, v):
        if vt in _SCALAR_FMT:
            if vt in (FLOAT32, FLOAT64):
                return struct.pack(_SCALAR_FMT[vt], float(v))
            if vt == BOOL:
                return struct.pack("<?", bool(v))
            return struct.pack(_SCALAR_FMT[vt], int(v))
        if vt == STRING:
            return self._enc_str(v)
        if vt == ARRAY:
            if isinstance(sub, tuple):
                et, inner = sub
            else:
                et, inner = sub, None
            items = list(v) if not isinstance(v, np.ndarray) else v
            head = struct.pack("<IQ", et, len(items))
            if et in _SCALAR_FMT:
                dt = np.dtype(_SCALAR_NP[et]).newbyteorder("<")
                if et == BOOL:
                    return head + np.asarray([bool(x) for x in items], np.uint8).tobytes()
                if et in (FLOAT32, FLOAT64):
                    return head + np.asarray(items, np.float64).astype(dt).tobytes()
                # build integers directly in the target dtype: going through float64 (what
                # np.asarray does for Python ints >= 2**63) would round 64-bit values
                if isinstance(items, np.ndarray) and items.dtype.kind in "iu":
                    return head + items.astype(dt).tobytes()
                return head + np.array([int(x) for x in items], dtype=dt).tobytes()
            if et == STRING:
                return head + b"".join(self._enc_str(s) for s in items)
            if et == ARRAY:
                return head + b"".join(self._enc_value(ARRAY, inner, x) for x in items)
            raise ValueError(f"bad array element type {et}")
        raise ValueError(f"bad value type {vt}")

    def write(self):
        align = DEFAULT_ALIGNMENT
        for key, vt, _, v in self._kv:
            if key == "general.alignment":
                align = int(v)
        if align <= 0 or align % 8:
            raise ValueError("general.alignment must be a positive multiple of 8")
        out = bytearray()
        out += GGUF_MAGIC + struct.pack("<IQQ", self.version, len(self._tensors), len(self._kv))
        for key, vt, sub, v in self._kv:
            out += self._enc_str(key) + struct.pack("<I", vt) + self._enc_value(vt, sub, v)
        off = 0
        offsets = []
        for name, ne, gt, raw in self._tensors:
            out += self._enc_str(name) + struct.pack("<I", len(ne))
            out += struct.pack(f"<{len(ne)}Q", *ne) + struct.pack("<IQ", gt, off)
            offsets.append(off)
            off += raw.size + _pad(raw.size, align)
        out += b"\0" * _pad(len(out), align)
        with open(self.path, "wb") as f:
            f.write(out)
            for name, ne, gt, raw in self._tensors:
                f.write(raw.tobytes())
                f.write(b"\0" * _pad(raw.size, align))


def read(path):
    return GGUFReader(path)


if __name__ == "__main__":  # tiny CLI: dump a file's metadata and tensor list
    import sys
    r = GGUFReader(sys.argv[1])
    print(f"GGUF v{r.version}, {len(r.kv)} kv, {len(r.tensors)} tensors, "
          f"alignment {r.alignment}, data at {r.data_offset}")
    for k, v in r.kv.items():
        vt, sub = r.kv_types[k]
        s = repr(v)
        if len(s) > 100:
            s = s[:100] + f"... ({len(v)} items)"
        tn = TYPE_NAMES[vt] + (f"[{TYPE_NAMES.get(sub, sub)}]" if vt == ARRAY else "")
        print(f"  {k} ({tn}) = {s}")
    for t in r.tensors:
        print(f"  {t.name} {t.type_name} {list(t.ne)} @ {t.offset}")
