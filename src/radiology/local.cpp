#include "radiology/local.h"

#include <algorithm>
#include <fstream>
#include <map>

#include "engine/chat.h"
#include "radiology/evidence.h"
#include "radiology/walk.h"
#include "tokenizer/stream_decoder.h"

namespace radseek::radiology {
namespace {

// Room for the answer beyond its shortest form: quotes and longer values.
constexpr int64_t kAnswerSlackTokens = 1024;

struct CaseRun {
  std::string reasoning;
  int64_t reasoning_tokens = 0;
  std::string reasoning_end;
  std::string answer;
  std::vector<engine::Decision> decisions;
  int64_t prompt_tokens = 0;
  int64_t answer_tokens = 0;
  int64_t drafted = 0, accepted = 0;
};

struct ReasoningPhase {
  std::vector<int32_t> ids;
  std::string text;
  std::string end;  // closed, eos, loop, budget, walk
  std::vector<engine::Decision> decisions;  // held to a format: the choices it made
  int64_t drafted = 0, accepted = 0;
};

class LocalBackend final : public ClassifierBackend {
 public:
  LocalBackend(std::unique_ptr<engine::Engine> e, LocalOptions o) : e_(std::move(e)), o_(std::move(o)) {}
  std::string name() const override { return "local"; }

  Expected<BackendAnswer> classify(const MultiLabelRequest& req) override {
    const std::string report = prompt_report_text(req.report->text, *req.sections);
    auto messages = build_multilabel_prompt(report, *req.labels, o_.family);
    if (!messages) return messages.error();
    const engine::LabelLinesArgs format = multilabel_format(*req.labels, report);
    const engine::FormatConstraint constraint = engine::label_lines(format);
    // The compact family reasons in a walk through the report: held to it, the quotes are verbatim.
    std::optional<engine::FormatConstraint> walk;
    if (o_.family == ModelFamily::kCompact && o_.guided_walk && o_.max_thinking_tokens > 0) {
      const WalkPlan plan = plan_walk(report);
      if (!plan.sentences.empty()) walk.emplace(walk_constraint(*req.labels, plan));
    }
    if (walk && o_.answer == AnswerSource::kWalk) return answer_from_walk(*messages, *walk, req);
    auto run = run_case(*messages, constraint, walk ? &*walk : nullptr);
    if (!run) return run.error();
    auto parsed = parse_multilabel_answer(run->answer, *req.labels);
    if (!parsed) return parsed.error().with_context("constrained answer (a radseek bug)");
    const std::vector<std::string> alternatives = engine::label_line_alternatives(format);
    std::vector<double> confidence;
    for (size_t i = 0; i < parsed->values.size(); ++i) {
      const auto p = engine::option_probabilities(run->decisions, run->answer, parsed->value_pos[i], alternatives);
      const size_t w = static_cast<size_t>(std::find(kValueOf.begin(), kValueOf.end(), parsed->values[i]) - kValueOf.begin());
      confidence.push_back(p[w]);
    }
    auto finder = evidence_finder(*req.labels);
    if (!finder) return finder.error();
    BackendAnswer a = base_answer(*run);
    a.labels = LabelOutput{.values = parsed->values,
                           .evidence = (*finder)->find(req.report->text, *req.sections, parsed->values, parsed->quotes),
                           .confidence = std::move(confidence)};
    return a;
  }

