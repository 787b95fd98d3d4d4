// POST /v1/radiology/classify: one report in, one `radseek classify` JSON record out.
// Request: {"id": "r1", "text": "...", "labels": "chexpert" | "chexpert13" | "chestxray14" | {label set},
//           "uncertain": "keep" | "positive" | "negative", "sections": ["impression", ...],
//           "engine": "rules"}
// Multiple choice: {"id", "text" (or "report"), "question", "options": {"A": "...", ...}} (no labels).
// Label sets are built-in names or inline JSON (the label-set file format); file paths are refused,
// so a client cannot make the server read its files.
#include "radiology/labels.h"
#include "radiology/record.h"
#include "radiology/text.h"
#include "server/routes.h"

namespace radseek::server {

using nlohmann::json;
namespace rad = radseek::radiology;

namespace {

struct ClassifyInput {
  rad::ReportRecord record;
  std::optional<rad::LabelSet> labels;  // empty: multiple choice
  rad::UncertainPolicy policy = rad::UncertainPolicy::kKeep;
  std::vector<std::string> sections;
};

std::variant<ClassifyInput, ApiError> parse_classify(const json& b) {
  if (!b.is_object()) return bad_request("", "the request body must be a JSON object");
  ClassifyInput in;
  const auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = b.find(k);
    return it != b.end() && it->is_string() ? std::optional(it->get<std::string>()) : std::nullopt;
  };
  for (const char* k : {"id", "text", "report", "question", "uncertain", "engine"})
    if (b.contains(k) && !b[k].is_string()) return bad_request(k, "expected a string");
  in.record.id = str("id").value_or("");
  in.record.where = "request";
  auto text = str("text") ? str("text") : str("report");
  if (!text || text->empty()) return bad_request("text", "required: the report text");
  in.record.text = *text;
  if (const std::string engine = str("engine").value_or("rules"); engine != "rules")
    return bad_request("engine", engine == "local" ? "the local-model backend is not available in this build; use rules"
                                                   : "'" + engine + "' is not one of rules");
  if (auto u = str("uncertain")) {
    auto p = rad::parse_uncertain_policy(*u);
    if (!p) return bad_request("uncertain", p.error().message);
    in.policy = *p;
  }
  if (b.contains("sections")) {
    if (!b["sections"].is_array()) return bad_request("sections", "expected an array of section names");
    for (const json& s : b["sections"]) {
      if (!s.is_string()) return bad_request("sections", "expected an array of section names");
      const std::string canon = rad::canonical_section(s.get<std::string>());
      in.sections.push_back(canon.empty() ? s.get<std::string>() : canon);
    }
  }
  if (b.contains("options")) {
    if (!b["options"].is_object() || b["options"].empty()) return bad_request("options", "expected an object {letter: text}");
    for (const auto& [letter, opt] : b["options"].items()) {
      if (!opt.is_string()) return bad_request("options." + letter, "expected a string");
      in.record.options.emplace_back(letter, opt.get<std::string>());
    }
    in.record.question = str("question").value_or("");
    return in;
  }
  const json labels = b.value("labels", json("chexpert"));
  Expected<rad::LabelSet> set = labels.is_object() ? rad::parse_label_set_json(labels.dump(), "labels")
                                : !labels.is_string() ? Expected<rad::LabelSet>(make_error(ErrorCode::kInvalidArgument, "expected a name or a label-set object"))
                                : (labels == "chexpert" || labels == "chexpert14" || labels == "chexpert13" || labels == "chestxray14")
                                    ? rad::resolve_label_set(labels.get<std::string>())
                                    : Expected<rad::LabelSet>(make_error(ErrorCode::kInvalidArgument,
                                          "'" + labels.get<std::string>() + "' is not one of chexpert, chexpert13, chestxray14 (or give the set inline)"));
  if (!set) return bad_request("labels", set.error().message);
  in.labels = std::move(*set);
  return in;
}

rad::ResultRecord run_backend(ServerState& s, const ClassifyInput& in) {
  rad::ResultRecord res{.id = in.record.id, .engine = s.rules->name()};
  const auto t0 = Clock::now();
  Expected<rad::BackendAnswer> ans = [&] {
    std::lock_guard lock(s.classify_mu);
    return in.labels ? s.rules->classify(rad::MultiLabelRequest{.report = &in.record, .labels = &*in.labels,
                                                                 .sections = &in.sections})
                     : s.rules->choose(rad::McRequest{.report = &in.record, .sections = &in.sections});
  }();
  res.timings.total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!ans) {
    res.error = ans.error().message;
    return res;
  }
  if (ans->labels) {
    for (rad::LabelValue& v : ans->labels->values) v = rad::apply_policy(v, in.policy);
    for (rad::Evidence& e : ans->labels->evidence) e.value = rad::apply_policy(e.value, in.policy);
  }
  res.labels = std::move(ans->labels);
  res.mc = std::move(ans->mc);
  res.reasoning = std::move(ans->reasoning);
  res.reasoning_tokens = ans->reasoning_tokens;
  return res;
}

}  // namespace

void handle_classify(ServerState& s, const httplib::Request& req, httplib::Response& res) {
  RequestContext ctx{.endpoint = "/v1/radiology/classify"};
  if (!admit_request(s, ctx, req, res, false)) return;
  auto body = parse_body(s, ctx, req, res);
  if (!body) return;
  auto parsed = parse_classify(*body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(s, ctx, req, res, *e);
  const ClassifyInput& in = std::get<ClassifyInput>(parsed);
  const rad::ResultRecord r = run_backend(s, in);
  res.set_content(dump_json(rad::result_to_json(r, in.labels ? &*in.labels : nullptr, in.record.text)), "application/json");
  record_request(s, ctx, req, nullptr, 200);
}

}  // namespace radseek::server
