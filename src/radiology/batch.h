// The batch runner: streams records from a reader through a backend into a writer, one record at a
// time, flushing each; skips ids already done (--resume); stops cleanly when asked (Ctrl-C).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "radiology/backend.h"
#include "radiology/readers.h"
#include "radiology/writers.h"

namespace radseek::radiology {

struct BatchOptions {
  const LabelSet* labels = nullptr;  // null for multiple choice
  bool multiple_choice = false;
  UncertainPolicy policy = UncertainPolicy::kKeep;
  std::vector<std::string> sections;
  int concurrency = 1;                        // records in flight at once (capped by the backend)
  int64_t reasoning_max_chars = -1;           // -1: keep the reasoning, 0: omit it, N: first N bytes
  bool progress = false;                      // draw a progress bar on stderr
  const std::unordered_set<std::string>* skip_ids = nullptr;  // --resume
  const std::atomic<bool>* stop = nullptr;    // set by the SIGINT handler
};

struct BatchSummary {
  int64_t read = 0;
  int64_t written = 0;
  int64_t skipped = 0;  // already in the output (resume)
  int64_t errors = 0;
  double seconds = 0;
  double backend_seconds = 0;
  bool interrupted = false;
  int64_t drafted = 0, accepted = 0;  // speculative decoding, over all records
  std::vector<int64_t> positives;  // per label: records with value 1
  std::vector<int64_t> uncertain;  // per label: records with value -1
};

Expected<BatchSummary> run_batch(const BatchOptions& opts, ReportReader& in, ClassifierBackend& backend,
                                 ResultWriter& out);

// Human-readable end-of-run summary (counts only, never report text).
std::string format_summary(const BatchSummary& s, const LabelSet* labels);

}  // namespace radseek::radiology
