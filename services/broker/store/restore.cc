#include "broker/store/restore.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <unordered_map>

#include "broker/store/file_io.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::store {

namespace {

// One durable queue's messages as the log replays them, in log order. An
// entry is 40 bytes and the deque never doubles, so a large log replays in
// little more memory than its queues' index will take anyway.
struct QueueReplay {
  struct Entry {
    uint64_t id;
    int64_t wall_ms;
    uint32_t segment, offset, length, size, ttl_ms;
    uint8_t priority;
    uint8_t flags;  // kDelivered | kSettled | kHasTtl
  };
  static constexpr uint8_t kDelivered = 1, kSettled = 2, kHasTtl = 4;

  core::Queue* queue = nullptr;
  std::deque<Entry> entries;
  size_t settled = 0;

  void Add(const StoredMessage& m) {
    entries.push_back(Entry{m.ref.id, m.wall_ms, m.ref.segment, m.ref.offset, m.ref.length,
                            m.size, static_cast<uint32_t>(std::max<int64_t>(m.ttl_ms, 0)),
                            m.priority, static_cast<uint8_t>(m.ttl_ms >= 0 ? kHasTtl : 0)});
  }
  Entry* Find(uint64_t id) {
    auto it = std::lower_bound(entries.begin(), entries.end(), id,
                               [](const Entry& e, uint64_t v) { return e.id < v; });
    return it != entries.end() && it->id == id ? &*it : nullptr;
  }
  // Keeps memory proportional to what is still queued, not to the log.
  void Compact() {
    if (settled < 4096 || settled * 2 < entries.size()) return;
    std::erase_if(entries, [](const Entry& e) { return e.flags & kSettled; });
    settled = 0;
  }
};

// A durable queue that cannot be restored would lose its messages (their
// segments would be reclaimed): the start is refused instead. Other
// definitions that the model refuses stay in definitions.log and are
// reported at every start.
Status RestoreDefinitions(const Definitions& d, core::Broker& broker) {
  auto warn = [](const char* what, const std::string& name, const Status& s) {
    if (!s.ok())
      spdlog::error("store: {} '{}' not restored (it stays in definitions.log): {}", what,
                    LogSafe(name), LogSafe(s.error().text, 1024));
  };
  for (const auto& [v, meta] : d.vhosts) warn("vhost", v, broker.AddVHost(v, meta));
  for (const auto& [k, p] : d.parameters)
    warn("parameter", p.name, broker.SetParameter(p, false));
  for (const auto& [n, u] : d.users) {
    warn("user", n, broker.AddUser(n, u.password_hash, u.tags));
    if (!u.limits.empty()) warn("limits of user", n, broker.SetUserLimits(n, u.limits));
  }
  for (const auto& [k, p] : d.permissions)
    warn("permissions of", p.user,
         broker.SetPermissions(p.user, p.vhost, p.configure, p.write, p.read));
  for (const auto& [k, p] : d.topic_permissions)
    warn("topic permission of", p.user, broker.SetTopicPermission(p));
  // Policies before the exchanges and queues, so each comes back with the
  // policy in effect already applied.
  for (const auto& [k, p] : d.policies) {
    core::VHost* vh = broker.FindVHost(p.vhost);
    if (!vh) continue;
    warn("policy", p.name,
         vh->SetPolicy({p.vhost, p.name, p.pattern, p.apply_to, p.priority, p.definition, {}}));
  }
  for (const auto& [k, p] : d.operator_policies) {
    core::VHost* vh = broker.FindVHost(p.vhost);
    if (!vh) continue;
    warn("operator policy", p.name,
         vh->SetOperatorPolicy(
             {p.vhost, p.name, p.pattern, p.apply_to, p.priority, p.definition, {}}));
  }
  for (const auto& [k, e] : d.exchanges) {
    core::VHost* vh = broker.FindVHost(e.vhost);
    if (!vh) continue;
    core::ExchangeDeclare decl{e.name, e.type, false, {true, e.auto_delete, e.internal, e.arguments}};
    warn("exchange", e.name, vh->DeclareExchange(decl));
  }
  for (const auto& [k, q] : d.queues) {
    core::VHost* vh = broker.FindVHost(q.vhost);
    auto r = vh ? vh->RestoreQueue(q) : Result<core::Queue*>(Error{404, "its vhost is missing"});
    if (!r.ok())
      return IoError("durable queue '" + LogSafe(q.name) + "' in vhost '" + LogSafe(q.vhost) +
                     "' cannot be restored: " + r.error().text +
                     "; not starting without it, so that it and its messages are not lost: "
                     "start the Warren version that declared it to drain or delete it");
  }
  for (const auto& [k, b] : d.bindings) {
    core::VHost* vh = broker.FindVHost(b.vhost);
    if (!vh) continue;
    Status s = b.to_queue
                   ? vh->BindQueue(b.destination, b.source, b.routing_key, b.arguments, 0)
                   : vh->BindExchange(b.destination, b.source, b.routing_key, b.arguments);
    warn("binding from", b.source, s);
  }
  return Status::Ok();
}

// One line for all the damage recovery skipped (each range had its own).
void LogDamage(Store& store) {
  const RecoveryReport& damage = store.log().recovery();
  if (damage.damaged_ranges == 0) return;
  spdlog::warn("store: recovery skipped {} damaged range{} of the message log: {} bytes, at "
               "least {} record{} lost; copies are under {}", damage.damaged_ranges,
               damage.damaged_ranges == 1 ? "" : "s", damage.damaged_bytes,
               damage.damaged_records, damage.damaged_records == 1 ? "" : "s",
               store.damaged_dir());
}

}  // namespace

