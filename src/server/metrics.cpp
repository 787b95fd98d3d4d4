#include "server/metrics.h"

#include <cstdio>

namespace radseek::server {

namespace {

// Seconds; LLM requests span milliseconds (errors, cached) to minutes (long reasoning).
std::vector<double> latency_bounds() { return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}; }

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t acc = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    acc += counts_[i];
    out += name + "_bucket{" + labels + sep + "le=\"" + num(bounds_[i]) + "\"} " + std::to_string(acc) + "\n";
  }
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + num(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics() : ttft_(latency_bounds()) {}

void Metrics::record(const RequestRecord& r) {
  std::lock_guard lock(mu_);
  ++requests_[{r.endpoint, r.status}];
  prompt_tokens_ += static_cast<uint64_t>(r.prompt_tokens);
  completion_tokens_ += static_cast<uint64_t>(r.completion_tokens);
  reasoning_tokens_ += static_cast<uint64_t>(r.reasoning_tokens);
  cached_tokens_ += static_cast<uint64_t>(r.cached_tokens);
  if (r.latency_s >= 0) latency_.try_emplace(r.endpoint, latency_bounds()).first->second.observe(r.latency_s);
  if (r.ttft_s >= 0) ttft_.observe(r.ttft_s);
}

std::string Metrics::render(const SchedulerStats& s, bool ready) const {
  std::lock_guard lock(mu_);
  std::string out;
  header(out, "radseek_ready", "gauge", "1 once the model is loaded and requests are served.");
  out += "radseek_ready " + std::string(ready ? "1" : "0") + "\n";
  header(out, "radseek_requests_total", "counter", "HTTP requests by endpoint and status code.");
  for (const auto& [key, n] : requests_)
    out += "radseek_requests_total{endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  const std::pair<const char*, uint64_t> tokens[] = {{"prompt", prompt_tokens_},
                                                     {"completion", completion_tokens_},
                                                     {"reasoning", reasoning_tokens_},
                                                     {"cached_prompt", cached_tokens_}};
  header(out, "radseek_tokens_total", "counter", "Tokens by kind (reasoning tokens are part of completion tokens).");
  for (const auto& [kind, n] : tokens) out += "radseek_tokens_total{kind=\"" + std::string(kind) + "\"} " + std::to_string(n) + "\n";
  header(out, "radseek_queue_depth", "gauge", "Requests waiting for a batch slot.");
  out += "radseek_queue_depth " + std::to_string(s.queued) + "\n";
  header(out, "radseek_active_sequences", "gauge", "Sequences in the running batch.");
  out += "radseek_active_sequences " + std::to_string(s.active) + "\n";
  header(out, "radseek_batch_steps_total", "counter", "Batched forward passes.");
  out += "radseek_batch_steps_total " + std::to_string(s.steps) + "\n";
  header(out, "radseek_batch_tokens_total", "counter", "Tokens fed through batched forward passes.");
  out += "radseek_batch_tokens_total " + std::to_string(s.step_tokens) + "\n";
  header(out, "radseek_prefix_cache_hits_total", "counter", "Prompts that reused a cached prefix.");
  out += "radseek_prefix_cache_hits_total " + std::to_string(s.prefix_hits) + "\n";
  header(out, "radseek_prefix_cache_tokens_total", "counter", "Prompt tokens copied from the prefix cache.");
  out += "radseek_prefix_cache_tokens_total " + std::to_string(s.prefix_tokens_reused) + "\n";
  header(out, "radseek_speculative_drafts_total", "counter", "MTP drafts verified (serve --speculative mtp).");
  out += "radseek_speculative_drafts_total " + std::to_string(s.drafted) + "\n";
  header(out, "radseek_speculative_accepted_total", "counter", "MTP drafts the main model agreed with.");
  out += "radseek_speculative_accepted_total " + std::to_string(s.accepted) + "\n";
  header(out, "radseek_request_duration_seconds", "histogram", "Request latency by endpoint.");
  for (const auto& [ep, h] : latency_) h.render(out, "radseek_request_duration_seconds", "endpoint=\"" + ep + "\"");
  header(out, "radseek_time_to_first_token_seconds", "histogram", "Time from request to its first generated token.");
  ttft_.render(out, "radseek_time_to_first_token_seconds", "");
  return out;
}

}  // namespace radseek::server
