// radseek tokenize / detokenize: the model folder's tokenizer on its own. `tokenize` prints
// {"ids":[...]} on stdout, a contract an independent check reads (see README "Contracts").
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "cli/commands.h"
#include "engine/engine.h"
#include "tokenizer/tokenizer.h"

namespace radseek::cli {
namespace {

struct TokenizeFlags {
  std::string model_dir;
  std::string text;
  std::string file;
  bool bos = false;
  bool split_special = false;
  const CLI::Option* text_option = nullptr;  // to tell `--text ""` from no --text at all
};

struct DetokenizeFlags {
  std::string model_dir;
  std::string ids;
  bool skip_special = false;
  bool json_out = false;
};

// "1,2,3" -> ids (each must fit int32; out-of-vocabulary ids are the tokenizer's to report).
Expected<std::vector<int32_t>> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= s.size() && !s.empty()) {
    const size_t j = std::min(s.find(',', i), s.size());
    const std::string item = s.substr(i, j - i);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 0 || v > INT32_MAX)
      return make_error(ErrorCode::kInvalidArgument, "--ids: '" + item + "' is not a token id (expected e.g. 1,2,3)");
    ids.push_back(static_cast<int32_t>(v));
    i = j + 1;
  }
  if (ids.empty()) return make_error(ErrorCode::kInvalidArgument, "--ids: no ids given");
  return ids;
}

int fail(const char* command, const Error& e, int code) {
  std::fprintf(stderr, "radseek %s: %s\n", command, e.message.c_str());
  return code;
}

int run_tokenize(const TokenizeFlags& f) {
  const bool has_text = f.text_option != nullptr && f.text_option->count() > 0;
  if (has_text == !f.file.empty())
    return fail("tokenize", make_error(ErrorCode::kInvalidArgument, "give exactly one of --text and --file"), 2);
  std::string text = f.text;
  if (!f.file.empty()) {
    auto contents = read_text_file(f.file);
    if (!contents) return fail("tokenize", contents.error(), 1);
    text = std::move(*contents);
  }
  auto tok = engine::load_model_tokenizer(f.model_dir);
  if (!tok) return fail("tokenize", tok.error(), 1);
  auto ids = tok->encode(text, {.add_bos = f.bos, .match_added_tokens = !f.split_special});
  if (!ids) return fail("tokenize", ids.error(), 1);
  std::cout << nlohmann::json{{"ids", *ids}}.dump() << "\n";
  return 0;
}

int run_detokenize(const DetokenizeFlags& f) {
  auto ids = parse_ids(f.ids);
  if (!ids) return fail("detokenize", ids.error(), 2);
  auto tok = engine::load_model_tokenizer(f.model_dir);
  if (!tok) return fail("detokenize", tok.error(), 1);
  auto text = tok->decode(*ids, {.skip_special_tokens = f.skip_special});
  if (!text) return fail("detokenize", text.error(), 1);
  if (f.json_out) {
    std::cout << nlohmann::json{{"text", *text}}.dump() << "\n";
  } else {
    std::cout << *text << "\n";
  }
  return 0;
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto f = std::make_shared<TokenizeFlags>();
  auto* cmd = app.add_subcommand("tokenize", "Encode text with the model's tokenizer; prints {\"ids\":[...]}");
  cmd->add_option("-m,--model", f->model_dir, "Model folder with tokenizer.json (and tokenizer_config.json), or a .gguf file")->required();
  f->text_option = cmd->add_option("--text", f->text, "Text to encode");
  cmd->add_option("--file", f->file, "Read the text to encode from this file");
  cmd->add_flag("--bos", f->bos, "Prepend the BOS token (a rendered chat prompt already contains it)");
  cmd->add_flag("--split-special", f->split_special, "Encode special-token text such as <｜User｜> as plain text");
  cmd->footer("Example: radseek tokenize -m /models/DeepSeek-R1 --text \"3.2 x 1.5 cm nodule\"");
  cmd->callback([f] { std::exit(run_tokenize(*f)); });
}

void register_detokenize(CLI::App& app) {
  auto f = std::make_shared<DetokenizeFlags>();
  auto* cmd = app.add_subcommand("detokenize", "Decode token ids with the model's tokenizer and print the text");
  cmd->add_option("-m,--model", f->model_dir, "Model folder with tokenizer.json, or a .gguf file")->required();
  cmd->add_option("--ids", f->ids, "Comma-separated token ids, e.g. 0,17,42")->required();
  cmd->add_flag("--skip-special", f->skip_special, "Leave out tokens marked special (BOS, EOS, pad)");
  cmd->add_flag("--json", f->json_out, "Print {\"text\": ...} instead of the bare text");
  cmd->footer("Example: radseek detokenize -m /models/DeepSeek-R1 --ids 0,19923,14");
  cmd->callback([f] { std::exit(run_detokenize(*f)); });
}

}  // namespace radseek::cli
