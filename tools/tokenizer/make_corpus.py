#!/usr/bin/python3
"""Writes the tokenizer test corpus: tests/data/tokenizer/corpus.txt (one escaped string per
line, see textfmt.py). Hand-written lines cover scripts, code, whitespace, digits, emoji,
combining marks, byte-fallback characters and special-token look-alikes; seeded random lines
stress merge order. Deterministic: the same file every run.

    /usr/bin/python3 tools/tokenizer/make_corpus.py [--out tests/data/tokenizer/corpus.txt]
"""

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textfmt  # noqa: E402

HAND = [
    # --- English, punctuation, casing
    "Why is the sky blue?",
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! It's a beautiful day -- isn't it? (Yes.) [Maybe] {No}",
    "ALL CAPS SENTENCE WITH NUMBERS 123 AND SYMBOLS #@$%^&*",
    "e.g. i.e. etc. Mr. Mrs. Dr. St. U.S.A. a.m. p.m.",
    "  leading spaces and trailing spaces  ",
    " single leading space",
    "trailing space ",
    "",
    " ",
    "a",
    "\"Quoted\" 'single' `backtick` «guillemets» „German“ “curly” ‘quotes’",
    "don't won't can't I'm you're we've they'd",
    "hyphen-ated well-known state-of-the-art — em dash – en dash … ellipsis",
    # --- Latin scripts with diacritics
    "Über den Wolken muss die Freiheit wohl grenzenlos sein. Straße, Maß, Größe, Fußgänger.",
    "Où est la bibliothèque ? Ça va très bien, merci. L'été à Noël, garçon, naïve, cœur.",
    "¿Dónde está el baño? ¡Qué día tan bonito! El niño comió piña y jalapeño.",
    "Não sei o que dizer. Informação, coração, pão, mãe, avó.",
    "Żółć gęślą jaźń. Zażółć gęślą jaźń. Chrząszcz brzmi w trzcinie.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "İstanbul'da ılık bir gün. Iğdır, şeker, çiçek, ödül, güneş.",
    "Tiếng Việt có nhiều dấu: Hà Nội, Sài Gòn, người, được, những, quốc ngữ.",
    "Árvíztűrő tükörfúrógép. Íslenska: Þetta er ágætt, ég heiti Sigríður.",
    # --- Other scripts
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Γαζέες καὶ μυρτιὲς δὲν θὰ βρῶ πιὰ στὸ χρυσαφὶ ξέφωτο.",
    "مرحبا بالعالم! كيف حالك اليوم؟ اللغة العربية جميلة جدا.",
    "שלום עולם! מה שלומך? עברית נכתבת מימין לשמאל.",
    "नमस्ते दुनिया! आप कैसे हैं? हिन्दी भाषा देवनागरी लिपि में लिखी जाती है।",
    "আমি বাংলায় গান গাই। তোমার নাম কী?",
    "வணக்கம் உலகம்! தமிழ் ஒரு பழமையான மொழி.",
    "สวัสดีชาวโลก ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    "你好，世界！今天天气很好，我们去公园散步吧。中华人民共和国成立于1949年。",
    "繁體中文：臺灣、香港、澳門的書寫系統。龜、鬱、齉。",
    "日本語のテキスト：ひらがな、カタカナ、漢字が混ざっています。東京スカイツリー。",
    "한국어 문장입니다. 안녕하세요! 대한민국의 수도는 서울입니다.",
    "ქართული ენა ძალიან ლამაზია. Հայերենը հին լեզու է։",
    "ሰላም ለዓለም። ኢትዮጵያ በአፍሪካ ቀንድ ትገኛለች።",
    "ខ្ញុំស្រឡាញ់ភាសាខ្មែរ។ བོད་ཡིག་ནི་སྐད་ཡིག་ཞིག་རེད། ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ",
    "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ. ᐃᓄᒃᑎᑐᑦ. ꦧꦱꦗꦮ. ᜆᜄᜎᜓᜄ᜔.",
    "Mixed: English, русский, 中文, العربية, हिन्दी, 日本語, 한국어 in one line.",
    "RTL with numbers: العدد 12345 والتاريخ 2024-05-17 و email@example.com",
    # --- Code with indentation
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "int main(int argc, char** argv) {\n  for (int i = 0; i < argc; ++i) {\n    printf(\"%s\\n\", argv[i]);\n  }\n  return 0;\n}",
    "all: build\n\tgcc -O2 -Wall -o app main.c\n\n\tif [ -f x ]; then\n\t\techo ok\n\tfi\n",
    "{\n  \"name\": \"dllm\",\n  \"version\": \"0.1.0\",\n  \"tags\": [\"a\", \"b\"],\n  \"nested\": {\"x\": null, \"y\": true}\n}",
    "server:\n  port: 8080\n  hosts:\n    - alpha.example.com\n    - beta.example.com\n  tls: false",
    "<html>\n<body>\n<table>\n  <tr><td>cell</td><td>two</td></tr>\n</table>\n<div class=\"x\"><span>hi</span></div>\n</body>\n</html>",
    "SELECT id, name FROM users WHERE age >= 21 AND name LIKE '%son' ORDER BY id DESC;",
    "const f = (x) => x ** 2; // arrow\nlet s = `template ${f(3)}`;\n/* block\n   comment */",
    "fn main() { let v: Vec<u32> = (0..10).map(|x| x * x).collect(); println!(\"{:?}\", v); }",
    "#include <vector>\ntemplate <typename T>\nstd::vector<T> Twice(const std::vector<T>& v) {\n\treturn v;\n}",
    "    four spaces\n        eight spaces\n            twelve spaces\n\t\ttwo tabs\n \t mixed",
    "x = [1, 2, 3]\r\ny = {'a': 1}\r\nprint(x, y)\r\n",
    "if (a && b || !c) { x <<= 2; y >>= 1; z ^= ~w; } // ops: == != <= >= -> :: ... ?:",
    "| col1 | col2 |\n|------|------|\n| a    | b    |\n\n# Heading\n## Sub\n- item\n* item\n1. first",
    "$$\\int_0^\\infty e^{-x^2} dx = \\frac{\\sqrt{\\pi}}{2}$$ and \\(a^2 + b^2 = c^2\\)",
    # --- Whitespace and newline runs
    "two  spaces, three   spaces, four    spaces, eight        spaces.",
    "word" + " " * 31 + "after31" + " " * 32 + "after32" + " " * 40 + "after40",
    "\n",
    "\n\n",
    "\n\n\n",
    "a\nb\n\nc\n\n\nd\n\n\n\ne",
    "para one.\n\npara two.\n\n\n\n\n\npara three." + "\n" * 31 + "x" + "\n" * 32 + "y" + "\n" * 45 + "z",
    "\t",
    "\t\t\tthree tabs" + "\t" * 31 + "x" + "\t" * 33 + "y",
    "tab\tseparated\tvalues\t1\t2\t3",
    " \n \n  \n\t\n \t \n",
    "line with trailing spaces   \nnext line\t\t\nend",
    "\r\n\r\n\r",
    "\u00a0nbsp\u00a0and\u2003em\u2003space\u3000ideographic\u3000space\u200bzero\u200bwidth\ufeffbom",
    "vertical\x0btab and form\x0cfeed and\x1cfile separator",
    # --- Digits
    "0 1 2 3 4 5 6 7 8 9 10 11 12 99 100 101 999 1000 1001",
    "3.14159265358979323846264338327950288419716939937510",
    "1,234,567.89 and 1.234.567,89 and 1 234 567 and 12e-3 and 0x1F and 0b1010",
    "Call +1 (555) 123-4567 or 555.987.6543 on 2024-02-29 at 23:59:59.999Z.",
    "12345678901234567890123456789012345678901234567890",
    "٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹ ०१२३४५६७८९ 一二三四五六七八九十 ①②③ Ⅻ ½ ¾ ⁴²",
    # --- Emoji sequences
    "I love 🍕 and 🍣! 😀😃😄😁😆😅😂🤣",
    "Family: 👨‍👩‍👧‍👦 couple: 👩‍❤️‍💋‍👨 flags: 🇩🇪🇫🇷🇯🇵🇺🇸🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "Skin tones: 👋🏻👋🏼👋🏽👋🏾👋🏿 keycaps: 1️⃣ 2️⃣ #️⃣ *️⃣ ✌️ ❤️ ☺︎",
    "🧑‍💻 writes code, 🧑🏽‍🚀 flies, 🐕‍🦺 helps; 🏳️‍🌈 🏳️‍⚧️",
    # --- Combining marks and normalisation forms
    "e\u0301 vs \u00e9, a\u0308 vs \u00e4, n\u0303 vs \u00f1, A\u030a vs \u00c5",
    "Z\u0335\u0321\u0322a\u0336\u0327l\u0337\u0328g\u0338\u0339o\u0334\u033a text\u0361 with \u0489marks",
    "\u1100\u1161\u11a8 (decomposed Hangul) vs \uac01 (precomposed)",
    "ﬁ ﬂ ﬀ ligatures, ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３, ㎞ ㎏ ™ ℃ Ⅳ",
    "\u0915\u094d\u0937 \u0924\u094d\u0930 \u091c\u094d\u091e conjuncts; \u0e01\u0e34\u0e4a\u0e1a thai stacked",
    # --- Rare characters (byte fallback)
    "Linear B: 𐀀𐀁𐀂 Cuneiform: 𒀀𒀁𒀂 Hieroglyphs: 𓀀𓀁𓀂 Ugaritic: 𐎀𐎁",
    "Private use: \ue000\ue001\uf8ff and plane 15: \U000f0000\U000ffffd and plane 16: \U0010fffd",
    "Noncharacters: \ufdd0 \ufffe \uffff \U0001fffe and specials \ufff9\ufffa\ufffb \ufffc \ufffd",
    "CJK Ext B: 𠀀𠀁𠀂𪚥𪛖 Ext G: 𰀀𰀁 Tangut: 𗀀𗀁 Khitan: 𘬀",
    "Musical: 𝄞𝄢𝅘𝅥𝅮 Math alnum: 𝐀𝐁𝐂 𝔸𝔹ℂ 𝒜ℬ𝒞 Domino: 🀰🁀 Cards: 🂡🂱",
    "Controls: \x01\x02\x03\x07\x08\x1b[31mred\x1b[0m\x7f end",
    "NUL inside: a\x00b\x00\x00c",
    "Lone combining at start: \u0301\u0302abc and ZWJ alone \u200d and VS16 alone \ufe0f",
    # --- Special-token look-alikes (Gemma 4 strings are control tokens here)
    "<bos>",
    "<bos><eos><pad><unk><mask>",
    "Text with <bos> inside and <eos> at the end<eos>",
    "<|turn>user\nWhy is the sky blue?<turn|>\n<|turn>model\n<|channel>thought\n<channel|>",
    "<|turn>system\n<|think|>\nYou are helpful.<turn|>\n",
    "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}<tool_call|>",
    "<|tool_response>response:get_weather{temp:21}<tool_response|>",
    "<|tool>declaration:f{}<tool|>",
    "<|image> <|image|> <image|> <|turn <turn| |turn> turn|> <|turn|> <||turn> <<|turn>>",
    "<start_of_turn>user\nold Gemma 3 markers<end_of_turn>\n<start_of_image><end_of_image>",
    "<image_soft_token> is not a token in the Gemma 4 vocabulary",
    "<unused0> <unused1> <unused99> <unused6241> <unused6242> <unused-1> <unused>",
    "<table><tr><td>x</td></tr></table> <h1>T</h1> <b>bold</b> <i>it</i> <s>strike</s> </s>",
    "<code>x</code><sub>2</sub><sup>3</sup><a href=\"u\">link</a><img src=\"p.png\"><bbox>1 2</bbox>",
    "[multimodal] [MULTIMODAL] <mask> <MASK> <BOS> < bos > <bos <0x41> <0x0A> <0xZZ>",
    "\u2581literal lower one eighth block \u2581\u2581two \u2581\u2581\u2581three" + "\u2581" * 35 + "many",
    "\u2581\u2581",
    "\u2581",
    "<|channel>thought\nI should think.<channel|>The answer is 42.<turn|>",
    "<<bos>> <bos><bos> </bos> <eos/> <pad > <|pad|> <|\"|>quoted<|\"|>",
    # --- Other structured text
    "https://example.com/path/to/page?query=value&other=1#fragment and http://a.b/c",
    "user.name+tag@example.co.uk, admin@localhost, \"weird address\"@example.org",
    "SGVsbG8gV29ybGQhIFRoaXMgaXMgYmFzZTY0IGVuY29kZWQgdGV4dC4gaHR0cHM6Ly9leGFtcGxlLmNvbQ==",
    "0000000: 7f45 4c46 0201 0100 0000 0000 0000 0000  .ELF............",
    "∑_{i=1}^{n} i = n(n+1)/2; ∫∮∇∂ √2 ≈ 1.414 ≤ ≥ ≠ ± × ÷ ∞ ∈ ∉ ⊂ ⊆ ∪ ∩ ∀ ∃ ¬ ∧ ∨ ⇒ ⇔",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "=" * 80,
    "-" * 79 + "+",
    "." * 64,
    "!!!???!!!???...,,,;;;:::",
    "ababababababababababababababababababababababababab",
    "the the the the the the the the the the the the the",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "Donaudampfschifffahrtsgesellschaftskapitänswitwe",
    "supercalifragilisticexpialidocious" * 3,
    "ǅungla ǈjudi ǋoga ʼapostrophe ꞌsaltillo",
]


