#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace radseek::tokenizer {
namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof(buf));
  return reinterpret_cast<const char*>(buf);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* md) const { pcre2_match_data_free(md); }
};

// One piece of a split: a byte range of the parent piece, and whether the pattern matched it.
struct Segment {
  size_t begin;
  size_t end;
  bool is_match;
};

std::vector<Segment> segments_of(std::string_view piece,
                                 const std::vector<std::pair<size_t, size_t>>& matches, bool invert) {
  std::vector<Segment> segs;
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (b > prev) segs.push_back({prev, b, invert});
    segs.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < piece.size()) segs.push_back({prev, piece.size(), invert});
  return segs;
}

// Applies the delimiter behavior, following the HF definitions: a merged delimiter joins its
// neighbour only when that neighbour is not itself a delimiter.
std::vector<Segment> apply_behavior(std::vector<Segment> segs, SplitBehavior behavior) {
  std::vector<Segment> out;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      return segs;
    case SplitBehavior::kRemoved:
      for (const Segment& s : segs)
        if (!s.is_match) out.push_back(s);
      return out;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Segment& s : segs) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
        previous_match = s.is_match;
      }
      return out;
    }
    case SplitBehavior::kMergedWithNext: {
      bool next_match = false;
      for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
        if (it->is_match && !next_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back(*it);
        }
        next_match = it->is_match;
      }
      return {out.rbegin(), out.rend()};
    }
    case SplitBehavior::kContiguous:
      for (const Segment& s : segs) {
        if (!out.empty() && out.back().is_match && s.is_match) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
      }
      return out;
  }
  return segs;
}

}  // namespace

void Regex::CodeDeleter::operator()(void* code) const {
  pcre2_code_free(static_cast<pcre2_code*>(code));
}

Expected<Regex> Regex::compile(std::string_view pattern, Options options) {
  uint32_t flags = PCRE2_UTF | PCRE2_UCP;
  if (options.literal) flags |= PCRE2_LITERAL;
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   flags, &err, &err_offset, nullptr);
  if (code == nullptr) {
    return make_error(ErrorCode::kParse, "invalid regex at offset " + std::to_string(err_offset) +
                                             ": " + pcre2_message(err));
  }
  // JIT is an optimisation only; without it pcre2_match interprets the same pattern.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  Regex r;
  r.code_.reset(code);
  return r;
}

Status Regex::find_all(std::string_view subject,
                       std::vector<std::pair<size_t, size_t>>& out) const {
  auto* code = static_cast<const pcre2_code*>(code_.get());
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(
      pcre2_match_data_create_from_pattern(code, nullptr));
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t offset = 0;
  while (offset <= subject.size()) {
    const int rc = pcre2_match(code, s, subject.size(), offset, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return make_error(ErrorCode::kOutOfRange, "regex match failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    if (ov[1] > ov[0]) {
      out.emplace_back(ov[0], ov[1]);
      offset = ov[1];
      continue;
    }
    // Empty match: skip one whole character, as JS matchAll and Rust find_iter do.
    offset = ov[0] + 1;
    while (offset < subject.size() && (static_cast<uint8_t>(subject[offset]) & 0xC0) == 0x80) ++offset;
  }
  return {};
}

Expected<std::vector<std::string>> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string> pieces;
  if (!text.empty()) pieces.emplace_back(text);
  std::vector<std::pair<size_t, size_t>> matches;
  auto run = [&](const Regex& regex, SplitBehavior behavior, bool invert) -> Status {
    std::vector<std::string> next;
    for (const std::string& piece : pieces) {
      matches.clear();
      RADSEEK_TRY(regex.find_all(piece, matches));
      for (const Segment& s : apply_behavior(segments_of(piece, matches, invert), behavior)) {
        if (s.end > s.begin) next.emplace_back(piece.substr(s.begin, s.end - s.begin));
      }
    }
    pieces = std::move(next);
    return {};
  };
  for (const SplitStep& step : splits_) RADSEEK_TRY(run(step.regex, step.behavior, step.invert));
  if (byte_level_.add_prefix_space) {
    for (std::string& p : pieces)
      if (p.front() != ' ') p.insert(p.begin(), ' ');
  }
  if (byte_level_.use_regex) RADSEEK_TRY(run(*byte_level_.gpt2_regex, SplitBehavior::kIsolated, false));
  return pieces;
}

}  // namespace radseek::tokenizer
