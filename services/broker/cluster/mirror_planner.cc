#include "broker/cluster/mirror_planner.h"

#include <spdlog/spdlog.h>

#include "broker/core/broker.h"
#include "common/text.h"

namespace warren::cluster {

void MirrorPlanner::Plan(const std::vector<core::MemberName>& members, uint64_t applied) {
  if (planned_ && !*failed_ && planned_->applied == applied && planned_->members == members)
    return;
  planned_.reset();
  *failed_ = false;
  size_t proposed = 0;
  for (const auto& [vname, v] : broker_.vhosts()) {
    for (const auto& [qname, q] : v->queues()) {
      if (proposed >= kPerTick) return;  // the rest at the next tick
      uint64_t home = broker_.HomeOf(*q);
      std::vector<uint64_t> wanted = core::WantedMirrors(*q, v->PolicyOf(*q), home, members);
      if (wanted == q->mirrors().members) continue;
      auto key = std::make_pair(vname, qname);
      if (!in_flight_->insert(key).second) continue;
      ++proposed;
      core::cmd::SetMirrors change{vname, qname, home,
                                   core::NextMirrors(q->mirrors(), std::move(wanted))};
      gate_.Submit(std::move(change), [flight = in_flight_, failed = failed_,
                                       key](const core::Outcome& o) {
        flight->erase(key);
        if (!o.status.ok()) *failed = true;
        // A queue deleted meanwhile (404) or a record changed meanwhile
        // (406, stale): the next tick plans from what is there now.
        if (!o.status.ok() && o.status.error().code != 404 && o.status.error().code != 406)
          spdlog::warn("cluster: the mirrors of queue '{}' in vhost '{}' were not changed: {}",
                       LogSafe(key.second), LogSafe(key.first), LogSafe(o.status.error().text));
      });
    }
  }
  planned_ = Planned{applied, members};
}

}  // namespace warren::cluster
