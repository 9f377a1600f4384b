#include "broker/cluster/mirror_copies.h"

#include <algorithm>

#include "broker/core/broker.h"

namespace warren::cluster {

void MirrorCopies::Reset(const std::string& vhost, const std::string& queue, uint64_t epoch) {
  Copy& c = copies_[{vhost, queue}];
  c = Copy{};
  c.epoch = epoch;
}

bool MirrorCopies::Enter(const std::string& vhost, const std::string& queue, uint64_t seq,
                         core::MessagePtr message) {
  auto it = copies_.find({vhost, queue});
  if (it == copies_.end()) return false;
  Copy& c = it->second;
  auto [at, added] = c.entries.emplace(seq, std::move(message));
  if (added) c.bytes += at->second->body.size();
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
    c.bytes -= e->second->body.size();
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
  auto v = broker.vhosts().find(vhost);
  if (v == broker.vhosts().end()) return false;
  auto q = v->second->queues().find(queue);
  if (q == v->second->queues().end() || !q->second->remote()) return false;
  const std::vector<uint64_t>& m = q->second->mirrors().members;
  return std::find(m.begin(), m.end(), broker.self_member()) != m.end() &&
         is_from(q->second->home());
}

void MirrorCopies::Prune(const core::Broker& broker, uint64_t self) {
  for (auto it = copies_.begin(); it != copies_.end();) {
    const auto& [vhost, queue] = it->first;
    bool keep = false;
    if (auto v = broker.vhosts().find(vhost); v != broker.vhosts().end()) {
      auto q = v->second->queues().find(queue);
      if (q != v->second->queues().end()) {
        const std::vector<uint64_t>& m = q->second->mirrors().members;
        keep = q->second->remote() && std::find(m.begin(), m.end(), self) != m.end();
      }
    }
    it = keep ? std::next(it) : copies_.erase(it);
  }
}

}  // namespace warren::cluster