  // The labels the walk states (walk.h read_walk), with the model's probability of each deciding
  // verdict as the confidence; a label on no line gets the probability that no line named it.
  Expected<BackendAnswer> answer_from_walk(const std::vector<ChatMessage>& messages, const engine::TextConstraint& walk,
                                           const MultiLabelRequest& req) {
    auto prompt = prompt_ids(messages);
    if (!prompt) return prompt.error();
    engine::Session s(e_->model(), static_cast<int64_t>(prompt->size()) + o_.max_thinking_tokens + 16);
    auto ph = reason_held(s, *prompt, walk);
    if (!ph) return ph.error();
    const WalkReading read = read_walk(ph->text, *req.labels);
    const std::vector<std::string> verdicts = walk_verdicts(*req.labels);
    std::vector<double> confidence(read.values.size(), 1.0);
    for (size_t line = 0; line < read.line_verdict_pos.size(); ++line) {
      const size_t pos = read.line_verdict_pos[line];
      auto p = engine::option_probabilities(ph->decisions, ph->text, pos, verdicts);
      if (std::all_of(p.begin(), p.end(), [](double x) { return x == 0.0; })) {
        // A line whose verdict the format fixed (the impression's "No Finding: present"): the model's
        // choice was writing the line at all, against closing the walk there.
        // That decision is the last one recorded before the line; the model took the alternative the
        // text continues with.
        const size_t end = ph->text.find('\n', pos);
        double q = 0.0;
        for (auto d = ph->decisions.rbegin(); d != ph->decisions.rend(); ++d) {
          if (d->pos > read.line_start[line]) continue;
          const auto probs = engine::option_probabilities(ph->decisions, ph->text, d->pos, d->choices);
          for (size_t c = 0; c < d->choices.size(); ++c)
            if (ph->text.compare(d->pos, d->choices[c].size(), d->choices[c]) == 0) q = probs[c];
          break;
        }
        const std::string said = ph->text.substr(pos, end - pos);
        for (size_t k = 0; k < verdicts.size(); ++k) p[k] = verdicts[k] == said ? q : 0.0;
      }
      for (size_t i = 0; i < read.values.size(); ++i) {
        const std::string head = " " + req.labels->labels[i].name + ": ";
        double named = 0.0;
        for (size_t k = 0; k < verdicts.size(); ++k) {
          if (!verdicts[k].starts_with(head)) continue;
          named += p[k];
          if (pos == read.verdict_pos[i] && verdicts[k] == head + kValueWords[value_index(read.values[i])]) confidence[i] = p[k];
        }
        if (read.verdict_pos[i] == std::string::npos) confidence[i] *= 1.0 - named;
      }
    }
    auto finder = evidence_finder(*req.labels);
    if (!finder) return finder.error();
    BackendAnswer a;
    a.reasoning = ph->text;
    a.reasoning_tokens = static_cast<int64_t>(ph->ids.size());
    a.reasoning_end = ph->end;
    a.prompt_tokens = static_cast<int64_t>(prompt->size());
    a.answer_tokens = 0;
    a.drafted = ph->drafted;
    a.accepted = ph->accepted;
    a.labels = LabelOutput{.values = read.values,
                           .evidence = (*finder)->find(req.report->text, *req.sections, read.values, read.quotes),
                           .confidence = std::move(confidence)};
    return a;
  }

  static size_t value_index(LabelValue v) {
    return static_cast<size_t>(std::find(kValueOf.begin(), kValueOf.end(), v) - kValueOf.begin());
  }

