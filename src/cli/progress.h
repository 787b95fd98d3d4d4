// A progress line on stderr with rate and ETA; silent when stderr is not a terminal unless forced.
#pragma once

#include <string>

#include "base/timer.h"

namespace radseek::cli {

class Progress {
 public:
  Progress(std::string label, std::string unit, bool force = false);
  void update(double done, double total);
  void finish();

 private:
  std::string label_, unit_;
  bool enabled_;
  Timer timer_;
  double last_print_ = -1.0;
};

}  // namespace radseek::cli
