#include "tokenizer/tokenizer_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"

namespace radseek::tokenizer {
namespace {

using Json = nlohmann::json;

// Errors name the file and the JSON field, e.g. "tokenizer.json: model.merges[7]: ...".
Error field_error(const std::string& file, const std::string& field, const std::string& what,
                  ErrorCode code = ErrorCode::kParse) {
  return make_error(code, file + ": " + field + ": " + what);
}

Expected<Json> parse_json(std::string_view text, const std::string& file) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(ErrorCode::kParse, file + ": not valid JSON");
  if (!j.is_object()) return make_error(ErrorCode::kParse, file + ": top level is not an object");
  return j;
}

bool bool_field(const Json& obj, const char* key, bool fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::string type_of(const Json& step) {
  auto it = step.find("type");
  return it != step.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status parse_normalizer(const Json& n, const std::string& file, const std::string& field,
                        std::vector<NormalizerKind>& out) {
  if (n.is_null()) return {};
  if (type_of(n) == "Sequence") {
    auto it = n.find("normalizers");
    if (it == n.end() || !it->is_array()) return field_error(file, field + ".normalizers", "expected an array");
    for (size_t i = 0; i < it->size(); ++i)
      RADSEEK_TRY(parse_normalizer((*it)[i], file, field + ".normalizers[" + std::to_string(i) + "]", out));
    return {};
  }
  if (type_of(n) == "NFC") {
    out.push_back(NormalizerKind::kNfc);
    return {};
  }
  return field_error(file, field, "normalizer type \"" + type_of(n) + "\" is not supported yet",
                     ErrorCode::kUnsupported);
}

Expected<SplitBehavior> parse_behavior(const Json& step, const std::string& file, const std::string& field) {
  const std::string b = step.value("behavior", std::string("Isolated"));
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  return field_error(file, field + ".behavior", "unknown split behavior \"" + b + "\"");
}

Expected<SplitStep> parse_split(const Json& step, const std::string& file, const std::string& field) {
  auto pat = step.find("pattern");
  if (pat == step.end() || !pat->is_object()) return field_error(file, field + ".pattern", "expected an object");
  const bool literal = pat->contains("String");
  const char* key = literal ? "String" : "Regex";
  auto src = pat->find(key);
  if (src == pat->end() || !src->is_string())
    return field_error(file, field + ".pattern", "expected a \"Regex\" or \"String\" entry");
  auto regex = Regex::compile(src->get<std::string>(), {.literal = literal});
  if (!regex) return field_error(file, field + ".pattern." + key, regex.error().message);
  auto behavior = parse_behavior(step, file, field);
  if (!behavior) return behavior.error();
  return SplitStep{.regex = std::move(*regex), .behavior = *behavior,
                   .invert = bool_field(step, "invert", false)};
}

Expected<ByteLevelStep> parse_byte_level(const Json& step) {
  ByteLevelStep bl{.add_prefix_space = bool_field(step, "add_prefix_space", false),
                   .use_regex = bool_field(step, "use_regex", true),
                   .gpt2_regex = nullptr};
  if (bl.use_regex) {
    auto r = Regex::compile(PreTokenizer::kGpt2Pattern, {});
    if (!r) return r.error();
    bl.gpt2_regex = std::make_unique<Regex>(std::move(*r));
  }
  return bl;
}

// Flattens nested Sequences into a list of (step, field path).
void flatten_steps(const Json& pt, const std::string& field, std::vector<std::pair<const Json*, std::string>>& out) {
  if (type_of(pt) == "Sequence" && pt.contains("pretokenizers") && pt["pretokenizers"].is_array()) {
    const Json& list = pt["pretokenizers"];
    for (size_t i = 0; i < list.size(); ++i)
      flatten_steps(list[i], field + ".pretokenizers[" + std::to_string(i) + "]", out);
    return;
  }
  out.emplace_back(&pt, field);
}

// Splits, then exactly one ByteLevel as the last step: the BPE model works on raw bytes.
Expected<PreTokenizer> parse_pre_tokenizer(const Json& root, const std::string& file) {
  std::vector<std::pair<const Json*, std::string>> steps;
  if (root.contains("pre_tokenizer") && !root["pre_tokenizer"].is_null())
    flatten_steps(root["pre_tokenizer"], "pre_tokenizer", steps);
  PreTokenizer pt;
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& [step, field] = steps[i];
    const std::string type = type_of(*step);
    if (type == "Split") {
      auto split = parse_split(*step, file, field);
      if (!split) return split.error();
      pt.add_split(std::move(*split));
    } else if (type == "ByteLevel" && i + 1 == steps.size()) {
      auto bl = parse_byte_level(*step);
      if (!bl) return field_error(file, field, bl.error().message);
      pt.set_byte_level(std::move(*bl));
      return pt;
    } else {
      const std::string why = type == "ByteLevel" ? "ByteLevel must be the last pre-tokenizer step"
                                                  : "pre-tokenizer type \"" + type + "\" is not supported";
      return field_error(file, field, why, ErrorCode::kUnsupported);
    }
  }
  return field_error(file, "pre_tokenizer", "a ByteLevel step is required (byte-level BPE only)",
                     ErrorCode::kUnsupported);
}

}  // namespace

namespace {

// Rejects BPE options that would change the result and that radseek does not implement.
Status check_bpe_options(const Json& model, const std::string& file) {
  const std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE") return field_error(file, "model.type", "model \"" + type + "\" is not supported (BPE only)", ErrorCode::kUnsupported);
  if (bool_field(model, "byte_fallback", false))
    return field_error(file, "model.byte_fallback", "byte fallback is not supported", ErrorCode::kUnsupported);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it != model.end() && it->is_string() && !it->get<std::string>().empty())
      return field_error(file, std::string("model.") + key, "is not supported", ErrorCode::kUnsupported);
  }
  auto dropout = model.find("dropout");
  if (dropout != model.end() && dropout->is_number() && dropout->get<double>() > 0.0)
    return field_error(file, "model.dropout", "BPE dropout is not supported", ErrorCode::kUnsupported);
  return {};
}

