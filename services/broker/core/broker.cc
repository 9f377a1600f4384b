#include "broker/core/broker.h"

#include <algorithm>
#include <set>

#include <openssl/rand.h>

#include "amqp/constants.h"
#include "broker/core/errors.h"
#include "broker/core/regex.h"
#include "common/log.h"
#include "common/password.h"
#include "common/text.h"

namespace warren::core {

namespace {

using amqp::ReplyCode;

Error Err(ReplyCode code, const std::string& text) { return AmqpError(code, text); }

}  // namespace

Broker::Broker(Runtime& runtime, const NodeConfig& config) : runtime_(runtime), config_(config) {}

Broker::~Broker() = default;

VHost* Broker::FindVHost(const std::string& name) {
  auto it = vhosts_.find(name);
  return it == vhosts_.end() ? nullptr : it->second.get();
}

uint64_t Broker::PlaceQueue(const std::string& locator) const {
  if (self_member_ == 0 || !remote_ || locator == "client-local") return self_member_;
  std::vector<uint64_t> members = remote_->Members();
  if (members.empty()) return self_member_;
  if (locator == "random") {
    uint32_t pick = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&pick), sizeof pick);
    return members[pick % members.size()];
  }
  std::map<uint64_t, size_t> homed;
  for (uint64_t m : members) homed[m] = 0;
  for (const auto& [vname, v] : vhosts_)
    for (const auto& [qname, q] : v->queues())
      if (auto it = homed.find(HomeOf(*q)); it != homed.end())
        ++it->second;
  auto fewest = std::min_element(homed.begin(), homed.end(), [](const auto& a, const auto& b) {
    return a.second < b.second;
  });
  return fewest->first;
}

Status Broker::AddVHost(const std::string& name, const VHostMetadata& metadata, bool update) {
  if (name.empty()) return Err(ReplyCode::kPreconditionFailed, "vhost name must not be empty");
  if (Status s = ValidateDefaultQueueType(metadata.default_queue_type); !s.ok()) return s;
  if (metadata.description.size() > kMaxVHostDescription)
    return Err(ReplyCode::kPreconditionFailed, "vhost description is longer than 64 KiB");
  auto it = vhosts_.find(name);
  if (it != vhosts_.end()) {
    if (!update || it->second->metadata() == metadata) return Status::Ok();
    it->second->set_metadata(metadata);
  } else {
    it = vhosts_.emplace(name, std::make_unique<VHost>(*this, runtime_, name)).first;
    it->second->set_metadata(metadata);
    if (const std::string* limits = FindParameter({std::string(kVHostLimitsComponent), name,
                                                   "limits"}))
      it->second->set_limits(ParseVHostLimits(*limits));
  }
  if (Persistence* store = definitions()) store->PutVHost(name, metadata);
  return Status::Ok();
}

Status Broker::SetParameter(const ParameterDef& p, bool only_if_absent) {
  if (Status s = ValidateParameter(p.component, p.name, p.value); !s.ok()) return s;
  bool global = p.component.empty();
  if (global != p.vhost.empty())
    return Err(ReplyCode::kPreconditionFailed,
               "a parameter has both a component and a vhost, or neither (global)");
  VHost* v = global ? nullptr : FindVHost(p.vhost);
  if (!global && !v) return Err(ReplyCode::kNotFound, "no vhost '" + p.vhost + "'");
  ParameterKey key{p.component, p.vhost, p.name};
  auto [it, added] = parameters_.try_emplace(key, p.value);
  if (!added) {
    if (only_if_absent || it->second == p.value) return Status::Ok();
    it->second = p.value;
  }
  if (v && p.component == kVHostLimitsComponent) v->set_limits(ParseVHostLimits(p.value));
  if (Persistence* store = definitions()) store->PutParameter(p);
  return Status::Ok();
}