def paragraph(rng, words, n):
    out = []
    for i in range(n):
        w = rng.choice(words)
        if i == 0 or out[-1].endswith("."):
            w = w.capitalize()
        out.append(w + ("." if rng.random() < 0.08 else ("," if rng.random() < 0.05 else "")))
    return " ".join(out)


WORDS = ("the of and to in is was for that with as on by at from it this be are an or which "
         "model token language diffusion block canvas entropy sample step merge vocabulary "
         "text character byte fallback unicode script stream decode encode generation prompt "
         "answer thought system user turn channel sky blue light scattering wavelength "
         "Rayleigh molecules atmosphere shorter longer sun sunset red orange violet").split()

POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    " ",
    " \n\t",
    ".,;:!?'\"()[]{}<>/\\|-_+=*&^%$#@~`",
    "äöüßéèêàçñøåæœłńśźżčšžřěůőű",
    "абвгдежзийклмнопрстуфхцчшщъыьэюя",
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
    "あいうえおかきくけこアイウエオカキクケコ",
    "가나다라마바사아자차카타파하한국어",
    "😀🎉🔥👍🏽❤️‍🔥🇫🇷🧑‍💻",
    "\u0301\u0308\u0327\u200d\ufe0f",
    "\u2581",
    "𐀀𒀀𓀀\ue000\U0010fffd",
]


def random_line(rng):
    weights = [30, 12, 4, 8, 6, 5, 5, 4, 4, 3, 2, 1, 1]
    n = rng.randint(1, 200)
    out = []
    for _ in range(n):
        pool = rng.choices(POOLS, weights)[0]
        out.append(rng.choice(pool))
    return "".join(out)


def build():
    rng = random.Random(20240517)
    lines = list(HAND)
    # A ~5 KB paragraph (one line) and a multi-paragraph text.
    lines.append(paragraph(rng, WORDS, 850))
    lines.append("\n\n".join(paragraph(rng, WORDS, rng.randint(20, 80)) for _ in range(6)))
    lines.extend(random_line(rng) for _ in range(60))
    for s in lines:
        s.encode("utf-8")  # raises on surrogates: every line must be valid UTF-8
    return lines


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "../../tests/data/tokenizer/corpus.txt"))
    a = ap.parse_args()
    lines = build()
    textfmt.write_lines(a.out, lines)
    assert textfmt.read_lines(a.out) == lines
    print(f"{a.out}: {len(lines)} lines, {sum(len(s.encode()) for s in lines)} bytes")


if __name__ == "__main__":
    main()
