#include "broker/cluster/metadata_snapshot.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

#include "broker/cluster/command_codec.h"
#include "broker/core/broker.h"
#include "common/text.h"
#include "raft/codec.h"
#include "raft/wire.h"

namespace warren::cluster {
namespace {

using core::Command;
namespace cmd = core::cmd;
using Key = std::pair<std::string, std::string>;  // (vhost, name), (user, vhost)

bool IsBuiltin(const std::string& exchange) { return exchange.rfind("amq.", 0) == 0; }

template <class Map>
std::vector<std::string> SortedNames(const Map& map) {
  std::vector<std::string> names;
  names.reserve(map.size());
  for (const auto& entry : map) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  return names;
}

uint64_t OwnerOf(const core::VHost& v, const std::string& queue) {
  auto it = v.queues().find(queue);
  return it == v.queues().end() ? 0 : it->second->exclusive_owner();
}

// `self`: this node's member id, the home of the queues it holds.
void DescribeVHost(const core::VHost& v, uint64_t self, std::vector<Command>& out) {
  for (const auto& [name, p] : v.policies())
    out.push_back(cmd::SetPolicy{v.name(), name, p.pattern, p.apply_to, p.priority, p.definition});
  for (const auto& [name, p] : v.operator_policies())
    out.push_back(
        cmd::SetPolicy{v.name(), name, p.pattern, p.apply_to, p.priority, p.definition, true});
  std::vector<std::string> exchanges = SortedNames(v.exchanges());
  for (const std::string& name : exchanges) {
    const core::Exchange& e = *v.exchanges().at(name);
    if (IsBuiltin(name)) continue;
    out.push_back(cmd::DeclareExchange{v.name(), name, e.type(), e.durable(), e.auto_delete(),
                                       e.internal(), e.options().arguments});
  }
  for (const std::string& name : SortedNames(v.queues())) {
    const core::Queue& q = *v.queues().at(name);
    // Only the server names a queue amq.*: declared again under that name.
    out.push_back(cmd::DeclareQueue{v.name(), name, q.durable(), q.exclusive_owner() != 0,
                                    q.auto_delete(), q.options().arguments,
                                    q.exclusive_owner(), name.rfind("amq.", 0) == 0,
                                    q.remote() ? q.home() : self});
    if (q.mirrors().epoch != 0)
      out.push_back(cmd::SetMirrors{v.name(), name, q.remote() ? q.home() : self, q.mirrors()});
  }
  // A router's own order depends on its history: order by encoding instead.
  std::vector<std::pair<std::string, cmd::Bind>> bindings;
  for (const std::string& source : exchanges) {
    v.exchanges().at(source)->router().ForEach([&](const core::BindingSpec& b) {
      bool to_queue = b.destination.kind == core::Destination::Kind::kQueue;
      cmd::Bind bind{v.name(), source, b.destination.name, b.routing_key, to_queue, b.arguments,
                     to_queue ? OwnerOf(v, b.destination.name) : 0};
      bindings.emplace_back(EncodeCommand(bind), std::move(bind));
    });
  }
  std::sort(bindings.begin(), bindings.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [bytes, bind] : bindings) out.push_back(std::move(bind));
}

// Whether a snapshot may hold a command of this kind: definitions only.
bool IsDefinition(const Command& c) {
  return std::holds_alternative<cmd::AddVHost>(c) || std::holds_alternative<cmd::AddUser>(c) ||
         std::holds_alternative<cmd::SetPermissions>(c) ||
         std::holds_alternative<cmd::SetTopicPermission>(c) ||
         std::holds_alternative<cmd::SetUserLimits>(c) ||
         std::holds_alternative<cmd::SetPolicy>(c) ||
         std::holds_alternative<cmd::DeclareExchange>(c) ||
         std::holds_alternative<cmd::DeclareQueue>(c) ||
         std::holds_alternative<cmd::SetMirrors>(c) || std::holds_alternative<cmd::Bind>(c) ||
         std::holds_alternative<cmd::SetParameter>(c);
}

using ParameterKey = core::ParameterKey;

// What a list of definitions holds, keyed as the model identifies objects;
// queues and exchanges with their encoding, to notice one that differs.
struct Inventory {
  std::set<std::string> vhosts, users, bindings;
  std::set<Key> permissions, policies, operator_policies;
  std::set<ParameterKey> parameters;
  std::set<std::tuple<std::string, std::string, std::string>> topic_permissions;
  std::map<Key, std::string> exchanges, queues;
  std::map<std::string, std::string> user_limits;  // user -> encoded SetUserLimits