std::string Broker::ClusterName() const {
  const std::string* v = FindParameter({"", "", std::string(kClusterNameParameter)});
  std::string name = v ? JsonStringValue(*v) : std::string();
  return name.empty() ? config_.node_name : name;
}

std::string Broker::ClusterId() const {
  const std::string* v = FindParameter({"", "", std::string(kClusterIdParameter)});
  return v ? JsonStringValue(*v) : std::string();
}

Status Broker::ClearParameter(const ParameterKey& key) {
  auto it = parameters_.find(key);
  const auto& [component, vhost, name] = key;
  if (it == parameters_.end())
    return Err(ReplyCode::kNotFound, "Parameter does not exist");
  parameters_.erase(it);
  if (component == kVHostLimitsComponent)
    if (VHost* v = FindVHost(vhost)) v->set_limits({});
  if (Persistence* store = definitions()) store->DeleteParameter(key);
  return Status::Ok();
}

Status Broker::DeleteVHost(const std::string& name) {
  auto it = vhosts_.find(name);
  if (it == vhosts_.end()) return Err(ReplyCode::kNotFound, "no vhost '" + name + "'");
  // As RabbitMQ does, the vhost's connections go first (320 CONNECTION_FORCED).
  CloseClients(name, "", "vhost '" + name + "' is deleted");
  if (Persistence* store = definitions()) store->DeleteVHost(name);
  for (const auto& [queue_name, q] : it->second->queues())
    if (!q->remote()) ++counters_.queues_deleted;
  vhosts_.erase(it);
  std::erase_if(parameters_, [&](const auto& p) { return std::get<1>(p.first) == name; });
  for (auto& [user, per_vhost] : permissions_) per_vhost.erase(name);
  for (auto& [user, per_vhost] : topic_permissions_) per_vhost.erase(name);
  ++permissions_epoch_;
  return Status::Ok();
}

void Broker::StoreUser(const User& u) {
  if (Persistence* store = definitions())
    store->PutUser(UserDef{u.name, u.password_hash, u.tags, u.limits});
}

Status Broker::AddUser(const std::string& name, const std::string& password_hash,
                       std::vector<std::string> tags) {
  if (name.empty()) return Err(ReplyCode::kPreconditionFailed, "user name must not be empty");
  // A user put again keeps its limits, as RabbitMQ's does.
  User& u = users_[name];
  u = User{name, password_hash, std::move(tags), std::move(u.limits)};
  StoreUser(u);
  return Status::Ok();
}

Status Broker::DeleteUser(const std::string& name) {
  if (!users_.erase(name)) return Err(ReplyCode::kNotFound, "no user '" + name + "'");
  // As RabbitMQ does since 3.7: the user's connections go with it.
  CloseClients("", name, "user '" + name + "' is deleted");
  permissions_.erase(name);
  topic_permissions_.erase(name);
  ++permissions_epoch_;
  if (Persistence* store = definitions()) store->DeleteUser(name);
  return Status::Ok();
}

Status Broker::ChangePasswordHash(const std::string& name, const std::string& password_hash) {
  auto it = users_.find(name);
  if (it == users_.end()) return Err(ReplyCode::kNotFound, "no user '" + name + "'");
  it->second.password_hash = password_hash;
  StoreUser(it->second);
  return Status::Ok();
}

Status Broker::SetUserTags(const std::string& name, std::vector<std::string> tags) {
  auto it = users_.find(name);
  if (it == users_.end()) return Err(ReplyCode::kNotFound, "no user '" + name + "'");
  it->second.tags = std::move(tags);
  StoreUser(it->second);
  return Status::Ok();
}

void Broker::CloseClients(const std::string& vhost, const std::string& user,
                          const std::string& reason) {
  std::vector<ClientConnection*> doomed;
  for (auto& [id, c] : clients_) {
    ConnectionInfo info = c->Describe();
    if ((vhost.empty() || info.vhost == vhost) && (user.empty() || info.user == user))
      doomed.push_back(c);
  }
  // ForceClose unregisters, so the map is not walked while it changes.
  for (ClientConnection* c : doomed) c->ForceClose(reason);
}

