"""Line-based text formats shared by dllm's tokenizer tools and tests (tests/tokenizer/).

Every string is written on one line with these escapes: \\\\ (backslash), \\n, \\t, \\r, \\s
(space; only where a space separates fields), \\xHH (other C0 controls and DEL). Everything
else is literal UTF-8. The C++ reader is tests/tokenizer/test_data.cc.

Vocabulary file (what the GGUF keys tokenizer.ggml.* hold):
    # comment lines
    model gemma4
    bos 2            (also eos, unk, pad, mask; -1 if absent)
    add_bos 1        (also add_space_prefix)
    tokens N
    <type>\\t<score>\\t<piece>          N lines, id order
    merges M
    <left> <right>                     M lines, rank order (\\s inside a piece)
"""


def escape(s, escape_space=False):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == " " and escape_space:
            out.append("\\s")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02X" % o)
        else:
            out.append(ch)
    return "".join(out)


def unescape(s):
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = s[i + 1]
        if nxt == "x":
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
            continue
        out.append({"\\": "\\", "n": "\n", "t": "\t", "r": "\r", "s": " "}[nxt])
        i += 2
    return "".join(out)


def write_lines(path, strings):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for s in strings:
            f.write(escape(s) + "\n")


def read_lines(path):
    with open(path, encoding="utf-8", newline="\n") as f:
        return [unescape(line.rstrip("\n")) for line in f]


def write_ids(path, rows):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for ids in rows:
            f.write(" ".join(str(int(i)) for i in ids) + "\n")


def read_ids(path):
    with open(path, encoding="ascii") as f:
        return [[int(x) for x in line.split()] for line in f]


def write_vocab(path_or_file, v):
    """v: dict with model, tokens, scores, token_types, merges (list of (left, right)), bos, eos,
    unk, pad, mask, add_bos, add_space_prefix."""
    lines = ["# dllm tokenizer vocabulary (tools/tokenizer/textfmt.py describes the format)",
             "model " + v["model"]]
    for k in ("bos", "eos", "unk", "pad", "mask"):
        lines.append("%s %d" % (k, v[k]))
    lines.append("add_bos %d" % int(v["add_bos"]))
    lines.append("add_space_prefix %d" % int(v["add_space_prefix"]))
    lines.append("tokens %d" % len(v["tokens"]))
    for t, s, p in zip(v["token_types"], v["scores"], v["tokens"]):
        lines.append("%d\t%s\t%s" % (t, _fmt_score(s), escape(p)))
    lines.append("merges %d" % len(v["merges"]))
    for a, b in v["merges"]:
        lines.append(escape(a, True) + " " + escape(b, True))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if hasattr(path_or_file, "write"):
        path_or_file.write(data)
    else:
        with open(path_or_file, "wb") as f:
            f.write(data)
    return data


def _fmt_score(s):
    s = float(s)
    if s == int(s) and abs(s) < 1e15:
        return str(int(s))
    return repr(s)
