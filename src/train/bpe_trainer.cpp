#include "train/bpe_trainer.h"

#include <fstream>
#include <queue>
#include <unordered_map>

#include "tokenizer/tokenizer_json.h"

namespace radseek::train {
namespace {

using PairKey = uint64_t;
PairKey pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }
int32_t key_left(PairKey k) { return static_cast<int32_t>(k >> 32); }
int32_t key_right(PairKey k) { return static_cast<int32_t>(k & 0xffffffffu); }

struct Word {
  std::vector<int32_t> symbols;  // current token ids of one distinct piece
  int64_t count = 0;             // occurrences in the corpus
};

// Heap entry; stale entries (count no longer current) are skipped or re-queued when popped.
struct Candidate {
  int64_t count;
  PairKey key;
  bool operator<(const Candidate& o) const { return count != o.count ? count < o.count : key > o.key; }
};

class Merger {
 public:
  explicit Merger(std::vector<Word> words) : words_(std::move(words)) {
    for (size_t w = 0; w < words_.size(); ++w) add_pairs(static_cast<int32_t>(w), +1);
    for (const auto& [k, c] : counts_) heap_.push({c, k});
  }

  // Best pair with at least min_count occurrences, or false when none is left.
  bool best(int64_t min_count, PairKey& out) {
    while (!heap_.empty()) {
      const Candidate top = heap_.top();
      heap_.pop();
      auto it = counts_.find(top.key);
      const int64_t now = it == counts_.end() ? 0 : it->second;
      if (now < min_count) continue;
      if (now != top.count) {
        heap_.push({now, top.key});
        continue;
      }
      out = top.key;
      return true;
    }
    return false;
  }

  // Replaces every (a, b) by `result` in the words that contain the pair.
  void merge(PairKey key, int32_t result) {
    const int32_t a = key_left(key), b = key_right(key);
    std::vector<int32_t> affected = std::move(where_[key]);
    where_.erase(key);
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    for (int32_t w : affected) {
      std::vector<int32_t>& s = words_[w].symbols;
      bool has = false;
      for (size_t i = 0; i + 1 < s.size() && !has; ++i) has = s[i] == a && s[i + 1] == b;
      if (!has) continue;
      add_pairs(w, -1);
      std::vector<int32_t> merged;
      merged.reserve(s.size());
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          merged.push_back(result);
          ++i;
        } else {
          merged.push_back(s[i]);
        }
      }
      s = std::move(merged);
      add_pairs(w, +1);
      for (size_t i = 0; i + 1 < s.size(); ++i)
        if (s[i] == result || s[i + 1] == result) heap_.push({counts_[pair_key(s[i], s[i + 1])], pair_key(s[i], s[i + 1])});
    }
    counts_.erase(key);
  }

 private:
  void add_pairs(int32_t w, int sign) {
    const Word& word = words_[w];
    for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const PairKey k = pair_key(word.symbols[i], word.symbols[i + 1]);
      counts_[k] += sign * word.count;
      if (sign > 0) where_[k].push_back(w);
    }
  }

  std::vector<Word> words_;
  std::unordered_map<PairKey, int64_t> counts_;
  std::unordered_map<PairKey, std::vector<int32_t>> where_;  // words holding the pair (may repeat)
  std::priority_queue<Candidate> heap_;
};

// Distinct pre-tokenized pieces with their counts, in first-seen order (deterministic).
Expected<std::vector<Word>> count_pieces(const std::vector<std::string>& texts, int64_t& total) {
  auto parts = tokenizer::parse_tokenizer_json(tokenizer_json({}).dump(), "tokenizer.json (trainer)");
  if (!parts) return parts.error();
  const tokenizer::AddedTokenMatcher specials(parts->added_tokens);
  std::unordered_map<std::string, int32_t> index;
  std::vector<Word> words;
  for (size_t t = 0; t < texts.size(); ++t) {
    for (const tokenizer::TextSegment& seg : specials.split(texts[t])) {
      if (seg.added_index >= 0) continue;
      auto pieces = parts->pre_tokenizer.split(seg.text);
      if (!pieces) return pieces.error().with_context("corpus text " + std::to_string(t));
      for (const std::string& p : *pieces) {
        ++total;
        auto [it, fresh] = index.emplace(p, static_cast<int32_t>(words.size()));
        if (fresh) {
          Word w;
          for (unsigned char c : p) w.symbols.push_back(byte_token_id(c));
          words.push_back(std::move(w));
        }
        words[it->second].count++;
      }
    }
  }
  return words;
}

void collect_strings(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) out.push_back(j.get<std::string>());
  else if (j.is_array() || j.is_object())
    for (const auto& v : j) collect_strings(v, out);
}

}  // namespace

Expected<BpeTrainResult> train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& o) {
  if (o.vocab_size < kFirstMergeId)
    return make_error(ErrorCode::kInvalidArgument, "vocab_size " + std::to_string(o.vocab_size) + " is below the " +
                                                       std::to_string(kFirstMergeId) + " special and byte tokens");
  BpeTrainResult r;
  auto words = count_pieces(texts, r.corpus_pieces);
  if (!words) return words.error();
  r.distinct_pieces = static_cast<int64_t>(words->size());
  std::vector<std::string> id_bytes(kFirstMergeId);
  for (int b = 0; b < 256; ++b) id_bytes[byte_token_id(static_cast<uint8_t>(b))] = std::string(1, static_cast<char>(b));
  std::unordered_map<std::string, int32_t> bytes_to_id;
  for (int32_t id = kFirstByteId; id < kFirstMergeId; ++id) bytes_to_id[id_bytes[id]] = id;
  Merger merger(std::move(*words));
  const int32_t wanted = o.vocab_size - kFirstMergeId;
  PairKey key = 0;
  while (static_cast<int32_t>(id_bytes.size()) < o.vocab_size && merger.best(o.min_frequency, key)) {
    const std::string& l = id_bytes[key_left(key)];
    const std::string& rr = id_bytes[key_right(key)];
    r.merges.push_back({l, rr});
    auto [it, fresh] = bytes_to_id.emplace(l + rr, static_cast<int32_t>(id_bytes.size()));
    if (fresh) id_bytes.push_back(l + rr);  // same bytes reached by another merge path reuse the id
    merger.merge(key, it->second);
    if (o.progress) o.progress(static_cast<int32_t>(id_bytes.size()) - kFirstMergeId, wanted);
  }
  return r;
}

Expected<std::vector<std::string>> read_corpus_texts(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot open corpus");
  const bool jsonl = path.ends_with(".jsonl") || path.ends_with(".json");
  std::vector<std::string> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!jsonl) {
      if (!line.empty()) out.push_back(line + "\n");
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return make_error(ErrorCode::kParse, path + ":" + std::to_string(n) + ": not valid JSON");
    collect_strings(j, out);
  }
  return out;
}

}  // namespace radseek::train
