// Where a mirrored queue's copies go (docs/mirroring.md, "Placement").
//
// A queue is mirrored when the policy in effect has an ha-mode, or when it
// was declared x-queue-type: quorum. Its home holds the queue; its mirrors
// are other members that keep a copy. Which members those are is decided by
// the metadata leader with WantedMirrors and committed through the log as a
// cmd::SetMirrors: every member then holds the same record (Queue::mirrors).
// Pure functions, so the leader and the tests compute them alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/core/persistence.h"
#include "broker/core/policy.h"

namespace warren::core {

class Queue;

struct MemberName {
  uint64_t id = 0;
  std::string name;  // its node name (warren@host); empty when not known
};

// Copies in all a quorum queue has, as RabbitMQ's default quorum size (or
// every member, when fewer).
inline constexpr size_t kQuorumCopies = 3;

// The members that should hold mirrors of a queue homed on `home`: sorted
// ids, `home` not among them; empty when it is not mirrored.
//   - ha-mode all: every other member.
//   - ha-mode exactly, ha-params N: N copies in all (home included), every
//     member when fewer; mirrors it has (`current`) are kept first, then the
//     members after the home in id order, so copies spread.
//   - ha-mode nodes, ha-params [names]: the named members (others ignored).
//   - x-queue-type quorum (no ha-mode): as exactly 3.
// Exclusive queues are never mirrored (they die with their connection).
std::vector<uint64_t> WantedMirrors(const Queue& queue, const Policy* policy, uint64_t home,
                                    const std::vector<MemberName>& members);

// `mirrors` with the in-sync set cut to the members it still has, and the
// epoch one higher: the record a SetMirrors proposes from `current`.
Mirrors NextMirrors(const Mirrors& current, std::vector<uint64_t> mirrors);

}  // namespace warren::core
