#include "radiology/batch.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <future>
#include <memory>
#include <sstream>

#include "base/timer.h"

namespace radseek::radiology {
namespace {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  ~ProgressBar() {
    if (drawn_) std::fputc('\n', stderr);
  }
  void update(int64_t done, double fraction, bool force) {
    if (!enabled_) return;
    const double now = clock_.seconds();
    if (!force && now - last_ < 0.2) return;
    last_ = now;
    drawn_ = true;
    const double rate = now > 0 ? static_cast<double>(done) / now : 0.0;
    constexpr int kWidth = 28;
    char bar[kWidth + 1];
    const int filled = fraction >= 0 ? static_cast<int>(std::round(std::min(1.0, fraction) * kWidth)) : 0;
    for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = '\0';
    if (fraction > 0.0 && fraction < 1.0) {
      const double eta = now / fraction - now;
      std::fprintf(stderr, "\r[%s] %5.1f%% %lld reports %.1f/s ETA %d:%02d   ", bar, fraction * 100.0,
                   static_cast<long long>(done), rate, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    } else {
      std::fprintf(stderr, "\r[%s] %lld reports %.1f/s   ", bar, static_cast<long long>(done), rate);
    }
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  Timer clock_;
  double last_ = -1.0;
};

ResultRecord classify_one(const BatchOptions& opts, const ReportRecord& rec, ClassifierBackend& backend) {
  ResultRecord res;
  res.id = rec.id;
  res.engine = backend.name();
  if (rec.error) {
    res.error = *rec.error;
    return res;
  }
  Timer t;
  Expected<BackendAnswer> ans = opts.multiple_choice
                                    ? backend.choose(McRequest{.report = &rec, .sections = &opts.sections})
                                    : backend.classify(MultiLabelRequest{
                                          .report = &rec, .labels = opts.labels, .sections = &opts.sections});
  res.timings.total_ms = t.seconds() * 1000.0;
  if (!ans) {
    res.error = rec.where + ": " + ans.error().message;
    return res;
  }
  if (ans->labels) {
    for (LabelValue& v : ans->labels->values) v = apply_policy(v, opts.policy);
    for (Evidence& e : ans->labels->evidence) e.value = apply_policy(e.value, opts.policy);
  }
  res.labels = std::move(ans->labels);
  res.mc = std::move(ans->mc);
  res.reasoning = std::move(ans->reasoning);
  if (opts.reasoning_max_chars >= 0 && static_cast<int64_t>(res.reasoning.size()) > opts.reasoning_max_chars) {
    res.reasoning.resize(static_cast<size_t>(opts.reasoning_max_chars));
  }
  res.reasoning_tokens = ans->reasoning_tokens;
  res.reasoning_end = std::move(ans->reasoning_end);
  res.prompt_tokens = ans->prompt_tokens;
  res.answer_tokens = ans->answer_tokens;
  res.drafted = ans->drafted;
  res.accepted = ans->accepted;
  return res;
}

void count(const ResultRecord& res, BatchSummary& s) {
  ++s.written;
  s.backend_seconds += res.timings.total_ms / 1000.0;
  s.drafted += res.drafted;
  s.accepted += res.accepted;
  if (res.error) ++s.errors;
  if (!res.labels) return;
  for (size_t i = 0; i < res.labels->values.size() && i < s.positives.size(); ++i) {
    s.positives[i] += res.labels->values[i] == LabelValue::kPositive ? 1 : 0;
    s.uncertain[i] += res.labels->values[i] == LabelValue::kUncertain ? 1 : 0;
  }
}

// A record being classified; results are written in input order.
struct InFlight {
  std::shared_ptr<const ReportRecord> rec;
  std::future<ResultRecord> result;
};


}  // namespace

Expected<BatchSummary> run_batch(const BatchOptions& opts, ReportReader& in, ClassifierBackend& backend,
                                 ResultWriter& out) {
  BatchSummary s;
  if (opts.labels != nullptr) {
    s.positives.assign(opts.labels->labels.size(), 0);
    s.uncertain.assign(opts.labels->labels.size(), 0);
  }
  // One record at a time runs on this thread (deferred); more run on their own threads, which is
  // what a remote server handling N requests needs.
  const int width = std::max(1, std::min(opts.concurrency, backend.max_concurrency()));
  const auto policy = width == 1 ? std::launch::deferred : std::launch::async;
  Timer clock;
  ProgressBar bar(opts.progress);
  std::deque<InFlight> window;
  auto write_front = [&]() -> Status {
    InFlight f = std::move(window.front());
    window.pop_front();
    const ResultRecord res = f.result.get();
    RADSEEK_TRY(out.write(res, f.rec->text));
    count(res, s);
    bar.update(s.written, in.progress(), false);
    return {};
  };
  ReportRecord rec;
  while (!(opts.stop != nullptr && opts.stop->load()) && in.next(rec)) {
    ++s.read;
    if (opts.skip_ids != nullptr && opts.skip_ids->count(rec.id) != 0) {
      ++s.skipped;
      continue;
    }
    auto shared = std::make_shared<const ReportRecord>(std::move(rec));
    window.push_back(InFlight{shared, std::async(policy, [&opts, &backend, shared] {
                                return classify_one(opts, *shared, backend);
                              })});
    if (static_cast<int>(window.size()) >= width) RADSEEK_TRY(write_front());
  }
  // Records already sent are finished and written even after Ctrl-C: nothing is lost.
  while (!window.empty()) RADSEEK_TRY(write_front());
  s.interrupted = opts.stop != nullptr && opts.stop->load();
  bar.update(s.written, in.progress(), true);
  s.seconds = clock.seconds();
  return s;
}

std::string format_summary(const BatchSummary& s, const LabelSet* labels) {
  std::ostringstream o;
  o << "radseek classify: " << s.written << " written, " << s.skipped << " skipped (already done), "
    << s.errors << " error records, " << s.read << " read";
  if (s.interrupted) o << " -- interrupted, rerun with --resume to finish";
  o << "\n";
  const double rate = s.seconds > 0 ? static_cast<double>(s.written) / s.seconds : 0.0;
  char buf[160];
  std::snprintf(buf, sizeof buf, "time %.3f s, %.1f reports/s (backend %.3f ms/report)\n", s.seconds, rate,
                s.written > 0 ? s.backend_seconds * 1000.0 / static_cast<double>(s.written) : 0.0);
  o << buf;
  if (s.drafted > 0) {
    std::snprintf(buf, sizeof buf, "speculative decoding: %lld of %lld drafts accepted (%.1f%%)\n",
                  static_cast<long long>(s.accepted), static_cast<long long>(s.drafted),
                  100.0 * static_cast<double>(s.accepted) / static_cast<double>(s.drafted));
    o << buf;
  }
  if (labels != nullptr && !s.positives.empty()) {
    o << "positive (uncertain) per label:";
    for (size_t i = 0; i < labels->labels.size(); ++i) {
      o << (i == 0 ? " " : ", ") << labels->labels[i].name << " " << s.positives[i];
      if (s.uncertain[i] > 0) o << " (" << s.uncertain[i] << ")";
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace radseek::radiology
