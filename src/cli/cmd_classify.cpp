// radseek classify: label radiology reports (multi-label) or answer multiple-choice questions.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "radiology/batch.h"
#include "radiology/endpoint.h"

namespace radseek::cli {
namespace {

namespace rad = radseek::radiology;

struct ClassifyFlags {
  std::string engine = "rules";
  std::string model_dir;
  std::string labels = "chexpert";
  std::string input;
  std::string input_format = "auto";
  std::string output = "-";
  std::string output_format = "auto";
  std::string uncertain = "keep";
  std::string sections;
  bool mc = false;
  bool resume = false;
  bool progress = false;
  bool quiet = false;
  std::string endpoint;
  bool allow_remote = false;
  std::string api_key_env = "RADSEEK_API_KEY";
  std::string endpoint_model = "deepseek-r1";
  std::string family = "r1";
  int max_tokens = 4096;
  double temperature = 0.6;
};

// The one piece of process-wide state: async-signal-safe code may only touch a lock-free atomic,
// so the SIGINT flag cannot travel in a context object. It only ever goes false -> true.
std::atomic<bool>& interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}
extern "C" void on_sigint(int) { interrupt_flag().store(true); }

std::vector<std::string> split_sections(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const std::string canon = rad::canonical_section(item);
    out.push_back(canon.empty() ? item : canon);
  }
  return out;
}

Expected<std::unique_ptr<rad::ClassifierBackend>> make_backend(const ClassifyFlags& f) {
  if (f.engine == "rules") return rad::make_rules_backend();
  if (f.engine == "local") {
    return make_error(ErrorCode::kUnsupported,
                      "--engine local is not available yet: the local DeepSeek engine is still being built. "
                      "Use --engine rules, or --engine endpoint --endpoint http://127.0.0.1:PORT with a local server");
  }
  if (f.engine == "endpoint") {
    if (f.endpoint.empty()) return make_error(ErrorCode::kInvalidArgument, "--engine endpoint needs --endpoint URL");
    auto family = rad::parse_model_family(f.family);
    if (!family) return family.error();
    return rad::make_endpoint_backend(rad::EndpointOptions{.url = f.endpoint,
                                                           .model = f.endpoint_model,
                                                           .api_key_env = f.api_key_env,
                                                           .allow_remote = f.allow_remote,
                                                           .family = *family,
                                                           .temperature = f.temperature,
                                                           .top_p = 0.95,
                                                           .max_tokens = f.max_tokens,
                                                           .timeout_s = 300});
  }
  return make_error(ErrorCode::kInvalidArgument, "--engine: '" + f.engine + "' is not one of rules, local, endpoint");
}

int fail(const Error& e) {
  std::fprintf(stderr, "radseek classify: %s\n", e.message.c_str());
  return 1;
}

int run_classify(const ClassifyFlags& f) {
  auto policy = rad::parse_uncertain_policy(f.uncertain);
  if (!policy) return fail(policy.error());
  auto in_fmt = rad::parse_input_format(f.input_format);
  if (!in_fmt) return fail(in_fmt.error());
  auto out_fmt = rad::parse_output_format(f.output_format, f.output);
  if (!out_fmt) return fail(out_fmt.error());
  std::optional<rad::LabelSet> labels;
  if (!f.mc) {
    auto ls = rad::resolve_label_set(f.labels);
    if (!ls) return fail(ls.error());
    labels = std::move(*ls);
  }
  auto backend = make_backend(f);
  if (!backend) return fail(backend.error());
  std::unordered_set<std::string> done;
  if (f.resume) {
    auto ids = rad::completed_ids(f.output, *out_fmt);
    if (!ids) return fail(ids.error());
    done = std::move(*ids);
  }
  auto reader = rad::open_reader(rad::ReaderOptions{.path = f.input, .format = *in_fmt, .multiple_choice = f.mc});
  if (!reader) return fail(reader.error());
  auto writer = rad::open_writer(rad::WriterOptions{
      .path = f.output, .format = *out_fmt, .labels = labels ? &*labels : nullptr, .multiple_choice = f.mc});
  if (!writer) return fail(writer.error());
  std::signal(SIGINT, on_sigint);
  auto summary = rad::run_batch(rad::BatchOptions{.labels = labels ? &*labels : nullptr,
                                                  .multiple_choice = f.mc,
                                                  .policy = *policy,
                                                  .sections = split_sections(f.sections),
                                                  .progress = f.progress || isatty(STDERR_FILENO) != 0,
                                                  .skip_ids = f.resume ? &done : nullptr,
                                                  .stop = &interrupt_flag()},
                                **reader, **backend, **writer);
  std::signal(SIGINT, SIG_DFL);
  if (!summary) return fail(summary.error());
  if (!f.quiet) std::fputs(rad::format_summary(*summary, labels ? &*labels : nullptr).c_str(), stderr);
  return summary->interrupted ? 130 : 0;
}

}  // namespace

