#include "broker/cluster/restart_metadata.h"

#include <limits>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

#include "broker/cluster/metadata_machine.h"
#include "broker/cluster/metadata_snapshot.h"
#include "broker/core/broker.h"
#include "common/text.h"

namespace warren::cluster {
namespace {

namespace cmd = core::cmd;
using Key = std::pair<std::string, std::string>;  // (vhost, name)

// The scratch broker's own member id: no command names it, so every queue
// with a home is a record there.
constexpr uint64_t kNoOne = std::numeric_limits<uint64_t>::max();

// Applies to the store's broker what the log's broker holds and it lacks.
struct Rebuild {
  core::Broker& broker;
  uint64_t self;
  TransientRestore& out;
  std::set<Key> exchanges, queues, lost;  // rebuilt, and this member's lost queues

  core::VHost* VHostOf(const std::string& name) { return broker.FindVHost(name); }

  void Apply(const core::Command& c, const std::string& what) {
    core::Outcome o = core::Apply(broker, c);
    if (!o.status.ok())
      spdlog::warn("cluster: at the restart, {} was not rebuilt: {}", LogSafe(what),
                   LogSafe(o.status.error().text, 1024));
  }

  void operator()(const cmd::DeclareExchange& c) {
    core::VHost* v = VHostOf(c.vhost);
    if (!v || v->FindExchange(c.name)) return;
    Apply(c, "exchange '" + c.name + "'");
    exchanges.insert({c.vhost, c.name});
    ++out.exchanges;
  }
  void operator()(const cmd::DeclareQueue& c) {
    core::VHost* v = VHostOf(c.vhost);
    if (!v || v->queues().count(c.name)) return;
    if (c.node == self || c.node == kNoOne) {
      // Held here, and not durable: its messages are gone.
      lost.insert({c.vhost, c.name});
      out.lost.push_back(
          cmd::DeleteQueue{c.vhost, c.name, false, false, c.connection, c.node == self ? self : 0});
      return;
    }
    Apply(c, "the record of queue '" + c.name + "'");
    queues.insert({c.vhost, c.name});
    ++out.records;
  }
  void operator()(const cmd::Bind& c) {
    // Both ends durable: the store kept the binding.
    Key destination{c.vhost, c.destination};
    bool rebuilt = exchanges.count({c.vhost, c.source}) ||
                   (c.to_queue ? queues.count(destination) : exchanges.count(destination));
    if (!rebuilt || (c.to_queue && lost.count(destination))) return;
    Apply(c, "a binding of '" + c.source + "'");
    ++out.bindings;
  }
  template <class Other>
  void operator()(const Other&) {}  // durable: vhosts, users, permissions, policies
};

}  // namespace

TransientRestore RestoreTransient(core::Broker& broker, const raft::Persisted& log,
                                  raft::Index applied, uint64_t self) {
  TransientRestore out;
  raft::Index from = log.snapshot.meta.index;
  if (applied == 0 || from > applied) return out;
  core::Broker scratch(broker.runtime(), broker.config());
  scratch.set_self_member(kNoOne);
  // The default vhost is made by each node, not through the log.
  for (const auto& [name, v] : broker.vhosts()) (void)scratch.AddVHost(name);
  MetadataMachine machine(scratch);
  if (from > 0) {
    if (Status s = machine.RestoreSnapshot(log.snapshot.data); !s.ok()) {
      spdlog::error("cluster: the log's snapshot does not decode, so this restart does not "
                    "rebuild the transient definitions: {}",
                    LogSafe(s.error().text, 1024));
      return out;
    }
  }
  raft::Index reached = from;
  for (const raft::Entry& e : log.entries) {
    if (e.index <= from) continue;
    if (e.index > applied || e.index != reached + 1) break;
    machine.Apply(e);
    reached = e.index;
  }
  if (reached != applied) {
    spdlog::error("cluster: the log holds entries {} to {}, not all through {} as the store "
                  "applied, so this restart does not rebuild the transient definitions",
                  from + 1, reached, applied);
    return out;
  }
  Rebuild rebuild{broker, self, out, {}, {}, {}};
  for (const core::Command& c : DescribeMetadata(scratch)) std::visit(rebuild, c);
  return out;
}

}  // namespace warren::cluster