const User* Broker::FindUser(const std::string& name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

const User* Broker::Authenticate(const std::string& name, const std::string& password) const {
  const User* u = FindUser(name);
  if (!u || u->password_hash.empty() || !CheckPassword(password, u->password_hash)) return nullptr;
  return u;
}

bool Broker::IsLoopbackOnly(const std::string& user) const {
  const auto& l = config_.loopback_users;
  return std::find(l.begin(), l.end(), user) != l.end();
}

Status Broker::SetPermissions(const std::string& user, const std::string& vhost,
                              const std::string& configure, const std::string& write,
                              const std::string& read) {
  if (!FindUser(user)) return Err(ReplyCode::kNotFound, "no user '" + user + "'");
  if (!vhosts_.count(vhost)) return Err(ReplyCode::kNotFound, "no vhost '" + vhost + "'");
  Permissions p{configure, write, read, {}, {}, {}};
  for (auto [pattern, re] : {std::pair{&configure, &p.configure_re}, {&write, &p.write_re},
                             {&read, &p.read_re}})
    if (!Pattern::Compile(*pattern, *re))
      return Err(ReplyCode::kPreconditionFailed, "invalid regular expression '" + *pattern + "'");
  permissions_[user][vhost] = std::move(p);
  ++permissions_epoch_;
  if (Persistence* store = definitions())
    store->PutPermissions(PermissionDef{user, vhost, configure, write, read});
  return Status::Ok();
}

void Broker::ClearPermissions(const std::string& user, const std::string& vhost) {
  auto it = permissions_.find(user);
  if (it == permissions_.end() || !it->second.erase(vhost)) return;
  ++permissions_epoch_;
  if (Persistence* store = definitions()) store->DeletePermissions(user, vhost);
}

namespace {

// RabbitMQ's topic permission variables (docs/access.md): {username} and
// {vhost}, replaced as text before the pattern is compiled.
std::string ExpandTopicPattern(std::string pattern, const std::string& user,
                               const std::string& vhost) {
  for (auto [from, to] : {std::pair<std::string_view, const std::string*>{"{username}", &user},
                          {"{vhost}", &vhost}}) {
    for (size_t at = pattern.find(from); at != std::string::npos;
         at = pattern.find(from, at + to->size()))
      pattern.replace(at, from.size(), *to);
  }
  // An empty pattern matches the empty key only.
  return pattern.empty() ? "^$" : pattern;
}

}  // namespace

Status Broker::SetTopicPermission(const TopicPermissionDef& d) {
  if (!FindUser(d.user)) return Err(ReplyCode::kNotFound, "no user '" + d.user + "'");
  if (!vhosts_.count(d.vhost)) return Err(ReplyCode::kNotFound, "no vhost '" + d.vhost + "'");
  TopicPermission p{d.write, d.read, {}, {}};
  for (auto [pattern, re] : {std::pair{&d.write, &p.write_re}, {&d.read, &p.read_re}})
    if (!Pattern::Compile(ExpandTopicPattern(*pattern, d.user, d.vhost), *re))
      return Err(ReplyCode::kPreconditionFailed, "invalid regular expression '" + *pattern + "'");
  topic_permissions_[d.user][d.vhost][d.exchange] = std::move(p);
  if (Persistence* store = definitions()) store->PutTopicPermission(d);
  return Status::Ok();
}

void Broker::ClearTopicPermissions(const std::string& user, const std::string& vhost,
                                   const std::string& exchange, bool all) {
  auto u = topic_permissions_.find(user);
  if (u == topic_permissions_.end()) return;
  auto v = u->second.find(vhost);
  if (v == u->second.end()) return;
  std::vector<std::string> gone;
  for (const auto& [name, p] : v->second)
    if (all || name == exchange) gone.push_back(name);
  for (const std::string& name : gone) {
    v->second.erase(name);
    if (Persistence* store = definitions()) store->DeleteTopicPermission(user, vhost, name);
  }
  if (v->second.empty()) u->second.erase(v);
  if (u->second.empty()) topic_permissions_.erase(u);
}

bool Broker::TopicAllowed(const std::string& user, const std::string& vhost,
                          const std::string& exchange, Access access,
                          const std::string& routing_key) const {
  auto u = topic_permissions_.find(user);
  if (u == topic_permissions_.end()) return true;
  auto v = u->second.find(vhost);
  if (v == u->second.end()) return true;
  auto x = v->second.find(exchange);
  if (x == v->second.end()) return true;
  return (access == Access::kWrite ? x->second.write_re : x->second.read_re).Search(routing_key);
}

std::string UserLimitsProblem(const UserLimits& limits) {
  for (const auto& [name, value] : limits)
    if (name != kMaxConnections && name != kMaxChannels)
      return "Validation failed\n\n" + name + " is not a user limit (" +
             std::string(kMaxConnections) + ", " + std::string(kMaxChannels) + ")";
  return "";
}

Status Broker::SetUserLimits(const std::string& user, const UserLimits& limits) {
  auto it = users_.find(user);
  if (it == users_.end()) return Err(ReplyCode::kNotFound, "no user '" + user + "'");
  if (std::string why = UserLimitsProblem(limits); !why.empty())
    return Err(ReplyCode::kPreconditionFailed, why);
  for (const auto& [name, value] : limits) it->second.limits[name] = value;
  StoreUser(it->second);
  return Status::Ok();
}

Status Broker::ClearUserLimits(const std::string& user, const std::string& name, bool all) {
  auto it = users_.find(user);
  if (it == users_.end()) return Err(ReplyCode::kNotFound, "no user '" + user + "'");
  if (all) it->second.limits.clear();
  else it->second.limits.erase(name);
  StoreUser(it->second);
  return Status::Ok();
}

std::optional<int64_t> Broker::UserLimit(const std::string& user, std::string_view name) const {
  const User* u = FindUser(user);
  if (!u) return std::nullopt;
  auto it = u->limits.find(std::string(name));
  if (it == u->limits.end() || it->second < 0) return std::nullopt;
  return it->second;
}

ConnectionCensus Broker::LocalCensus(const std::string& vhost, const std::string& user) const {
  ConnectionCensus census;
  if (auto it = vhosts_.find(vhost); it != vhosts_.end())
    census.vhost_connections = it->second->connection_count();
  for (const auto& [id, c] : clients_)
    if (c->user_name() == user) {
      ++census.user_connections;
      census.user_channels += c->open_channels();
    }
  return census;
}

void Broker::ClusterCensus(const std::string& vhost, const std::string& user,
                           std::function<void(ConnectionCensus)> done) {
  std::vector<uint64_t> others;
  if (remote_ && self_member_ != 0)
    for (uint64_t m : remote_->Members())
      if (m != self_member_) others.push_back(m);
  if (others.empty()) {
    done(LocalCensus(vhost, user));
    return;
  }
  // Shared by the members' answers and the deadline; whichever comes last
  // (or the deadline) answers.
  struct Round {
    ConnectionCensus sum;
    std::set<uint64_t> waiting;
    std::function<void(ConnectionCensus)> done;
    TimerId deadline = 0;
  };
  auto round = std::make_shared<Round>();
  round->waiting.insert(others.begin(), others.end());
  round->done = std::move(done);
  auto finish = [this, round, vhost, user] {
    if (!round->done) return;
    runtime_.Cancel(round->deadline);
    for (uint64_t m : round->waiting)
      spdlog::error("counting connections of vhost '{}' and user '{}': member {} ({}) did not "
                    "answer within {} ms; counted as none",
                    vhost, user, m, remote_ ? remote_->NodeName(m) : "", kCensusTimeoutMs);
    ConnectionCensus total = round->sum;
    total += LocalCensus(vhost, user);
    auto answer = std::move(round->done);
    round->done = nullptr;
    answer(total);
  };
  round->deadline = runtime_.ScheduleAfter(kCensusTimeoutMs, finish);
  for (uint64_t m : others) {
    remote_->Census(m, vhost, user, [this, round, finish, m](RemoteReply r) {
      if (!round->done || !round->waiting.erase(m)) return;
      if (r.status.ok()) round->sum += r.census;
      else
        spdlog::error("counting connections: member {} ({}) could not be asked: {}; counted as "
                      "none",
                      m, remote_ ? remote_->NodeName(m) : "", r.status.error().text);
      if (round->waiting.empty()) finish();
    });
  }
}

void Broker::SetAlarm(Alarm alarm, bool on) {
  bool was = alarms_ != 0;
  if (on) alarms_ |= static_cast<uint8_t>(alarm);
  else alarms_ &= static_cast<uint8_t>(~static_cast<uint8_t>(alarm));
  bool now = alarms_ != 0;
  if (was == now) return;
  // Listeners may unregister (a connection closing) while being told.
  std::vector<AlarmListener*> listeners(alarm_listeners_.begin(), alarm_listeners_.end());
  for (AlarmListener* l : listeners)
    if (alarm_listeners_.count(l)) l->OnAlarmChanged(now);
}

bool Broker::CanAccessVHost(const std::string& user, const std::string& vhost) const {
  auto it = permissions_.find(user);
  return it != permissions_.end() && it->second.count(vhost) > 0;
}

bool Broker::Allowed(const std::string& user, const std::string& vhost, Access access,
                     const std::string& resource) const {
  auto u = permissions_.find(user);
  if (u == permissions_.end()) return false;
  auto v = u->second.find(vhost);
  if (v == u->second.end()) return false;
  const Permissions& p = v->second;
  const std::string& pattern =
      access == Access::kConfigure ? p.configure : access == Access::kWrite ? p.write : p.read;
  if (pattern.empty()) return false;
  const Pattern& re = access == Access::kConfigure ? p.configure_re
                      : access == Access::kWrite  ? p.write_re
                                                  : p.read_re;
  const std::string& name = resource.empty() ? std::string("amq.default") : resource;
  return re.Search(name);
}

std::string Broker::RegisterReplyTo(DirectReplySink* sink) {
  unsigned char raw[12];
  RAND_bytes(raw, sizeof raw);
  // The member comes first, so another node knows where to send a reply.
  std::string key = std::string(kReplyToQueue) + "." + std::to_string(self_member_) + "." +
                    ToHex(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw)) + "." +
                    std::to_string(++reply_to_counter_);
  reply_to_[key] = sink;
  return key;
}

void Broker::UnregisterReplyTo(const std::string& key) { reply_to_.erase(key); }

DirectReplySink* Broker::FindReplyTo(const std::string& key) const {
  auto it = reply_to_.find(key);
  return it == reply_to_.end() ? nullptr : it->second;
}

uint64_t ReplyToMember(std::string_view key) {
  std::string_view prefix = kReplyToQueue;
  if (key.size() <= prefix.size() + 1 || key.substr(0, prefix.size()) != prefix ||
      key[prefix.size()] != '.')
    return 0;
  key.remove_prefix(prefix.size() + 1);
  uint64_t member = 0;
  size_t digits = 0;
  for (; digits < key.size() && key[digits] != '.'; ++digits) {
    char c = key[digits];
    if (c < '0' || c > '9' || digits >= 19) return 0;  // not a member id
    member = member * 10 + static_cast<uint64_t>(c - '0');
  }
  if (digits == 0 || digits == key.size()) return 0;
  return member;
}

}  // namespace warren::core
