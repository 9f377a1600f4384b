#include "broker/cluster/mirror_copies.h"

#include <algorithm>

#include "broker/core/broker.h"

namespace warren::cluster {

namespace {

// The queue's record on this member, if it is one homed elsewhere.
const core::Queue* RemoteRecord(const core::Broker& broker, const std::string& vhost,
                                const std::string& queue) {
  auto v = broker.vhosts().find(vhost);
  if (v == broker.vhosts().end()) return nullptr;
  auto q = v->second->queues().find(queue);
  if (q == v->second->queues().end() || !q->second->remote()) return nullptr;
  return q->second.get();
}

// Whether the record names this member among the queue's mirrors.
bool MirroredHere(const core::Broker& broker, const core::Queue& q) {
  const std::vector<uint64_t>& m = q.mirrors().members;
  return std::find(m.begin(), m.end(), broker.self_member()) != m.end();
}

}  // namespace

size_t MirrorCopies::Recover() {
  size_t n = 0;
  core::Persistence* store = broker_.persistence();
  core::Broker::RestoredCopies restored = std::move(broker_.restored_copies());
  broker_.restored_copies().clear();
  for (auto& [key, refs] : restored) {
    // Only records of queues homed elsewhere were set aside (store/restore.cc).
    const core::Queue* q = RemoteRecord(broker_, key.first, key.second);
    if (!q || !store) continue;
    Copy& c = copies_[key];
    c.store_id = q->store_id();
    uint64_t seq = 0;
    for (const core::DiskRef& ref : refs) {
      core::MessagePtr m = store->Read(ref);
      if (!m) {  // unreadable: recovery reported the damage
        store->Settle(c.store_id, ref);
        continue;
      }
      m->disk = ref;
      c.bytes += m->body.size();
      c.entries.emplace(seq++, std::move(m));
      ++n;
    }
  }
  return n;
}

void MirrorCopies::Reset(const std::string& vhost, const std::string& queue, uint64_t epoch) {
  Copy& c = copies_[{vhost, queue}];
  Clear(c);
  c.epoch = epoch;
  const core::Queue* q = RemoteRecord(broker_, vhost, queue);
  c.store_id = q && broker_.persistence() ? q->store_id() : 0;
}

bool MirrorCopies::Enter(const std::string& vhost, const std::string& queue, uint64_t seq,
                         core::MessagePtr message, const core::Ticket& ticket) {
  auto it = copies_.find({vhost, queue});
  if (it == copies_.end()) return false;
  Copy& c = it->second;
  auto [at, added] = c.entries.emplace(seq, std::move(message));
  if (!added) return true;
  c.bytes += at->second->body.size();
  core::Persistence* store = broker_.persistence();
  if (store && c.store_id != 0 && at->second->persistent()) {
    at->second->disk = store->Write(*at->second, {c.store_id});
    if (at->second->disk.valid() && ticket) ticket->NeedSync(store->appended());
  }
  return true;
}

void MirrorCopies::Leave(const std::string& vhost, const std::string& queue,
                         const std::vector<uint64_t>& seqs) {
  auto it = copies_.find({vhost, queue});
  if (it == copies_.end()) return;
  Copy& c = it->second;
  for (uint64_t seq : seqs) {
    auto e = c.entries.find(seq);
    if (e == c.entries.end()) continue;
    Forget(c, e->second);
    c.entries.erase(e);
  }
}

const MirrorCopies::Copy* MirrorCopies::Find(const std::string& vhost,
                                             const std::string& queue) const {
  auto it = copies_.find({vhost, queue});
  return it == copies_.end() ? nullptr : &it->second;
}

std::vector<core::MessagePtr> MirrorCopies::Take(const std::string& vhost,
                                                const std::string& queue) {
  std::vector<core::MessagePtr> out;
  auto it = copies_.find({vhost, queue});
  if (it == copies_.end()) return out;
  out.reserve(it->second.entries.size());
  for (auto& [seq, message] : it->second.entries) out.push_back(std::move(message));
  copies_.erase(it);
  return out;
}

bool MirrorCopies::FedBy(const core::Broker& broker, const std::string& vhost,
                         const std::string& queue, const std::function<bool(uint64_t)>& is_from) {
  const core::Queue* q = RemoteRecord(broker, vhost, queue);
  return q && MirroredHere(broker, *q) && is_from(q->home());
}

void MirrorCopies::Prune() {
  for (auto it = copies_.begin(); it != copies_.end();) {
    const core::Queue* q = RemoteRecord(broker_, it->first.first, it->first.second);
    if (q && MirroredHere(broker_, *q)) {
      ++it;
      continue;
    }
    // A queue deleted took its messages with its record; one that moved
    // here took the copy (Take); else the copy's records are settled.
    if (q) Clear(it->second);
    it = copies_.erase(it);
  }
}

void MirrorCopies::Forget(Copy& c, const core::MessagePtr& message) {
  c.bytes -= message->body.size();
  core::Persistence* store = broker_.persistence();
  if (store && message->disk.valid()) store->Settle(c.store_id, message->disk);
}

void MirrorCopies::Clear(Copy& c) {
  for (auto& [seq, message] : c.entries) Forget(c, message);
  c.entries.clear();
  c.bytes = 0;
}

}  // namespace warren::cluster
