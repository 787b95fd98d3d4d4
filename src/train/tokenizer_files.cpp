#include "train/tokenizer_files.h"

#include <filesystem>
#include <fstream>

#include "format/hf_config.h"
#include "tokenizer/byte_level.h"

namespace radseek::train {
namespace {

using Json = nlohmann::json;

// DeepSeek-V3's three Split regexes (spec §4.1), in order: digit runs of up to three, CJK/kana runs,
// then the word/punctuation/space pattern. \r and \n are regex escapes here (the official file holds
// the literal characters; both mean the same to the regex engine).
constexpr std::string_view kDigits = R"re(\p{N}{1,3})re";
constexpr std::string_view kCjk = "[一-龥぀-ゟ゠-ヿ]+";
constexpr std::string_view kWords =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// DeepSeek-R1's template after the Feb 2025 update (no tool branches: radseek's models do not call
// tools); the generation prompt opens "<think>\n" and earlier answers drop their reasoning.
constexpr std::string_view kChatTemplate =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(is_first_sp=true, system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}"
    "{% set ns.is_first_sp = false %}"
    "{%- else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}"
    "{%- endif %}{%- endfor %}"
    "{{ bos_token }}{{ ns.system_prompt }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}"
    "{%- endfor %}"
    "{% if add_generation_prompt %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";

Json split_step(std::string_view regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", std::string(regex)}}}, {"behavior", "Isolated"}, {"invert", false}};
}

Json added_token_json(int32_t id, std::string_view content) {
  // Only BOS/EOS/pad are "special" (skipped by skip_special_tokens), as in DeepSeek's files (spec §4.1).
  return {{"id", id}, {"content", std::string(content)}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", id <= kPadId}};
}

Status write_json(const std::string& path, const Json& j) {
  std::ofstream f(path);
  f << j.dump(2) << "\n";
  if (!f) return make_error(ErrorCode::kIo, path + ": write failed");
  return {};
}

}  // namespace

Json tokenizer_json(const std::vector<MergeBytes>& merges) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b)
    vocab[tokenizer::bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = byte_token_id(static_cast<uint8_t>(b));
  Json merge_list = Json::array();
  int32_t next_id = kFirstMergeId;
  for (const MergeBytes& m : merges) {
    const std::string l = tokenizer::bytes_to_byte_level(m.left), r = tokenizer::bytes_to_byte_level(m.right);
    merge_list.push_back(Json::array({l, r}));
    if (!vocab.contains(l + r)) vocab[l + r] = next_id++;
  }
  Json added = Json::array();
  for (int32_t i = 0; i < kNumSpecialTokens; ++i) added.push_back(added_token_json(i, kSpecialTokens[i]));
  Json pre = Json::array({split_step(kDigits), split_step(kCjk), split_step(kWords),
                          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}});
  const Json bos_piece = {{"SpecialToken", {{"id", std::string(kBosText)}, {"type_id", 0}}}};
  const Json seq_piece = {{"Sequence", {{"id", "A"}, {"type_id", 0}}}};
  Json post = {{"type", "TemplateProcessing"},
               {"single", Json::array({bos_piece, seq_piece})},
               {"pair", Json::array({bos_piece, seq_piece, bos_piece, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
               {"special_tokens", {{std::string(kBosText), {{"id", std::string(kBosText)}, {"ids", {kBosId}}, {"tokens", {std::string(kBosText)}}}}}}};
  return Json{{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
              {"normalizer", {{"type", "Sequence"}, {"normalizers", Json::array()}}},
              {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", pre}}},
              {"post_processor", post},
              {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                         {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                         {"ignore_merges", false}, {"vocab", vocab}, {"merges", merge_list}}}};
}

Json tokenizer_config_json(int64_t model_max_length) {
  return Json{{"add_bos_token", true}, {"add_eos_token", false}, {"bos_token", std::string(kBosText)},
              {"eos_token", std::string(kEosText)}, {"pad_token", std::string(kPadText)},
              {"clean_up_tokenization_spaces", false}, {"legacy", true}, {"model_max_length", model_max_length},
              {"tokenizer_class", "LlamaTokenizerFast"}, {"unk_token", nullptr},
              {"chat_template", std::string(kChatTemplate)}};
}

Status write_tokenizer_files(const std::string& dir, const std::vector<MergeBytes>& merges, int64_t model_max_length) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, dir + ": cannot create folder: " + ec.message());
  RADSEEK_TRY(write_json(dir + "/tokenizer.json", tokenizer_json(merges)));
  return write_json(dir + "/tokenizer_config.json", tokenizer_config_json(model_max_length));
}

Status write_byte_level_tokenizer(const std::string& dir) {
  auto cfg = format::load_model_config(dir);
  if (!cfg) return cfg.error();
  if (cfg->vocab_size < kFirstMergeId)
    return make_error(ErrorCode::kInvalidArgument, dir + "/config.json: vocab_size " + std::to_string(cfg->vocab_size) +
                                                       " is smaller than a byte-level tokenizer's " +
                                                       std::to_string(kFirstMergeId) + " ids");
  return write_tokenizer_files(dir, {}, cfg->max_position_embeddings > 0 ? cfg->max_position_embeddings : 4096);
}

}  // namespace radseek::train
