// radseek classify: label radiology reports (multi-label) or answer multiple-choice questions.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>

#include "cli/bundled_model.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "engine/chat.h"
#include "radiology/batch.h"
#include "radiology/endpoint.h"
#include "radiology/local.h"

namespace radseek::cli {
namespace {

namespace rad = radseek::radiology;

struct ClassifyFlags {
  std::string engine = "auto";
  ModelFlags model;  // --engine local
  SamplingFlags sampling;
  std::string labels = "chexpert";
  std::string input;
  std::string input_format = "auto";
  std::string output = "-";
  std::string output_format = "auto";
  std::string uncertain = "keep";
  std::string sections;
  std::string reasoning = "full";
  bool mc = false;
  bool resume = false;
  bool progress = false;
  bool quiet = false;
  std::string endpoint;
  bool allow_remote = false;
  std::string api_key_env = "RADSEEK_API_KEY";
  std::string endpoint_model = "deepseek-r1";
  std::string family = "auto";
  std::string chat_template;
  int max_tokens = 4096;
  int concurrency = 1;
  int64_t max_thinking_tokens = 2048;
  int loop_ngram = 24;
  int loop_repeats = 4;
  float answer_temperature = 0.0f;
  int answer_candidates = 16;
  bool free_reasoning = false;
  std::string answer = "walk";
  std::string speculative = "none";
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

Expected<std::unique_ptr<rad::ClassifierBackend>> make_local(const ClassifyFlags& f) {
  std::optional<tokenizer::ChatTemplateKind> kind;
  if (!f.chat_template.empty()) {
    auto k = tokenizer::chat_template_from_name(f.chat_template);
    if (!k) return k.error();
    kind = *k;
  }
  auto eng = load_engine_or_report(f.model);
  if (!eng) return make_error(ErrorCode::kInvalidArgument, "cannot load the model in " + f.model.model_dir);
  auto resolved = engine::resolve_chat_template(*eng, kind);
  if (!resolved) return resolved.error();
  auto model_family = rad::family_for_model(f.model.model_dir, *resolved);
  if (!model_family) return model_family.error();
  rad::ModelFamily family = *model_family;
  if (f.family != "auto") {
    auto fam = rad::parse_model_family(f.family);
    if (!fam) return fam.error();
    family = *fam;
  }
  const engine::SamplingParams sampling = resolve_sampling(*eng, f.sampling);
  using Spec = engine::GenerateParams::Speculation;
  const Spec speculation = f.speculative == "mtp" ? Spec::kMtp : f.speculative == "ngram" ? Spec::kNgram : Spec::kNone;
  if (speculation == Spec::kMtp && !eng->has_mtp())
    return make_error(ErrorCode::kInvalidArgument, "--speculative mtp: " + f.model.model_dir + " has no MTP module (num_nextn_predict_layers)");
  return rad::make_local_backend(std::move(eng),
                                 rad::LocalOptions{.family = family,
                                                   .chat_template = kind,
                                                   .sampling = sampling,
                                                   .answer_temperature = f.answer_temperature,
                                                   .max_thinking_tokens = f.max_thinking_tokens,
                                                   .loop = {.ngram = f.loop_ngram, .repeats = f.loop_repeats},
                                                   .top_n = f.answer_candidates,
                                                   .guided_walk = !f.free_reasoning,
                                                   .answer = f.answer == "model" ? rad::AnswerSource::kModel
                                                                                 : rad::AnswerSource::kWalk,
                                                   .speculation = speculation});
}

// --engine auto: -m or --endpoint pick their engine; otherwise the bundled model when it is there,
// else the rule labeler (said on stderr, so a missing model never passes silently as model output).
Expected<std::string> resolve_engine(ClassifyFlags& f) {
  if (f.engine != "auto") return f.engine;
  if (!f.model.model_dir.empty()) return std::string("local");
  if (!f.endpoint.empty()) return std::string("endpoint");
  auto bundled = find_bundled_model();
  if (bundled) {
    f.model.model_dir = *bundled;
    return std::string("local");
  }
  std::fprintf(stderr, "radseek classify: %s; using the rule labeler (--engine rules)\n", bundled.error().message.c_str());
  return std::string("rules");
}

Expected<std::unique_ptr<rad::ClassifierBackend>> make_backend(ClassifyFlags& f) {
  auto engine = resolve_engine(f);
  if (!engine) return engine.error();
  f.engine = *engine;
  if (f.engine == "local" && f.model.model_dir.empty()) {
    auto bundled = find_bundled_model();
    if (!bundled) return make_error(ErrorCode::kInvalidArgument, "--engine local: " + bundled.error().message);
    f.model.model_dir = *bundled;
  }
  if (f.engine == "rules") return rad::make_rules_backend();
  if (f.engine == "local") return make_local(f);
  if (f.engine == "endpoint") {
    if (f.endpoint.empty()) return make_error(ErrorCode::kInvalidArgument, "--engine endpoint needs --endpoint URL");
    auto family = rad::parse_model_family(f.family == "auto" ? "r1" : f.family);
    if (!family) return family.error();
    return rad::make_endpoint_backend(rad::EndpointOptions{.url = f.endpoint,
                                                           .model = f.endpoint_model,
                                                           .api_key_env = f.api_key_env,
                                                           .allow_remote = f.allow_remote,
                                                           .family = *family,
                                                           .temperature = f.sampling.temperature.value_or(0.6f),
                                                           .top_p = f.sampling.top_p.value_or(0.95f),
                                                           .max_tokens = f.max_tokens,
                                                           .timeout_s = 300,
                                                           .concurrency = f.concurrency});
  }
  return make_error(ErrorCode::kInvalidArgument, "--engine: '" + f.engine + "' is not one of rules, local, endpoint");
}

// --reasoning full | omit | N (first N bytes).
Expected<int64_t> reasoning_limit(const std::string& s) {
  if (s == "full") return int64_t{-1};
  if (s == "omit") return int64_t{0};
  char* end = nullptr;
  const long long n = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || n < 0) {
    return make_error(ErrorCode::kInvalidArgument, "--reasoning: '" + s + "' is not full, omit or a byte count");
  }
  return static_cast<int64_t>(n);
}

int fail(const Error& e) {
  std::fprintf(stderr, "radseek classify: %s\n", e.message.c_str());
  return 1;
}

int run_classify(ClassifyFlags& f) {
  auto policy = rad::parse_uncertain_policy(f.uncertain);
  if (!policy) return fail(policy.error());
  auto in_fmt = rad::parse_input_format(f.input_format);
  if (!in_fmt) return fail(in_fmt.error());
  auto out_fmt = rad::parse_output_format(f.output_format, f.output);
  if (!out_fmt) return fail(out_fmt.error());
  auto reasoning = reasoning_limit(f.reasoning);
  if (!reasoning) return fail(reasoning.error());
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
                                                  .concurrency = f.concurrency,
                                                  .reasoning_max_chars = *reasoning,
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
  cmd->add_option("--engine", f->engine,
                  "auto (default: local with -m, endpoint with --endpoint, else the bundled model), local (-m DIR, "
                  "default the bundled model), rules (rule labeler), endpoint (--endpoint URL)")
      ->capture_default_str();
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
  cmd->add_option("--reasoning", f->reasoning, "Reasoning in the output: full, omit, or N (first N bytes)")->capture_default_str();
  // Local engine.
  cmd->add_option("-m,--model", f->model.model_dir,
                  "Model folder for --engine local (config.json, *.safetensors, tokenizer.json; default: the bundled "
                  "model models/radseek-mini, or $RADSEEK_MODEL)");
  cmd->add_option("-t,--threads", f->model.threads, "Local engine worker threads (default: all cores)");
  cmd->add_option("--precision", f->model.precision, "Local engine activations: f32 (exact) or bf16")
      ->check(CLI::IsMember({"f32", "bf16"}))->capture_default_str();
  cmd->add_option("--attention", f->model.attention, "MLA form: auto, absorbed or naive")
      ->check(CLI::IsMember({"auto", "absorbed", "naive"}))->capture_default_str();
  cmd->add_option("--isa", f->model.isa, "Cap the kernel instruction set: scalar, avx2, avx512, amx")
      ->check(CLI::IsMember({"scalar", "avx2", "avx512", "amx"}));
  cmd->add_flag("--mmap", f->model.mmap,
                "Local: map the weight files from the page cache instead of reading them into huge-page memory");
  cmd->add_option("--chat-template", f->chat_template, "Override the model's chat template: deepseek-v3, deepseek-r1, deepseek-r1-think, ...");
  cmd->add_option("--max-thinking-tokens", f->max_thinking_tokens,
                  "Local: reasoning budget; when reached, the reasoning is closed and the answer begins (0 = no reasoning)")
      ->capture_default_str();
  cmd->add_option("--loop-ngram", f->loop_ngram, "Local: a reasoning loop is N tokens repeated --loop-repeats times (0 = off)")
      ->capture_default_str();
  cmd->add_option("--loop-repeats", f->loop_repeats, "Local: occurrences of one n-gram that end the reasoning")->capture_default_str();
  cmd->add_option("--answer-temperature", f->answer_temperature,
                  "Local: sampling temperature of the constrained answer (0 = the most probable allowed answer)")
      ->capture_default_str();
  cmd->add_option("--answer-candidates", f->answer_candidates, "Local: best tokens checked against the answer format per step")
      ->capture_default_str();
  cmd->add_option("--answer", f->answer,
                  "Local, with the walk: walk (the labels are the model's sentence verdicts aggregated, present > "
                  "uncertain > absent, so they never contradict the reasoning) or model (the model then writes its "
                  "own constrained answer block)")
      ->check(CLI::IsMember({"walk", "model"}))->capture_default_str();
  cmd->add_option("--speculative", f->speculative,
                  "Local: none; mtp (the model's MTP module drafts the next token and the main model verifies it in "
                  "the same step; same output, the summary reports the acceptance rate); ngram (prompt lookup)")
      ->check(CLI::IsMember({"none", "mtp", "ngram"}))->capture_default_str();
  cmd->add_flag("--free-reasoning", f->free_reasoning,
                "Local, compact family (the bundled model), labels: let the model write its reasoning freely instead "
                "of holding it to the walk through the report (each sentence quoted verbatim, in order)");
  add_sampling_flags(*cmd, f->sampling);
  // Endpoint.
  cmd->add_option("--endpoint", f->endpoint, "OpenAI-compatible server URL for --engine endpoint (loopback only unless --allow-remote)");
  cmd->add_flag("--allow-remote", f->allow_remote, "Allow a non-loopback --endpoint: report text will leave this machine");
  cmd->add_option("--api-key-env", f->api_key_env, "Environment variable holding the endpoint's API key")->capture_default_str();
  cmd->add_option("--endpoint-model", f->endpoint_model, "Model name sent to the endpoint")->capture_default_str();
  cmd->add_option("--concurrency", f->concurrency, "Endpoint: requests in flight at once")->capture_default_str();
  cmd->add_option("--family", f->family,
                  "Prompt family: r1 (no system prompt, no examples), generic (system prompt + one example) or compact "
                  "(short instructions, for models trained on them); auto = the model's config.json "
                  "radseek_prompt_family, else from the chat template (local), or r1 (endpoint)")->capture_default_str();
  cmd->add_option("--max-tokens", f->max_tokens, "Endpoint completion budget")->capture_default_str();
  cmd->footer(
      "Examples:\n"
      "  radseek classify --input examples/reports.jsonl              # the bundled model, CheXpert labels\n"
      "  radseek classify --mc --input examples/mc_questions.jsonl    # the bundled model, multiple choice\n"
      "  radseek classify --engine rules --labels chestxray14 --input reports.csv --output out.jsonl\n"
      "  radseek classify --labels chexpert --input msgs.hl7 --output out.csv --uncertain positive\n"
      "  radseek classify --labels my_labels.json --input bundle.json --output out.ndjson --output-format fhir\n"
      "  radseek classify --mc --input questions.jsonl --output answers.jsonl\n"
      "  radseek classify --input big.jsonl --output out.jsonl --resume   # after Ctrl-C\n"
      "  radseek classify --engine local -m /models/DeepSeek-R1 --labels chexpert13 --input reports.jsonl \\\n"
      "      --output out.jsonl --max-thinking-tokens 1024 --sections findings,impression\n"
      "  radseek classify --engine local -m /models/DeepSeek-V3 --mc --input questions.jsonl --output mc.jsonl \\\n"
      "      --max-thinking-tokens 0\n"
      "  radseek classify --engine endpoint --endpoint http://127.0.0.1:8080 --concurrency 4 --input r.jsonl --output o.jsonl\n"
      "Output (JSONL): {\"id\", \"labels\": {label: 1|0|-1|null}, \"evidence\": [{label, value, start, end, text, mention}],\n"
      "\"engine\", \"timings\"}; --mc: {\"id\", \"answer\": letter, \"scores\", \"evidence\"}. LLM engines add \"reasoning\",\n"
      "\"reasoning_tokens\", \"reasoning_end\" (closed|budget|loop|eos|walk|off), \"prompt_tokens\", \"answer_tokens\";\n"
      "--engine local adds \"confidence\": the model's probability of each answer among the allowed ones. The local\n"
      "answer is constrained to the format, so it always parses. Malformed inputs become {\"id\", \"error\"} records\n"
      "and the run goes on. Report text is never logged.");
  cmd->callback([f] { std::exit(run_classify(*f)); });
}

}  // namespace radseek::cli
