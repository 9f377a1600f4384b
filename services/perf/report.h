// What warren-perf prints: a progress line per second, the summary block at
// the end, and the same summary as a JSON object (--json FILE) whose shape
// bench/perf.sh relies on.
#pragma once

#include <string>

#include "perf/stats.h"

namespace warren::perf {

struct Summary {
  std::string id;
  double seconds = 0;
  bool churn = false;
  Totals totals;
};

// `now` and `before` are totals one interval apart; `elapsed` is the run's time.
std::string ProgressLine(double elapsed, double interval, const Totals& now, const Totals& before, bool churn);
std::string SummaryText(const Summary& s);
std::string SummaryJson(const Summary& s);

}  // namespace warren::perf
