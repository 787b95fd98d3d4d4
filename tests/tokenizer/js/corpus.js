// Deterministic test corpus for the tokenizer: hand-picked edge cases plus >= 1,000 random mixes of
// clinical text, measurements, whitespace runs, scripts, emoji, code and special tokens.
"use strict";

// mulberry32: a tiny seeded PRNG, so every run produces the same corpus.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [
  "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>", "<｜User｜>", "<｜Assistant｜>",
  "<|EOT|>", "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>",
  "<｜tool▁outputs▁begin｜>", "<｜tool▁outputs▁end｜>", "<｜tool▁output▁begin｜>", "<｜tool▁output▁end｜>",
  "<｜tool▁sep｜>", "<｜fim▁hole｜>", "<｜fim▁begin｜>", "<｜fim▁end｜>", "<｜place▁holder▁no▁0｜>",
  "<｜place▁holder▁no▁798｜>", "<｜place▁holder▁no▁799｜>", "<think>", "</think>", "<think>\n",
  // near misses: must be tokenized as plain text
  "<｜User", "｜>", "<｜", "<|User|>", "<｜user｜>", "< think>", "</think", "<｜begin▁of▁sentence",
];

const CLINICAL = [
  "FINDINGS: There is a 3.2 x 1.5 cm hypoattenuating lesion in segment VII of the liver.",
  "IMPRESSION: No acute cardiopulmonary process.",
  "Heart size is normal. Lungs are clear without focal consolidation, effusion, or pneumothorax.",
  "Small left pleural effusion with adjacent atelectasis; cannot exclude pneumonia.",
  "Mild degenerative changes of the thoracic spine (T6-T9).",
  "Endotracheal tube terminates 4.5 cm above the carina. NG tube courses below the diaphragm.",
  "Comparison: CT chest 2023-11-04. Technique: PA and lateral views.",
  "No evidence of pulmonary embolism to the level of the subsegmental arteries.",
  "Ill-defined opacity RLL, ?aspiration vs. early pneumonia — clinical correlation recommended.",
  "s/p CABG with intact sternotomy wires; cardiomediastinal silhouette is stable.",
  "BI-RADS 4A: suspicious; biopsy should be considered.",
  "Estimated GFR <30 mL/min/1.73m²; contrast withheld.",
  "LVEF ~55–60%. PASP 35 mmHg. TAPSE 2.1cm.",
  "Nodule measuring 8mm (previously 6 mm), Lung-RADS 4A.",
  "The patient is a 67-year-old M with SOB & CP x3d.",
  "Negative for fracture/dislocation. Soft tissues unremarkable.",
  "Hounsfield units: -12 HU (fat-containing), consistent with angiomyolipoma.",
  "Kidneys: R 11.2 cm, L 10.8 cm; no hydronephrosis.",
  "Atelectasis. Cardiomegaly. Consolidation. Edema. Enlarged Cardiomediastinum. Fracture. Lung Lesion.",
  "Lung Opacity. No Finding. Pleural Effusion. Pleural Other. Pneumonia. Pneumothorax. Support Devices.",
];

const MEASURE = [
  "3.2 x 1.5 cm", "1.2x0.8x0.5cm", "12 mm", "0.5 mm", "10,000 IU", "37.5°C", "120/80 mmHg", "98.6 °F",
  "5 mg/kg", "2.5e-3", "1e10", "-0.75", "+3", "3/4", "50%", "±2 SD", "#4", "$1,234.56", "€12,50",
  "2024-01-15T08:30:00Z", "08:45", "v1.2.3", "IPv4 192.168.0.1", "Grade III/IV", "1234567890", "007",
];

const WHITESPACE = [
  " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", " \n", "\n ", " \t \n ",
  "    \n    ", "\u00a0", "\u3000", "\u2003", "\u2028", "\u000b", "\u000c", "\r",
];

const SCRIPTS = [
  "中文放射学报告：左肺下叶见结节影。", "肝脏大小形态正常", "日本語の読影レポート", "ひらがなとカタカナ、テスト",
  "ﾊﾝｶｸｶﾀｶﾅ", "한국어 영상의학 보고서", "Русский текст: без патологии.", "Ελληνικά: φυσιολογικό",
  "العربية: لا يوجد كسر", "עברית: ללא ממצאים", "हिन्दी रिपोर्ट", "ภาษาไทย ปกติ", "Tiếng Việt: bình thường",
  "㐀㐁 鿦鿧 𠀀𠀁", "一二三四五六七八九十", "ー〜・「」『』【】", "，。、！？：；（）",
];

const ACCENTS = [
  "café", "naïve", "Ångström", "façade", "São Paulo", "Zürich", "crème brûlée", "Dvořák", "Łódź",
  "e\u0301", "a\u0308o\u0308u\u0308", "n\u0303", "ﬁ ﬂ", "Ⅳ", "²³¹", "½¼", "µm", "Ω", "ß", "İstanbul",
];

const EMOJI = [
  "😀", "🫁", "🩻", "❤️", "👍🏽", "👨‍⚕️", "👩‍👩‍👧‍👦", "🇺🇸", "🇩🇪🇫🇷", "✅", "⚠️", "🔥🔥🔥", "☺", "🧠🦴",
  "1️⃣", "🏳️‍🌈",
];

