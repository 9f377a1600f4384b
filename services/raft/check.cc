#include "raft/check.h"

#include <cstdio>
#include <cstdlib>

namespace warren::raft {

void CheckFailed(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "raft: invariant broken: %s at %s:%d\n", cond, file, line);
  std::abort();
}

}  // namespace warren::raft