// Fills id_to_token / id_to_bytes from model.vocab; returns the surface form -> id map.
Expected<std::unordered_map<std::string, int32_t>> parse_vocab(const Json& model, const std::string& file) {
  auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object()) return field_error(file, "model.vocab", "expected an object");
  std::unordered_map<std::string, int32_t> token_to_id;
  token_to_id.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX)
      return field_error(file, "model.vocab[\"" + it.key() + "\"]", "expected a non-negative integer id");
    token_to_id.emplace(it.key(), static_cast<int32_t>(it.value().get<int64_t>()));
  }
  return token_to_id;
}

Expected<std::vector<BpeMerge>> parse_merges(const Json& model, const std::string& file,
                                             const std::unordered_map<std::string, int32_t>& vocab) {
  auto merges = model.find("merges");
  if (merges == model.end() || !merges->is_array()) return field_error(file, "model.merges", "expected an array");
  std::vector<BpeMerge> out;
  out.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const Json& m = (*merges)[i];
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    std::string left, right;
    if (m.is_string()) {  // "a b" (tokenizers < 0.20); byte-level tokens never contain a space
      const auto s = m.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        return field_error(file, field, "expected \"left right\", got \"" + s + "\"");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      return field_error(file, field, "expected a string or a pair of strings");
    }
    auto l = vocab.find(left), r = vocab.find(right), res = vocab.find(left + right);
    if (l == vocab.end() || r == vocab.end() || res == vocab.end())
      return field_error(file, field, "merge \"" + left + " " + right + "\" uses a token missing from model.vocab");
    out.push_back({l->second, r->second, res->second});
  }
  return out;
}

Expected<std::vector<AddedToken>> parse_added_tokens(const Json& root, const std::string& file) {
  std::vector<AddedToken> out;
  auto list = root.find("added_tokens");
  if (list == root.end() || list->is_null()) return out;
  if (!list->is_array()) return field_error(file, "added_tokens", "expected an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& t = (*list)[i];
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || t["id"].get<int64_t>() < 0 ||
        t["id"].get<int64_t>() > INT32_MAX || !t.contains("content") || !t["content"].is_string())
      return field_error(file, field, "expected an object with integer \"id\" and string \"content\"");
    if (bool_field(t, "single_word", false))
      return field_error(file, field + ".single_word", "single_word added tokens are not supported", ErrorCode::kUnsupported);
    out.push_back({.id = static_cast<int32_t>(t["id"].get<int64_t>()), .content = t["content"].get<std::string>(),
                   .special = bool_field(t, "special", false), .lstrip = bool_field(t, "lstrip", false),
                   .rstrip = bool_field(t, "rstrip", false)});
  }
  return out;
}

Status check_decoder(const Json& root, const std::string& file) {
  auto d = root.find("decoder");
  const bool ok = d != root.end() &&
                  (type_of(*d) == "ByteLevel" ||
                   (type_of(*d) == "Sequence" && d->contains("decoders") && (*d)["decoders"].is_array() &&
                    (*d)["decoders"].size() == 1 && type_of((*d)["decoders"][0]) == "ByteLevel"));
  if (ok) return {};
  return field_error(file, "decoder", "only the ByteLevel decoder is supported", ErrorCode::kUnsupported);
}