  Expected<BackendAnswer> choose(const McRequest& req) override {
    if (req.report->options.size() < 2) return make_error(ErrorCode::kInvalidArgument, "multiple choice needs at least two options");
    const std::string report = prompt_report_text(req.report->text, *req.sections);
    const engine::FormatConstraint constraint = mc_constraint(*req.report, report);
    // The compact family walks the report here too, naming the options; the walk's last line picks
    // the letter and the answer block (constrained) repeats it with a quote.
    std::optional<engine::FormatConstraint> walk;
    if (o_.family == ModelFamily::kCompact && o_.guided_walk && o_.max_thinking_tokens > 0) {
      const WalkPlan plan = plan_walk(report);
      if (!plan.sentences.empty()) walk.emplace(mc_walk_constraint(req.report->options, plan));
    }
    auto run = run_case(build_mc_prompt(*req.report, report, o_.family), constraint, walk ? &*walk : nullptr);
    if (!run) return run.error();
    auto parsed = parse_mc_answer(run->answer, *req.report);
    if (!parsed) return parsed.error().with_context("constrained answer (a radseek bug)");
    std::vector<std::string> letters;
    for (const auto& o : req.report->options) letters.push_back(o.first);
    const auto p = engine::option_probabilities(run->decisions, run->answer, parsed->letter_pos, letters);
    if (!scorer_) {
      auto s = McScorer::create();
      if (!s) return s.error();
      scorer_ = std::make_unique<McScorer>(std::move(*s));
    }
    McOutput mc{.answer = parsed->letter, .confidence = 0, .evidence = {}, .scores = {}};
    for (size_t i = 0; i < letters.size(); ++i) {
      mc.scores.emplace_back(letters[i], p[i]);
      if (letters[i] == parsed->letter) mc.confidence = p[i];
    }
    mc.evidence = mc_evidence(*req.report, *req.sections, parsed->letter, parsed->quote, *scorer_);
    BackendAnswer a = base_answer(*run);
    a.mc = std::move(mc);
    return a;
  }

 private:
  static BackendAnswer base_answer(const CaseRun& r) {
    BackendAnswer a;
    a.reasoning = r.reasoning;
    a.reasoning_tokens = r.reasoning_tokens;
    a.reasoning_end = r.reasoning_end;
    a.prompt_tokens = r.prompt_tokens;
    a.answer_tokens = r.answer_tokens;
    a.drafted = r.drafted;
    a.accepted = r.accepted;
    return a;
  }

  Expected<const EvidenceFinder*> evidence_finder(const LabelSet& labels) {
    auto it = finders_.find(labels.name);
    if (it == finders_.end()) {
      auto f = EvidenceFinder::create(labels);
      if (!f) return f.error();
      it = finders_.emplace(labels.name, std::make_unique<EvidenceFinder>(std::move(*f))).first;
    }
    return it->second.get();
  }

  Expected<std::vector<int32_t>> encode(std::string_view text) const {
    return e_->tokenizer()->encode(text, tokenizer::EncodeOptions{.add_bos = false, .match_added_tokens = true});
  }

  Expected<std::vector<int32_t>> prompt_ids(const std::vector<ChatMessage>& messages) const {
    return local_prompt_ids(*e_, messages, o_.chat_template, o_.max_thinking_tokens > 0);
  }

  Expected<ReasoningPhase> reason(engine::Session& s, const std::vector<int32_t>& prompt) const {
    ReasoningPhase ph;
    tokenizer::StreamDecoder dec(*e_->tokenizer());
    LoopDetector loop(o_.loop);
    const std::vector<int32_t> eos = e_->eos_ids();
    std::string error;
    engine::GenerateParams g;
    g.max_new_tokens = o_.max_thinking_tokens;
    g.sampling = o_.sampling;
    g.logits_hook = [this](std::span<const int32_t>, float* logits) {
      for (int32_t id : e_->textless_ids()) logits[id] = -1e30f;
    };
    g.on_token = [&](int32_t id) {
      ph.ids.push_back(id);
      if (std::find(eos.begin(), eos.end(), id) != eos.end()) {
        ph.end = "eos";
        return false;
      }
      auto piece = dec.push(id);
      if (!piece) {
        error = piece.error().message;
        return false;
      }
      ph.text += *piece;
      if (ph.text.find("</think>") != std::string::npos) {
        ph.end = "closed";
        return false;
      }
      if (loop.push(id)) {
        ph.end = "loop";
        return false;
      }
      return true;
    };
    g.speculation = o_.speculation;
    auto r = e_->generate(s, prompt, g);
    if (!r) return r.error();
    ph.drafted = r->drafted;
    ph.accepted = r->accepted;
    if (!error.empty()) return make_error(ErrorCode::kInternal, "decoding the reasoning: " + error);
    if (ph.end.empty()) ph.end = "budget";
    return ph;
  }