const CODE = [
  "def f(x):\n    return x**2\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }", "const x = {a: 1, \"b\": [2, 3]};",
  "SELECT * FROM reports WHERE id = 42;", "<div class=\"x\">&amp;</div>", "{\"ids\": [1, 2, 3]}",
  "path/to/file.txt", "C:\\Users\\rad\\scan.dcm", "https://example.org/a?b=c&d=e#f", "user@example.com",
  "#include <vector>", "x += 1 // comment", "$ ls -la | grep .nii", "a_b-c.d", "__init__", "i++; j--;",
  "```json\n{\"x\": 1}\n```", "'s 't 're 've 'm 'll 'd", "don't won't it's", "!!!", "???", "...", "---", "***",
  "(a)", "[b]", "{c}", "<d>", "@@", "~~", "^^", "`code`", "\\n", "\\t", "''", "\"\"",
];

const WORDS = [
  "the", "lesion", "is", "not", "seen", "on", "prior", "imaging", "pneumothorax", "opacity", "left",
  "RIGHT", "Lung", "x", "a", "I", "mm", "cm", "CT", "MRI", "PET-CT", "T2-weighted", "FLAIR", "DWI",
  "hyperintense", "well-circumscribed", "2nd", "3rd", "x-ray", "X-Ray", "O'Brien", "l'hôpital",
];

function pick(r, list) {
  return list[Math.floor(r() * list.length)];
}

function randomNumber(r) {
  const digits = 1 + Math.floor(r() * 12);
  let s = "";
  for (let i = 0; i < digits; ++i) s += String(Math.floor(r() * 10));
  return s;
}

const CATEGORIES = [SPECIAL, CLINICAL, MEASURE, WHITESPACE, SCRIPTS, ACCENTS, EMOJI, CODE, WORDS];
const JOINERS = ["", " ", " ", " ", "\n", "  ", "\t", "\n\n", ", ", "\r\n", " \n "];

function randomText(r) {
  const n = 1 + Math.floor(r() * 8);
  let s = "";
  for (let i = 0; i < n; ++i) {
    if (i > 0) s += pick(r, JOINERS);
    s += r() < 0.1 ? randomNumber(r) : pick(r, pick(r, CATEGORIES));
  }
  return s;
}

function fixedTexts() {
  const texts = ["", "a", " ", "Hello, world!", "Hello world", " leading", "trailing ", "  both  "];
  for (const list of CATEGORIES) texts.push(...list);
  for (let d = 1; d <= 13; ++d) texts.push("1234567890123".slice(0, d));
  texts.push("12345 中文テスト 😀 café\t\t  \n\n x");
  texts.push("<｜User｜>What is 1+1?<｜Assistant｜><think>\nLet me think.</think>\n\n2<｜end▁of▁sentence｜>");
  texts.push("<｜begin▁of▁sentence｜><｜begin▁of▁sentence｜>x<｜end▁of▁sentence｜>");
  texts.push(CLINICAL.join("\n"));
  texts.push("word ".repeat(300));
  texts.push("a".repeat(1000));
  texts.push(" ".repeat(50) + "x" + "\n".repeat(20));
  texts.push("超长" + "的".repeat(200));
  texts.push("😀".repeat(40));
  return texts;
}

function build() {
  const r = rng(20250101);
  const texts = fixedTexts();
  for (let i = 0; i < 1200; ++i) texts.push(randomText(r));
  return texts;
}

// Texts for the R1 variant: those mentioning think tags, plus a slice of the rest.
function thinkTexts(texts) {
  return texts.filter((t, i) => t.includes("think>") || i % 5 === 0);
}

// Inputs for the NFC normalizer check: the corpus, its NFD and NFKD forms, and random sequences of
// bases and combining marks (scripts and marks that predate Unicode 14, the tables' version).
function nfcTexts(texts) {
  const r = rng(7);
  const bases = ["a", "e", "o", "u", "A", "C", "n", "s", "z", "α", "ω", "и", "е", "ᄀ", "ᄒ", "ᅡ", "ᅵ", "ᆨ", "ᆸ",
    "가", "힣", "क", "ड", "ଓ", "ே", " ", "1", "中"];
  const marks = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u030A", "\u0323", "\u0327", "\u0328",
    "\u0345", "\u0591", "\u05B0", "\u05BC", "\u093C", "\u0B3E", "\u0BBE", "\u0CD5", "\u1AB0", "\u20D0",
    "\u302A", "\u0F71", "\u0F72", "\u0344", "\u0340"];
  const out = [];
  for (const t of texts) out.push(t, t.normalize("NFD"), t.normalize("NFKD"));
  for (let i = 0; i < 1500; ++i) {
    let s = "";
    const n = 1 + Math.floor(r() * 6);
    for (let k = 0; k < n; ++k) s += r() < 0.45 ? pick(r, bases) : pick(r, marks);
    out.push(s);
  }
  out.push("\u212B", "\u2126", "\u0958", "\u1E0A\u0323", "\u1E0C\u0307", "\u00C5\u0301", "\u0F73", "ᄀ\u1161\u11A8");
  return out;
}

module.exports = { build, thinkTexts, nfcTexts };