// Builds the id tables from the vocab and the added tokens (added tokens decode to their content).
void fill_id_tables(const std::unordered_map<std::string, int32_t>& vocab, const std::vector<AddedToken>& added,
                    TokenizerParts& parts, std::unordered_map<std::string, int32_t>& bytes_to_id) {
  int32_t max_id = -1;
  for (const auto& [tok, id] : vocab) max_id = std::max(max_id, id);
  for (const AddedToken& t : added) max_id = std::max(max_id, t.id);
  const size_t n = static_cast<size_t>(max_id + 1);
  parts.id_to_token.assign(n, std::string());
  parts.id_to_bytes.assign(n, std::string());
  parts.id_flags.assign(n, 0);
  for (const auto& [tok, id] : vocab) {
    auto bytes = byte_level_to_bytes(tok);
    if (bytes) bytes_to_id.emplace(*bytes, id);
    parts.id_to_token[id] = tok;
    parts.id_to_bytes[id] = bytes ? *bytes : tok;  // not byte-level: a literal token (HF does the same)
    parts.id_flags[id] = kIdPresent;
  }
  for (const AddedToken& t : added) {
    parts.id_to_token[t.id] = t.content;
    parts.id_to_bytes[t.id] = t.content;
    parts.id_flags[t.id] = static_cast<uint8_t>(kIdPresent | (t.special ? kIdSpecial : 0));
  }
}

Expected<TokenizerParts> parse_parts(std::string_view json_text, const std::string& file) {
  auto root = parse_json(json_text, file);
  if (!root) return root.error();
  TokenizerParts parts;
  RADSEEK_TRY(parse_normalizer(root->value("normalizer", Json()), file, "normalizer", parts.normalizers));
  auto pt = parse_pre_tokenizer(*root, file);
  if (!pt) return pt.error();
  parts.pre_tokenizer = std::move(*pt);
  RADSEEK_TRY(check_decoder(*root, file));
  auto model_it = root->find("model");
  if (model_it == root->end() || !model_it->is_object()) return field_error(file, "model", "expected an object");
  const Json& model = *model_it;
  RADSEEK_TRY(check_bpe_options(model, file));
  auto vocab = parse_vocab(model, file);
  if (!vocab) return vocab.error();
  auto merges = parse_merges(model, file, *vocab);
  if (!merges) return merges.error();
  auto added = parse_added_tokens(*root, file);
  if (!added) return added.error();
  BpeModel::Params params{.bytes_to_id = {}, .merges = std::move(*merges),
                          .ignore_merges = bool_field(model, "ignore_merges", false), .unk_id = std::nullopt};
  fill_id_tables(*vocab, *added, parts, params.bytes_to_id);
  if (auto unk = model.find("unk_token"); unk != model.end() && unk->is_string()) {
    auto id = vocab->find(unk->get<std::string>());
    if (id == vocab->end()) return field_error(file, "model.unk_token", "\"" + unk->get<std::string>() + "\" is not in model.vocab");
    params.unk_id = id->second;
  }
  parts.bpe = BpeModel(std::move(params));
  parts.added_tokens = std::move(*added);
  return parts;
}

}  // namespace

Expected<TokenizerParts> parse_tokenizer_json(std::string_view json_text, const std::string& file) {
  try {
    return parse_parts(json_text, file);
  } catch (const Json::exception& e) {  // a field of an unexpected JSON type deep inside a step
    return make_error(ErrorCode::kParse, file + ": " + e.what());
  }
}

namespace {

// A token in tokenizer_config.json is a string, an AddedToken object {"content": ...}, or null.
Expected<std::optional<std::string>> token_field(const Json& root, const char* key, const std::string& file) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return std::optional<std::string>((*it)["content"].get<std::string>());
  return field_error(file, key, "expected a string or an object with \"content\"");
}

Expected<TokenizerConfig> parse_config(std::string_view json_text, const std::string& file) {
  auto root = parse_json(json_text, file);
  if (!root) return root.error();
  TokenizerConfig cfg;
  auto bos = token_field(*root, "bos_token", file);
  if (!bos) return bos.error();
  auto eos = token_field(*root, "eos_token", file);
  if (!eos) return eos.error();
  cfg.bos_token = *bos;
  cfg.eos_token = *eos;
  cfg.add_bos_token = bool_field(*root, "add_bos_token", false);
  auto tmpl = root->find("chat_template");
  if (tmpl != root->end() && tmpl->is_string()) {
    cfg.chat_template = tmpl->get<std::string>();
  } else if (tmpl != root->end() && tmpl->is_array()) {
    // Named templates (transformers >= 4.43): the one named "default" is what apply_chat_template uses.
    for (const Json& t : *tmpl)
      if (t.is_object() && t.value("name", std::string()) == "default" && t.contains("template") && t["template"].is_string())
        cfg.chat_template = t["template"].get<std::string>();
  } else if (tmpl != root->end() && !tmpl->is_null()) {
    return field_error(file, "chat_template", "expected a string or a list of {name, template}");
  }
  return cfg;
}

}  // namespace

Expected<TokenizerConfig> parse_tokenizer_config(std::string_view json_text, const std::string& file) {
  try {
    return parse_config(json_text, file);
  } catch (const Json::exception& e) {
    return make_error(ErrorCode::kParse, file + ": " + e.what());
  }
}

}  // namespace radseek::tokenizer
