// The metadata leader's side of mirroring (docs/mirroring.md, "Placement").
//
// Every tick on the leader, Plan compares each queue's mirrors with what the
// policy in effect wants among the members now (core::WantedMirrors) and
// proposes each difference as a cmd::SetMirrors through the gate. A policy
// set, changed or cleared, a queue declared, a member added or removed: the
// next tick brings the records in line, while the queues serve.
//
// At most kPerTick proposals a tick, one per queue in flight; a proposal
// that lost a race (a stale epoch: another change committed first) is
// simply planned again from the new record. What each queue wants follows
// from the applied metadata and the members alone: once a pass found
// nothing more to propose, the queues are walked again only when either
// moved, or a proposal failed. Runs on the node's loop.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/command.h"
#include "broker/core/mirroring.h"

namespace warren::core {
class Broker;
}

namespace warren::cluster {

class MirrorPlanner {
 public:
  static constexpr size_t kPerTick = 64;

  MirrorPlanner(core::Broker& broker, core::MetadataGate& gate) : broker_(broker), gate_(gate) {}

  // `members`: every member of the configuration, with its node name;
  // `applied`: the metadata log's applied index.
  void Plan(const std::vector<core::MemberName>& members, uint64_t applied);
  // No longer the leader: a later leadership plans afresh.
  void Forget() { planned_.reset(); }
  size_t in_flight() const { return in_flight_->size(); }

 private:
  struct Planned {
    uint64_t applied = 0;
    std::vector<core::MemberName> members;
  };
  // The last pass that left nothing to propose, and what it planned from.
  std::optional<Planned> planned_;
  // Set by a proposal that failed: plan again.
  std::shared_ptr<bool> failed_ = std::make_shared<bool>(false);
  core::Broker& broker_;
  core::MetadataGate& gate_;
  // (vhost, queue) proposed and not answered yet; shared with the answers,
  // which may come after the planner is gone.
  std::shared_ptr<std::set<std::pair<std::string, std::string>>> in_flight_ =
      std::make_shared<std::set<std::pair<std::string, std::string>>>();
};

}  // namespace warren::cluster
