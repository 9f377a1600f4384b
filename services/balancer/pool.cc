#include "balancer/pool.h"

#include <algorithm>

namespace warren::balancer {

namespace {

bool Tried(const Server* s, const std::vector<const Server*>& tried) {
  return std::find(tried.begin(), tried.end(), s) != tried.end();
}

// FNV-1a: stable across runs and builds, unlike std::hash.
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::vector<Server*> ServerPool::Candidates(const std::vector<const Server*>& tried) const {
  // The regular servers when any is UP, else the backups; within that tier
  // the untried ones, else all of it (a retry on the same server).
  for (bool backup : {false, true}) {
    std::vector<Server*> tier, untried;
    for (const auto& s : servers_) {
      if (s->config().backup != backup || !s->up()) continue;
      if (s->config().weight == 0 && balance_ != Balance::kLeastConn) continue;
      tier.push_back(s.get());
      if (!Tried(s.get(), tried)) untried.push_back(s.get());
    }
    if (!tier.empty()) return untried.empty() ? tier : untried;
  }
  return {};
}

std::shared_ptr<Server> ServerPool::Pick(const std::string& client_ip,
                                         const std::vector<const Server*>& tried) {
  std::vector<Server*> c = Candidates(tried);
  if (c.empty()) return nullptr;
  Server* chosen = nullptr;
  switch (balance_) {
    case Balance::kRoundRobin: chosen = RoundRobin(c); break;
    case Balance::kLeastConn: chosen = LeastConn(c); break;
    case Balance::kSource: chosen = Source(c, client_ip); break;
  }
  for (const auto& s : servers_)
    if (s.get() == chosen) return s;
  return nullptr;
}

Server* ServerPool::RoundRobin(const std::vector<Server*>& c) {
  // Smooth weighted round robin: every candidate gains its weight, the
  // richest is chosen and pays the sum back.
  int64_t total = 0;
  Server* best = nullptr;
  for (Server* s : c) {
    s->rr_current += s->config().weight;
    total += s->config().weight;
    if (!best || s->rr_current > best->rr_current) best = s;
  }
  best->rr_current -= total;
  return best;
}

Server* ServerPool::LeastConn(const std::vector<Server*>& c) {
  // Fewest sessions per unit of weight (weight 0 counts as 1); scanning from
  // a rotating start makes ties go round.
  auto load = [](const Server* s) {
    return static_cast<double>(s->counters().current) / std::max(1, s->config().weight);
  };
  size_t start = turn_++ % c.size();
  Server* best = c[start];
  for (size_t i = 1; i < c.size(); ++i) {
    Server* s = c[(start + i) % c.size()];
    if (load(s) < load(best)) best = s;
  }
  return best;
}

Server* ServerPool::Source(const std::vector<Server*>& c, const std::string& client_ip) {
  int64_t total = 0;
  for (Server* s : c) total += std::max(1, s->config().weight);
  int64_t slot = static_cast<int64_t>(Fnv1a(client_ip) % static_cast<uint64_t>(total));
  for (Server* s : c) {
    slot -= std::max(1, s->config().weight);
    if (slot < 0) return s;
  }
  return c.back();
}

bool ServerPool::AnyUp() const {
  return std::any_of(servers_.begin(), servers_.end(), [](const auto& s) { return s->up(); });
}

std::shared_ptr<Server> ServerPool::Find(const std::string& name) const {
  for (const auto& s : servers_)
    if (s->name() == name) return s;
  return nullptr;
}

}  // namespace warren::balancer
