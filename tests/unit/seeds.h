// Seeded runs (the Raft and replication simulators): how many seeds a test
// runs by default, and the numbers that change it from the environment.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace warren::testkit {

// `plain` seeds, a tenth of them under the sanitizers, which slow each run
// about tenfold.
constexpr uint64_t DefaultSeeds(uint64_t plain) {
#if defined(__SANITIZE_ADDRESS__)
  return plain / 10;
#else
  return plain;
#endif
}

// The number in environment variable `name`, or `fallback` when unset.
inline uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

}  // namespace warren::testkit