  explicit Inventory(const std::vector<Command>& commands) {
    for (const Command& c : commands) std::visit(*this, c);
  }
  void operator()(const cmd::AddVHost& c) { vhosts.insert(c.name); }
  void operator()(const cmd::AddUser& c) { users.insert(c.name); }
  void operator()(const cmd::SetPermissions& c) { permissions.insert({c.user, c.vhost}); }
  void operator()(const cmd::SetTopicPermission& c) {
    topic_permissions.insert({c.user, c.vhost, c.exchange});
  }
  void operator()(const cmd::SetUserLimits& c) { user_limits[c.user] = EncodeCommand(c); }
  void operator()(const cmd::SetPolicy& c) {
    (c.operator_policy ? operator_policies : policies).insert({c.vhost, c.name});
  }
  void operator()(const cmd::SetParameter& c) { parameters.insert({c.component, c.vhost, c.name}); }
  void operator()(const cmd::DeclareExchange& c) {
    exchanges[{c.vhost, c.name}] = EncodeCommand(c);
  }
  void operator()(const cmd::DeclareQueue& c) { queues[{c.vhost, c.name}] = EncodeCommand(c); }
  void operator()(const cmd::Bind& c) { bindings.insert(EncodeCommand(c)); }
  template <class Other>
  void operator()(const Other&) {}
};

// The command that takes away what `c` describes, when `wanted` does not
// hold it (or holds it otherwise); nothing when it stays. Objects of a
// vhost that goes are left to the vhost's deletion.
struct Removal {
  const Inventory& wanted;

  bool VHostGoes(const std::string& vhost) const { return !wanted.vhosts.count(vhost); }

