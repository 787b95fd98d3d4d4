#include "train/data.h"

#include <algorithm>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "train/tokenizer_files.h"

namespace radseek::train {
namespace {

using Json = nlohmann::json;

// Calls fn(json, "file:line") for every non-empty line.
template <typename F>
Status for_each_line(const std::string& path, F fn) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot open");
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::kParse, where + ": not a JSON object");
    RADSEEK_TRY(fn(j, where));
  }
  return {};
}

Expected<Example> chat_example(const Json& j, const std::string& where, const tokenizer::Tokenizer& tok,
                               tokenizer::ChatTemplateKind kind, SftTargets targets) {
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
    return make_error(ErrorCode::kParse, where + ": messages: expected a non-empty array");
  std::vector<tokenizer::ChatMessage> msgs;
  for (const Json& m : j["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") || !m["content"].is_string())
      return make_error(ErrorCode::kParse, where + ": messages[]: expected {\"role\", \"content\"} strings");
    msgs.push_back({.role = m["role"].get<std::string>(), .content = m["content"].get<std::string>()});
  }
  if (msgs.back().role != "assistant") return make_error(ErrorCode::kParse, where + ": messages: the last message must be the assistant's");
  std::string answer = msgs.back().content;
  msgs.pop_back();
  const tokenizer::RenderOptions ro{};
  auto prompt = tokenizer::render_chat(kind, msgs, ro);
  if (!prompt) return prompt.error().with_context(where);
  if (tokenizer::prompt_opens_think(kind, ro)) {
    for (std::string_view opener : {"<think>\n", "<think>"})
      if (answer.starts_with(opener)) {
        answer = answer.substr(opener.size());
        break;
      }
  }
  // "</think>" is a special token, so cutting the text after it keeps the tokenization unchanged.
  const size_t close = answer.find("</think>");
  const size_t untrained = targets == SftTargets::kAnswer && close != std::string::npos ? close + 8 : 0;
  auto p = tok.encode(*prompt + answer.substr(0, untrained));
  auto a = tok.encode(answer.substr(untrained) + std::string(kEosText));
  if (!p) return p.error().with_context(where);
  if (!a) return a.error().with_context(where);
  Example ex;
  ex.tokens = *p;
  ex.tokens.insert(ex.tokens.end(), a->begin(), a->end());
  ex.predicted.assign(p->size(), 0);
  ex.predicted.resize(ex.tokens.size(), 1);
  return ex;
}

}  // namespace

Expected<std::vector<Example>> load_pretrain_data(const std::string& path, const tokenizer::Tokenizer& tok, int64_t seq_len) {
  std::vector<int32_t> stream;
  RADSEEK_TRY(for_each_line(path, [&](const Json& j, const std::string& where) -> Status {
    if (!j.contains("text") || !j["text"].is_string()) return make_error(ErrorCode::kParse, where + ": text: expected a string");
    auto ids = tok.encode(j["text"].get<std::string>(), {.add_bos = tok.bos_id().has_value()});
    if (!ids) return ids.error().with_context(where);
    stream.insert(stream.end(), ids->begin(), ids->end());
    if (tok.eos_id()) stream.push_back(*tok.eos_id());
    return {};
  }));
  std::vector<Example> out;
  for (size_t at = 0; at + static_cast<size_t>(seq_len) + 1 <= stream.size(); at += static_cast<size_t>(seq_len)) {
    Example ex{.tokens = std::vector<int32_t>(stream.begin() + at, stream.begin() + at + seq_len + 1), .predicted = {}};
    ex.predicted.assign(ex.tokens.size(), 1);
    ex.predicted[0] = 0;
    out.push_back(std::move(ex));
  }
  if (out.empty()) return make_error(ErrorCode::kInvalidArgument, path + ": fewer than seq_len + 1 = " + std::to_string(seq_len + 1) + " tokens");
  return out;
}

Expected<std::vector<Example>> load_sft_data(const std::string& path, const tokenizer::Tokenizer& tok, SftTargets targets) {
  auto kind = tokenizer::detect_chat_template(tok.chat_template());
  if (!kind) return kind.error();
  std::vector<Example> out;
  RADSEEK_TRY(for_each_line(path, [&](const Json& j, const std::string& where) -> Status {
    auto ex = chat_example(j, where, tok, *kind, targets);
    if (!ex) return ex.error();
    out.push_back(std::move(*ex));
    return {};
  }));
  if (out.empty()) return make_error(ErrorCode::kInvalidArgument, path + ": no examples");
  return out;
}

namespace {

// The epoch's order: a seeded shuffle, then each window of kSortWindow·B positions sorted by length,
// so a batch holds examples of similar length and is cut to its longest (SFT examples vary ~2×;
// padding every row to seq_len spent ~40% of a step on pad tokens). Windows start at multiples of B.
constexpr int64_t kSortWindow = 16;

std::vector<int64_t> epoch_order(const std::vector<Example>& data, uint64_t seed, int64_t epoch, int64_t B) {
  const int64_t n = static_cast<int64_t>(data.size());
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  const int64_t w = kSortWindow * B;
  for (int64_t at = 0; at < n; at += w) {
    std::stable_sort(order.begin() + at, order.begin() + std::min(n, at + w),
                     [&](int64_t a, int64_t b) { return data[a].tokens.size() < data[b].tokens.size(); });
  }
  return order;
}

}  // namespace

Batch make_batch(const std::vector<Example>& data, uint64_t seed, int64_t first, int64_t B, int64_t S, int32_t pad_id) {
  const int64_t n = static_cast<int64_t>(data.size());
  std::vector<const Example*> rows;
  std::vector<int64_t> order;
  int64_t epoch = -1;
  for (int64_t r = 0; r < B; ++r) {
    const int64_t pos = first + r;
    if (pos / n != epoch) {
      epoch = pos / n;
      order = epoch_order(data, seed, epoch, B);
    }
    rows.push_back(&data[order[pos % n]]);
  }
  int64_t longest = 1;  // tokens a row feeds: all but the last, at most S
  for (const Example* ex : rows) longest = std::max<int64_t>(longest, static_cast<int64_t>(ex->tokens.size()) - 1);
  S = std::min(S, longest);
  Batch b{.B = B, .S = S, .tokens = std::vector<int32_t>(B * S, pad_id), .targets = std::vector<int32_t>(B * S, -1)};
  for (int64_t r = 0; r < B; ++r) {
    const Example& ex = *rows[r];
    const int64_t len = std::min<int64_t>(static_cast<int64_t>(ex.tokens.size()), S + 1);
    for (int64_t i = 0; i < std::min(len, S); ++i) b.tokens[r * S + i] = ex.tokens[i];
    for (int64_t i = 0; i + 1 < len; ++i)
      if (ex.predicted[i + 1]) b.targets[r * S + i] = ex.tokens[i + 1];
  }
  return b;
}

}  // namespace radseek::train
