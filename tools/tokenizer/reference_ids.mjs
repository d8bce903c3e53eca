// Reference token ids from an independent implementation: @lenml/tokenizers (a dependency-free
// fork of transformers.js's tokenizers), with special-token parsing on (its default) and no
// BOS. One output line per corpus line: the ids separated by spaces.
//
//   node tools/tokenizer/reference_ids.mjs --tokenizer DIR --corpus corpus.txt --out ids.txt
//        [--modules tools/tokenizer/node_modules]
//
// DIR holds tokenizer.json and tokenizer_config.json (convert_tokenizer_json.py --patched-json
// writes the Gemma 4 ones). The corpus format is textfmt.py's (escaped lines).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const modules = path.resolve(args.modules ?? path.join(here, "node_modules"));
const require = createRequire(path.join(modules, "resolve.js"));
const { TokenizerLoader } = require("@lenml/tokenizers");

function unescape(s) {
  let out = "";
  for (let i = 0; i < s.length; ) {
    const c = s[i];
    if (c !== "\\") { out += c; i += 1; continue; }
    const n = s[i + 1];
    if (n === "x") { out += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16)); i += 4; continue; }
    out += { "\\": "\\", n: "\n", t: "\t", r: "\r", s: " " }[n];
    i += 2;
  }
  return out;
}

const dir = args.tokenizer;
const tokenizerJSON = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });

let text = fs.readFileSync(args.corpus, "utf8");
if (text.endsWith("\n")) text = text.slice(0, -1);
const lines = text.split("\n").map(unescape);
const t0 = Date.now();
const out = lines.map((line) => tok.encode(line, { add_special_tokens: false }).join(" "));
fs.writeFileSync(args.out, out.join("\n") + "\n");
console.log(`${args.out}: ${lines.length} lines, ${out.reduce((a, l) => a + (l ? l.split(" ").length : 0), 0)} ids (${Date.now() - t0} ms)`);