  // The reasoning under a format (the walk): the decoder forces what the format fixes and picks the
  // model's most probable allowed token elsewhere; generation stops once the format is complete.
  Expected<ReasoningPhase> reason_held(engine::Session& s, const std::vector<int32_t>& prompt,
                                       const engine::TextConstraint& c) const {
    engine::ConstrainedDecoder dec({.constraint = &c,
                                    .tokenizer = e_->tokenizer(),
                                    .vocab_size = e_->model().config().vocab_size,
                                    .top_n = o_.top_n,
                                    .first_acceptable_only = true,
                                    .max_tokens = o_.max_thinking_tokens,
                                    .end_ids = {}});
    ReasoningPhase ph;
    engine::GenerateParams g;
    g.max_new_tokens = o_.max_thinking_tokens;
    g.sampling = engine::SamplingParams{.temperature = 0.0f, .seed = o_.sampling.seed};
    g.logits_hook = dec.hook();
    g.on_token = [&](int32_t id) {
      ph.ids.push_back(id);
      return dec.observe(id);
    };
    g.speculation = o_.speculation;
    auto r = e_->generate(s, prompt, g);
    if (!r) return r.error();
    ph.drafted = r->drafted;
    ph.accepted = r->accepted;
    ph.text = dec.text();
    ph.end = dec.complete() ? "walk" : "budget";
    ph.decisions = dec.decisions();
    return ph;
  }

  // The tokens that end the reasoning phase and lead into the answer (the last sampled token was
  // not fed to the cache yet).
  Expected<std::vector<int32_t>> answer_lead(const ReasoningPhase& ph) const {
    std::vector<int32_t> lead;
    if (ph.end != "eos" && !ph.ids.empty()) lead.push_back(ph.ids.back());
    if (ph.end == "closed") return lead;
    // The walk ends with its own line break (walk.h).
    auto close = encode(ph.end == "walk" ? "</think>\n\n" : "\n</think>\n\n");
    if (!close) return close.error();
    lead.insert(lead.end(), close->begin(), close->end());
    return lead;
  }

  // reasoning_format: hold the reasoning to this format (nullptr: free reasoning).
  Expected<CaseRun> run_case(const std::vector<ChatMessage>& messages, const engine::TextConstraint& c,
                             const engine::TextConstraint* reasoning_format = nullptr) {
    auto prompt = prompt_ids(messages);
    if (!prompt) return prompt.error();
    CaseRun run;
    run.prompt_tokens = static_cast<int64_t>(prompt->size());
    const int64_t answer_budget = static_cast<int64_t>(c.cheapest_completion("").size()) + kAnswerSlackTokens;
    const int64_t thinking = std::max<int64_t>(o_.max_thinking_tokens, 0);
    engine::Session s(e_->model(), run.prompt_tokens + thinking + answer_budget + 16);
    std::vector<int32_t> lead = *prompt;
    run.reasoning_end = "off";
    if (thinking > 0) {
      auto ph = reasoning_format ? reason_held(s, *prompt, *reasoning_format) : reason(s, *prompt);
      if (!ph) return ph.error();
      run.reasoning_end = ph->end;
      run.drafted = ph->drafted;
      run.accepted = ph->accepted;
      run.reasoning = ph->text.substr(0, ph->text.find("</think>"));
      run.reasoning_tokens = static_cast<int64_t>(ph->ids.size()) - (ph->end == "closed" || ph->end == "eos" ? 1 : 0);
      auto l = answer_lead(*ph);
      if (!l) return l.error();
      lead = std::move(*l);
    }
    engine::ConstrainedDecoder dec({.constraint = &c,
                                    .tokenizer = e_->tokenizer(),
                                    .vocab_size = e_->model().config().vocab_size,
                                    .top_n = o_.top_n,
                                    .first_acceptable_only = o_.answer_temperature <= 0.0f,
                                    .max_tokens = answer_budget,
                                    .end_ids = e_->eos_ids()});
    engine::GenerateParams g;
    g.max_new_tokens = answer_budget;
    g.sampling = engine::SamplingParams{.temperature = o_.answer_temperature, .seed = o_.sampling.seed};
    g.logits_hook = dec.hook();
    g.on_token = [&](int32_t id) { return dec.observe(id); };
    g.speculation = o_.speculation;
    auto r = e_->generate(s, lead, g);
    if (!r) return r.error();
    run.drafted += r->drafted;
    run.accepted += r->accepted;
    if (!dec.complete()) return make_error(ErrorCode::kInternal, "constrained answer incomplete (a radseek bug)");
    run.answer = dec.text();
    run.decisions = dec.decisions();
    run.answer_tokens = static_cast<int64_t>(r->ids.size());
    return run;
  }

