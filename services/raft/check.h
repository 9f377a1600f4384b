// RAFT_CHECK: an invariant the core relies on ("cannot happen"). A broken one
// stops the process loudly rather than let a replica run on with a log that
// may disagree with the others (docs/errors.md).
#pragma once

namespace warren::raft {
[[noreturn]] void CheckFailed(const char* cond, const char* file, int line);
}  // namespace warren::raft

#define RAFT_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::warren::raft::CheckFailed(#cond, __FILE__, __LINE__))
