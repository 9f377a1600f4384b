// The run as a whole: resolve the broker, start the event loop threads, then
// in order declare (Setup), start consumers and wait for every consume-ok,
// start producers and the clock; report each second; stop on the counts, the
// time, a signal or a failure; close connections politely; print the summary.
#pragma once

#include "perf/options.h"

namespace warren::perf {

// Returns the process exit status: 0, or 2 after a failure (already printed).
int RunPerf(const Options& options);

}  // namespace warren::perf