  std::unique_ptr<engine::Engine> e_;
  LocalOptions o_;
  std::map<std::string, std::unique_ptr<EvidenceFinder>> finders_;
  std::unique_ptr<McScorer> scorer_;
};

}  // namespace

Expected<std::vector<int32_t>> local_prompt_ids(const engine::Engine& e, const std::vector<ChatMessage>& messages,
                                                std::optional<tokenizer::ChatTemplateKind> chat_template, bool thinking) {
  engine::ChatParams cp;
  cp.chat_template = chat_template;
  for (const ChatMessage& m : messages) cp.messages.push_back(tokenizer::ChatMessage{.role = m.role, .content = m.content});
  bool opened = false;
  auto ids = engine::encode_chat_prompt(e, cp, &opened);
  if (!ids) return ids.error();
  // Thinking: make sure the turn starts inside "<think>". No thinking: close an opened one at once.
  const char* tail = thinking ? (opened ? "" : "<think>\n") : (opened ? "\n</think>\n\n" : "");
  auto extra = e.tokenizer()->encode(tail, tokenizer::EncodeOptions{.add_bos = false, .match_added_tokens = true});
  if (!extra) return extra.error();
  ids->insert(ids->end(), extra->begin(), extra->end());
  return ids;
}

ModelFamily family_for_template(tokenizer::ChatTemplateKind kind) {
  switch (kind) {
    case tokenizer::ChatTemplateKind::kDeepSeekR1:
    case tokenizer::ChatTemplateKind::kDeepSeekR1Think:
    case tokenizer::ChatTemplateKind::kDeepSeekR1Distill:
    case tokenizer::ChatTemplateKind::kDeepSeekR1_0528:
      return ModelFamily::kR1;
    default:
      return ModelFamily::kGeneric;
  }
}

Expected<ModelFamily> family_for_model(const std::string& model_dir, tokenizer::ChatTemplateKind kind) {
  const std::string path = model_dir + "/config.json";
  std::ifstream in(path);
  const nlohmann::json cfg = in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
  if (!cfg.is_object() || !cfg.contains("radseek_prompt_family")) return family_for_template(kind);
  const nlohmann::json& f = cfg["radseek_prompt_family"];
  if (!f.is_string()) return make_error(ErrorCode::kParse, path + ": radseek_prompt_family: expected a string");
  auto family = parse_model_family(f.get<std::string>());
  if (!family) return make_error(ErrorCode::kParse, path + ": radseek_prompt_family: " + family.error().message);
  return family;
}

Expected<std::unique_ptr<ClassifierBackend>> make_local_backend(std::unique_ptr<engine::Engine> engine,
                                                                const LocalOptions& opts) {
  if (engine == nullptr) return make_error(ErrorCode::kInvalidArgument, "--engine local: no model loaded");
  if (engine->tokenizer() == nullptr) {
    return make_error(ErrorCode::kNotFound, engine->model().checkpoint().dir() +
                                                ": no tokenizer.json, which --engine local needs to read reports");
  }
  return std::unique_ptr<ClassifierBackend>(new LocalBackend(std::move(engine), opts));
}

}  // namespace radseek::radiology