  std::optional<Command> operator()(const cmd::AddVHost& c) const {
    if (!VHostGoes(c.name)) return std::nullopt;
    return cmd::DeleteVHost{c.name};
  }
  std::optional<Command> operator()(const cmd::AddUser& c) const {
    if (wanted.users.count(c.name)) return std::nullopt;
    return cmd::DeleteUser{c.name};
  }
  std::optional<Command> operator()(const cmd::SetPermissions& c) const {
    if (wanted.permissions.count({c.user, c.vhost})) return std::nullopt;
    return cmd::ClearPermissions{c.user, c.vhost};
  }
  std::optional<Command> operator()(const cmd::SetTopicPermission& c) const {
    if (wanted.topic_permissions.count({c.user, c.vhost, c.exchange})) return std::nullopt;
    return cmd::ClearTopicPermissions{c.user, c.vhost, c.exchange};
  }
  // Setting limits merges: limits that differ are all cleared first.
  std::optional<Command> operator()(const cmd::SetUserLimits& c) const {
    auto it = wanted.user_limits.find(c.user);
    if (it != wanted.user_limits.end() && it->second == EncodeCommand(c)) return std::nullopt;
    return cmd::ClearUserLimits{c.user, "", true};
  }
  std::optional<Command> operator()(const cmd::SetPolicy& c) const {
    const auto& kept = c.operator_policy ? wanted.operator_policies : wanted.policies;
    if (VHostGoes(c.vhost) || kept.count({c.vhost, c.name})) return std::nullopt;
    return cmd::ClearPolicy{c.vhost, c.name, c.operator_policy};
  }
  std::optional<Command> operator()(const cmd::SetParameter& c) const {
    if ((!c.vhost.empty() && VHostGoes(c.vhost)) ||
        wanted.parameters.count({c.component, c.vhost, c.name}))
      return std::nullopt;
    return cmd::ClearParameter{c.component, c.vhost, c.name};
  }
  std::optional<Command> operator()(const cmd::DeclareExchange& c) const {
    auto it = wanted.exchanges.find({c.vhost, c.name});
    if (VHostGoes(c.vhost) || (it != wanted.exchanges.end() && it->second == EncodeCommand(c)))
      return std::nullopt;
    return cmd::DeleteExchange{c.vhost, c.name, false};
  }
  std::optional<Command> operator()(const cmd::DeclareQueue& c) const {
    auto it = wanted.queues.find({c.vhost, c.name});
    if (VHostGoes(c.vhost) || (it != wanted.queues.end() && it->second == EncodeCommand(c)))
      return std::nullopt;
    return cmd::DeleteQueue{c.vhost, c.name, false, false, c.connection};
  }
  std::optional<Command> operator()(const cmd::Bind& c) const {
    if (VHostGoes(c.vhost) || wanted.bindings.count(EncodeCommand(c))) return std::nullopt;
    return cmd::Unbind{c.vhost,  c.source,    c.destination, c.routing_key,
                       c.to_queue, c.arguments, c.connection};
  }
  template <class Other>
  std::optional<Command> operator()(const Other&) const {
    return std::nullopt;
  }
};

// "queue 'q' in vhost '/'", for the log.
struct Naming {
  std::string operator()(const cmd::AddVHost& c) const { return "vhost '" + c.name + "'"; }
  std::string operator()(const cmd::AddUser& c) const { return "user '" + c.name + "'"; }
  std::string operator()(const cmd::SetPermissions& c) const {
    return "permissions of '" + c.user + "' in vhost '" + c.vhost + "'";
  }
  std::string operator()(const cmd::SetTopicPermission& c) const {
    return "topic permission of '" + c.user + "' on exchange '" + c.exchange + "' in vhost '" +
           c.vhost + "'";
  }
  std::string operator()(const cmd::SetUserLimits& c) const {
    return "limits of user '" + c.user + "'";
  }
  std::string operator()(const cmd::SetPolicy& c) const {
    return (c.operator_policy ? "operator policy '" : "policy '") + c.name + "' in vhost '" +
           c.vhost + "'";
  }
  std::string operator()(const cmd::SetParameter& c) const {
    return "parameter '" + c.name + "'" +
           (c.vhost.empty() ? std::string() : " of '" + c.component + "' in vhost '" + c.vhost + "'");
  }
  std::string operator()(const cmd::DeclareExchange& c) const {
    return "exchange '" + c.name + "' in vhost '" + c.vhost + "'";
  }
  std::string operator()(const cmd::DeclareQueue& c) const {
    return "queue '" + c.name + "' in vhost '" + c.vhost + "'";
  }
  std::string operator()(const cmd::SetMirrors& c) const {
    return "mirrors of queue '" + c.name + "' in vhost '" + c.vhost + "'";
  }
  std::string operator()(const cmd::Bind& c) const {
    return "binding '" + c.source + "' -> '" + c.destination + "' in vhost '" + c.vhost + "'";
  }
  template <class Other>
  std::string operator()(const Other&) const {
    return "command";
  }
};

// A queue kept by the removals above already has the mirrors the snapshot
// gives it: their epoch is no change.
bool HoldsAlready(const core::Broker& broker, const Command& c) {
  const auto* m = std::get_if<cmd::SetMirrors>(&c);
  if (!m) return false;
  auto v = broker.vhosts().find(m->vhost);
  if (v == broker.vhosts().end()) return false;
  auto it = v->second->queues().find(m->name);
  return it != v->second->queues().end() && it->second->mirrors() == m->mirrors;
}

}  // namespace

std::vector<Command> DescribeMetadata(const core::Broker& broker) {
  std::vector<Command> out;
  // With `update`, a vhost that exists takes the snapshot's metadata.
  for (const auto& [name, v] : broker.vhosts())
    out.push_back(cmd::AddVHost{name, v->metadata(), true});
  for (const auto& [name, u] : broker.users()) {
    out.push_back(cmd::AddUser{name, u.password_hash, u.tags});
    if (!u.limits.empty()) out.push_back(cmd::SetUserLimits{name, u.limits});
  }
  for (const auto& [user, per_vhost] : broker.permissions())
    for (const auto& [vhost, p] : per_vhost)
      out.push_back(cmd::SetPermissions{user, vhost, p.configure, p.write, p.read});
  for (const auto& [user, per_vhost] : broker.topic_permissions())
    for (const auto& [vhost, per_exchange] : per_vhost)
      for (const auto& [exchange, p] : per_exchange)
        out.push_back(cmd::SetTopicPermission{user, vhost, exchange, p.write, p.read});
  for (const auto& [name, v] : broker.vhosts()) DescribeVHost(*v, broker.self_member(), out);
  // Last: a vhost's queue limit may be below the queues it holds already.
  for (const auto& [key, value] : broker.parameters()) {
    const auto& [component, vhost, name] = key;
    out.push_back(cmd::SetParameter{component, vhost, name, value});
  }
  return out;
}

std::string EncodeSnapshot(const std::vector<Command>& commands) {
  std::string out(1, static_cast<char>(kSnapshotVersion));
  for (const Command& c : commands) raft::wire::PutBytes(out, EncodeCommand(c));
  return out;
}

Result<std::vector<Command>> DecodeSnapshot(std::string_view bytes) {
  auto refuse = [](const std::string& why) { return Error{0, "metadata snapshot: " + why}; };
  if (bytes.empty()) return refuse("no bytes at all");
  if (bytes.size() > raft::kMaxSnapshotBytes)
    return refuse(std::to_string(bytes.size()) + " bytes, past the bound of " +
                  std::to_string(raft::kMaxSnapshotBytes));
  auto version = static_cast<uint8_t>(bytes[0]);
  if (version != kSnapshotVersion)
    return refuse("version " + std::to_string(version) + ", this node reads version " +
                  std::to_string(kSnapshotVersion));
  std::vector<Command> commands;
  raft::wire::Reader r(bytes.substr(1));
  while (r.remaining() > 0) {
    size_t offset = bytes.size() - r.remaining();
    std::string_view encoded = r.Bytes(raft::kMaxEntryBytes);
    if (!r.ok())
      return refuse("command " + std::to_string(commands.size() + 1) + " at byte " +
                    std::to_string(offset) + ": " + r.why());
    Result<Command> c = DecodeCommand(encoded);
    if (!c.ok())
      return refuse("command " + std::to_string(commands.size() + 1) + " at byte " +
                    std::to_string(offset) + " does not decode: " + c.error().text);
    if (!IsDefinition(c.value()))
      return refuse("command " + std::to_string(commands.size() + 1) + " at byte " +
                    std::to_string(offset) + " is a change, not a definition");
    commands.push_back(std::move(c.value()));
  }
  return commands;
}

size_t ReconcileMetadata(core::Broker& broker, const std::vector<Command>& commands) {
  Inventory wanted(commands);
  std::vector<Command> current = DescribeMetadata(broker);
  // From the last to the first: bindings before what they join, a vhost's
  // objects before the vhost, permissions before their user.
  Removal removal{wanted};
  for (auto it = current.rbegin(); it != current.rend(); ++it)
    if (std::optional<Command> undo = std::visit(removal, *it))
      // Some are gone already (a queue's bindings go with it): not an error.
      (void)core::Apply(broker, *undo);
  size_t refused = 0;
  for (const Command& c : commands) {
    if (HoldsAlready(broker, c)) continue;
    core::Outcome o = core::Apply(broker, c);
    if (o.status.ok()) continue;
    ++refused;
    spdlog::error("cluster: the metadata snapshot's {} was refused: {}",
                  LogSafe(std::visit(Naming{}, c)), LogSafe(o.status.error().text, 1024));
  }
  return refused;
}

}  // namespace warren::cluster