Status Restore(Store& store, core::Broker& broker) {
  auto started = std::chrono::steady_clock::now();
  broker.set_restoring(true);
  Status defined = RestoreDefinitions(store.definitions_model(), broker);
  broker.set_restoring(false);
  if (!defined.ok()) return defined;

  std::unordered_map<uint64_t, QueueReplay> queues;
  for (const auto& [name, vhost] : broker.vhosts())
    for (const auto& [qname, q] : vhost->queues())
      if (q->store_id() != 0) queues[q->store_id()].queue = q.get();

  MessageLog::Replay replay;
  replay.publish = [&](const PublishInfo& info) {
    for (uint64_t id : info.queues) {
      auto it = queues.find(id);
      if (it == queues.end()) continue;  // the queue was deleted since
      it->second.Add(info);
    }
  };
  replay.mark = [&](LogRecord kind, uint64_t queue, uint64_t id, uint32_t) {
    auto it = queues.find(queue);
    if (it == queues.end()) return;
    QueueReplay& q = it->second;
    QueueReplay::Entry* e = q.Find(id);
    if (!e || (e->flags & QueueReplay::kSettled)) return;
    if (kind == LogRecord::kDeliver) {
      e->flags |= QueueReplay::kDelivered;
      return;
    }
    e->flags |= QueueReplay::kSettled;
    ++q.settled;
    q.Compact();
  };
  if (Status s = store.log().Recover(replay); !s.ok()) return s;

  auto wall_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::unordered_map<uint32_t, uint64_t> live;
  size_t restored = 0;
  for (auto& [id, q] : queues) {
    for (const auto& e : q.entries) {
      if (e.flags & QueueReplay::kSettled) continue;
      ++live[e.segment];
      ++restored;
      if (q.queue->remote()) {  // a mirror's copy: the member's MirrorCopies take it
        broker.restored_copies()[{q.queue->vhost(), q.queue->name()}].push_back(
            core::DiskRef{e.id, e.segment, e.offset, e.length});
        continue;
      }
      core::RestoredMessage m;
      m.disk = core::DiskRef{e.id, e.segment, e.offset, e.length};
      m.size = e.size;
      m.priority = e.priority;
      m.redelivered = e.flags & QueueReplay::kDelivered;
      m.published_ms = e.wall_ms;
      if (e.flags & QueueReplay::kHasTtl) m.ttl_ms = e.ttl_ms;
      q.queue->Restore(m, wall_now);
    }
    q.entries.clear();
    q.entries.shrink_to_fit();
  }
  if (Status s = store.log().Start({live.begin(), live.end()}); !s.ok()) return s;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - started)
                .count();
  spdlog::info("store: recovered {} messages in {} durable queues ({} segments) in {} ms",
               restored, queues.size(), store.log().segment_count(), ms);
  LogDamage(store);
  return Status::Ok();
}

}  // namespace warren::store
