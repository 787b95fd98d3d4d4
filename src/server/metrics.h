// Prometheus text exposition (format 0.0.4) of the server's counters and histograms: requests by
// endpoint and status, prompt/completion/reasoning tokens, queue depth and active sequences,
// request latency and time to first token. No label ever holds request content.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/scheduler.h"

namespace radseek::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}
  void observe(double v);
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

struct RequestRecord {
  std::string endpoint;  // "/v1/chat/completions", ...
  int status = 200;
  int64_t prompt_tokens = 0, completion_tokens = 0, reasoning_tokens = 0, cached_tokens = 0;
  double latency_s = -1, ttft_s = -1;  // -1: not applicable
};

class Metrics {
 public:
  Metrics();
  void record(const RequestRecord& r);
  std::string render(const SchedulerStats& s, bool ready) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0, completion_tokens_ = 0, reasoning_tokens_ = 0, cached_tokens_ = 0;
  std::map<std::string, Histogram> latency_;
  Histogram ttft_;
};

}  // namespace radseek::server
