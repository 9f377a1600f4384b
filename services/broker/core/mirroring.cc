#include "broker/core/mirroring.h"

#include <algorithm>

#include "broker/core/queue.h"

namespace warren::core {

namespace {

bool IsQuorum(const Queue& queue) {
  const amqp::FieldValue* type = queue.options().arguments.Find("x-queue-type");
  const std::string* s = type ? type->AsString() : nullptr;
  return s && *s == "quorum";
}

// `count` copies in all: the mirrors kept from `current`, then members after
// `home` in id order.
std::vector<uint64_t> Exactly(size_t count, uint64_t home, const std::vector<MemberName>& members,
                              const std::vector<uint64_t>& current) {
  std::vector<uint64_t> others;
  for (const MemberName& m : members)
    if (m.id != home) others.push_back(m.id);
  std::sort(others.begin(), others.end());
  size_t wanted = count == 0 ? 0 : std::min(count - 1, others.size());
  std::vector<uint64_t> out;
  for (uint64_t id : current)
    if (out.size() < wanted && std::binary_search(others.begin(), others.end(), id))
      out.push_back(id);
  // Members after the home first, then from the lowest id.
  auto after = std::upper_bound(others.begin(), others.end(), home);
  std::rotate(others.begin(), after, others.end());
  for (uint64_t id : others) {
    if (out.size() >= wanted) break;
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<uint64_t> WantedMirrors(const Queue& queue, const Policy* policy, uint64_t home,
                                    const std::vector<MemberName>& members) {
  if (queue.exclusive_owner() != 0) return {};
  const std::vector<uint64_t>& current = queue.mirrors().members;
  const amqp::FieldValue* mode = policy ? policy->definition.Find("ha-mode") : nullptr;
  const std::string* mode_name = mode ? mode->AsString() : nullptr;
  if (!mode_name) return IsQuorum(queue) ? Exactly(kQuorumCopies, home, members, current)
                                         : std::vector<uint64_t>{};
  const amqp::FieldValue* params = policy->definition.Find("ha-params");
  if (*mode_name == "all") return Exactly(members.size(), home, members, current);
  if (*mode_name == "exactly") {
    std::optional<int64_t> n = params ? params->AsInt() : std::nullopt;
    return Exactly(n && *n > 0 ? static_cast<size_t>(*n) : 1, home, members, current);
  }
  std::vector<uint64_t> out;
  const amqp::FieldArray* names = params ? params->AsArray() : nullptr;
  if (*mode_name != "nodes" || !names) return out;
  for (const amqp::FieldValue& v : *names) {
    const std::string* name = v.AsString();
    if (!name) continue;
    for (const MemberName& m : members)
      if (m.id != home && !m.name.empty() && m.name == *name &&
          std::find(out.begin(), out.end(), m.id) == out.end())
        out.push_back(m.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool SyncsByItself(const Queue& queue, const Policy* policy) {
  if (IsQuorum(queue)) return true;
  const amqp::FieldValue* mode = policy ? policy->definition.Find("ha-sync-mode") : nullptr;
  const std::string* text = mode ? mode->AsString() : nullptr;
  return text && *text == "automatic";
}

uint64_t PromotionCandidate(const Queue& queue, const Policy* policy,
                            const std::vector<uint64_t>& alive) {
  auto is_alive = [&](uint64_t id) {
    return std::find(alive.begin(), alive.end(), id) != alive.end();
  };
  for (uint64_t id : queue.mirrors().in_sync)
    if (is_alive(id)) return id;
  const amqp::FieldValue* v = policy ? policy->definition.Find("ha-promote-on-failure") : nullptr;
  const std::string* s = v ? v->AsString() : nullptr;
  if (!s || *s != "always") return 0;
  for (uint64_t id : queue.mirrors().members)
    if (is_alive(id)) return id;
  return 0;
}

Mirrors AfterFailover(const Mirrors& current, uint64_t home, uint64_t candidate) {
  Mirrors next;
  next.epoch = current.epoch + 1;
  for (uint64_t id : current.members)
    if (id != candidate) next.members.push_back(id);
  next.members.push_back(home);
  std::sort(next.members.begin(), next.members.end());
  // None is in sync with the new home: it numbers its entries afresh, and
  // its feed syncs every mirror before it lists one in sync again.
  return next;
}

Mirrors NextMirrors(const Mirrors& current, std::vector<uint64_t> mirrors) {
  Mirrors next;
  next.epoch = current.epoch + 1;
  for (uint64_t id : current.in_sync)
    if (std::find(mirrors.begin(), mirrors.end(), id) != mirrors.end()) next.in_sync.push_back(id);
  next.members = std::move(mirrors);
  return next;
}

}  // namespace warren::core