void register_classify(CLI::App& app) {
  auto f = std::make_shared<ClassifyFlags>();
  auto* cmd = app.add_subcommand("classify", "Classify radiology reports: a label set (multi-label) or multiple choice (--mc)");
  cmd->add_option("--engine", f->engine, "rules (rule labeler, default), local (-m DIR, not available yet), endpoint (--endpoint URL)")
      ->capture_default_str();
  cmd->add_option("-m,--model", f->model_dir, "Model directory for --engine local");
  cmd->add_option("--labels", f->labels, "chexpert (14), chexpert13, chestxray14, or a label-set JSON file")->capture_default_str();
  cmd->add_option("--input", f->input, "Reports: .txt, .jsonl (id,text), .csv (id,text or one headerless column), .hl7, FHIR .json; '-' = stdin")
      ->required();
  cmd->add_option("--input-format", f->input_format, "auto, text, jsonl, csv, hl7, fhir")->capture_default_str();
  cmd->add_option("--output", f->output, "Output file, appended and flushed per record ('-' = stdout)")->capture_default_str();
  cmd->add_option("--output-format", f->output_format, "auto (from extension), jsonl, csv (CheXpert 1/0/-1/blank), fhir (NDJSON DiagnosticReport)")
      ->capture_default_str();
  cmd->add_option("--uncertain", f->uncertain,
                  "Uncertain findings: keep (-1), positive (-1 -> 1, 'U-ones'), negative (-1 -> 0, 'U-zeros')")->capture_default_str();
  cmd->add_option("--sections", f->sections, "Sections to read, e.g. findings,impression (default: whole report)");
  cmd->add_flag("--mc", f->mc, "Multiple choice: input JSONL with id, report, options {letter: text}, optional question");
  cmd->add_flag("--resume", f->resume, "Skip ids already in --output (after an interrupted run)");
  cmd->add_flag("--progress", f->progress, "Progress bar on stderr even when it is not a terminal");
  cmd->add_flag("-q,--quiet", f->quiet, "No summary at the end");
  cmd->add_option("--endpoint", f->endpoint, "OpenAI-compatible server URL for --engine endpoint (loopback only unless --allow-remote)");
  cmd->add_flag("--allow-remote", f->allow_remote, "Allow a non-loopback --endpoint: report text will leave this machine");
  cmd->add_option("--api-key-env", f->api_key_env, "Environment variable holding the endpoint's API key")->capture_default_str();
  cmd->add_option("--endpoint-model", f->endpoint_model, "Model name sent to the endpoint")->capture_default_str();
  cmd->add_option("--family", f->family, "Prompt family: r1 (no system prompt) or generic")->capture_default_str();
  cmd->add_option("--max-tokens", f->max_tokens, "Endpoint completion budget")->capture_default_str();
  cmd->add_option("--temperature", f->temperature, "Endpoint sampling temperature")->capture_default_str();
  cmd->footer(
      "Examples:\n"
      "  radseek classify --engine rules --labels chestxray14 --input reports.csv --output out.jsonl\n"
      "  radseek classify --labels chexpert --input msgs.hl7 --output out.csv --uncertain positive\n"
      "  radseek classify --labels my_labels.json --input bundle.json --output out.ndjson --output-format fhir\n"
      "  radseek classify --mc --input questions.jsonl --output answers.jsonl\n"
      "  radseek classify --input big.jsonl --output out.jsonl --resume   # after Ctrl-C\n"
      "Output (JSONL): {\"id\", \"labels\": {label: 1|0|-1|null}, \"evidence\": [{label, value, start, end, text}],\n"
      "\"engine\", \"timings\"}; --mc: {\"id\", \"answer\": letter, \"scores\", \"evidence\"}. Malformed inputs become\n"
      "{\"id\", \"error\"} records and the run goes on. Report text is never logged.");
  cmd->callback([f] { std::exit(run_classify(*f)); });
}

}  // namespace radseek::cli
