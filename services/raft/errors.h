// Why the core refuses a request (a proposal, a membership change, a
// transfer, a compaction) or rejects bytes. Carried in common/status.h's
// Error: its code is one of these values (all below 100, so never an AMQP
// reply code) and its text says what to do, e.g. which node leads.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace warren::raft {

enum class Errc : uint16_t {
  kNotLeader = 1,                // ask the leader (Raft::leader(), when known)
  kLeadershipTransfer = 2,       // leadership is being handed over: retry shortly
  kMembershipChangePending = 3,  // one change at a time, after the leader's first commit
  kInvalidMembershipChange = 4,  // not a learner, already a member, the last voter...
  kTooLarge = 5,                 // an entry or snapshot past the codec's bounds
  kInvalidArgument = 6,          // a transfer target or compaction index that cannot be
  kMalformed = 7,                // bytes that are not a message (codec.h)
};

inline Error RaftError(Errc code, std::string text) {
  return Error{static_cast<uint16_t>(code), std::move(text)};
}

inline Errc ErrcOf(const Error& e) { return static_cast<Errc>(e.code); }

}  // namespace warren::raft
