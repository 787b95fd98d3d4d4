#include "tokenizer/nfc.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tokenizer/nfc_tables.h"
#include "tokenizer/utf8.h"

namespace radseek::tokenizer {
namespace {

// Hangul syllables are composed and decomposed arithmetically (Unicode §3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount;
constexpr uint32_t kSCount = kLCount * kNCount;

uint32_t combining_class(uint32_t cp) {
  if (cp < 0x300) return 0;
  const nfc::CccRange* end = nfc::kCombiningClasses + nfc::kCombiningClassesSize;
  const nfc::CccRange* it =
      std::upper_bound(nfc::kCombiningClasses, end, cp, [](uint32_t c, const nfc::CccRange& r) { return c < r.first; });
  if (it == nfc::kCombiningClasses) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const nfc::Decomposition* end = nfc::kDecompositions + nfc::kDecompositionsSize;
  const nfc::Decomposition* it = std::lower_bound(nfc::kDecompositions, end, cp,
                                                  [](const nfc::Decomposition& d, uint32_t c) { return d.cp < c; });
  if (it == end || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  decompose(it->first, out);
  if (it->second != 0) decompose(it->second, out);
}

// The primary composite of a pair, or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const nfc::Composite* end = nfc::kComposites + nfc::kCompositesSize;
  const nfc::Composite* it = std::lower_bound(nfc::kComposites, end, std::make_pair(a, b),
                                              [](const nfc::Composite& c, const std::pair<uint32_t, uint32_t>& k) {
                                                return c.first != k.first ? c.first < k.first : c.second < k.second;
                                              });
  return it != end && it->first == a && it->second == b ? it->cp : 0;
}

// Canonical ordering: each run of non-starters sorted by combining class, stably.
void canonical_order(std::vector<uint32_t>& cps) {
  size_t i = 0;
  while (i < cps.size()) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [](uint32_t x, uint32_t y) { return combining_class(x) < combining_class(y); });
    i = j;
  }
}

// Canonical composition: a character joins the last starter unless a character in between blocks it
// (one with combining class 0, or not lower than its own).
std::vector<uint32_t> canonical_compose(const std::vector<uint32_t>& cps) {
  std::vector<uint32_t> out;
  out.reserve(cps.size());
  ptrdiff_t starter = -1;
  int last_cc = -1;  // combining class of the last character kept after the starter; -1: none
  for (uint32_t cp : cps) {
    const int cc = static_cast<int>(combining_class(cp));
    if (starter >= 0 && (last_cc == -1 || (last_cc != 0 && last_cc < cc))) {
      if (const uint32_t c = compose(out[starter], cp)) {
        out[starter] = c;
        continue;
      }
    }
    if (cc == 0) {
      starter = static_cast<ptrdiff_t>(out.size());
      last_cc = -1;
    } else {
      last_cc = cc;
    }
    out.push_back(cp);
  }
  return out;
}

}  // namespace

std::string nfc_normalize(std::string_view text) {
  // Code points below U+0300 are all NFC and never combine with what precedes them; their UTF-8
  // bytes are all below 0xCC, so such text is returned as is.
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<uint8_t>(c) < 0xCC; }))
    return std::string(text);
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) decompose(next_code_point(text, pos), cps);
  canonical_order(cps);
  std::string out;
  out.reserve(text.size());
  for (uint32_t cp : canonical_compose(cps)) append_utf8(out, cp);
  return out;
}

}  // namespace radseek::tokenizer
