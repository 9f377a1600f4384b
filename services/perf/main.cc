// warren-perf: load generator for Warren and RabbitMQ (see README.md).
#include <cstdio>
#include <exception>

#include "perf/options.h"
#include "perf/run.h"

int main(int argc, char** argv) {
  warren::perf::Options options;
  try {
    if (!warren::perf::ParseOptions(argc, argv, options)) return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warren-perf: %s\n", e.what());
    return 2;
  }
  return warren::perf::RunPerf(options);
}
