#include "broker/store/definitions.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "amqp/field_table.h"
#include "amqp/wire.h"
#include "broker/store/file_io.h"
#include "broker/store/record.h"
#include "common/log.h"

namespace warren::store {

namespace {

enum Type : uint8_t {
  kVHostPut = 1, kVHostDelete, kUserPut, kUserDelete, kPermissionsPut, kPermissionsDelete,
  kExchangePut, kExchangeDelete, kQueuePut, kQueueDelete, kBindingPut, kBindingDelete,
  kNextQueueId, kPolicyPut, kPolicyDelete,
};

constexpr const char* kFile = "definitions.log";

std::string Strings(std::initializer_list<std::string_view> items) {
  std::string out;
  amqp::Writer w(out);
  for (std::string_view s : items) w.LongStr(s);
  return out;
}

std::string EncodeUser(const core::UserDef& u) {
  std::string out = Strings({u.name, u.password_hash});
  amqp::Writer w(out);
  w.U32(static_cast<uint32_t>(u.tags.size()));
  for (const auto& t : u.tags) w.LongStr(t);
  return out;
}

std::string EncodeExchange(const core::ExchangeDef& e) {
  std::string out = Strings({e.vhost, e.name, e.type});
  amqp::Writer(out).U8(static_cast<uint8_t>((e.auto_delete ? 1 : 0) | (e.internal ? 2 : 0)));
  amqp::EncodeTable(e.arguments, out);
  return out;
}

std::string EncodeQueue(const core::QueueDef& q) {
  std::string out = Strings({q.vhost, q.name});
  amqp::Writer w(out);
  w.U64(q.id);
  w.U8(q.auto_delete ? 1 : 0);
  amqp::EncodeTable(q.arguments, out);
  return out;
}

std::string EncodeBinding(const core::BindingDef& b) {
  std::string out = Strings({b.vhost, b.source});
  amqp::Writer(out).U8(b.to_queue ? 1 : 0);
  amqp::Writer(out).LongStr(b.destination);
  amqp::Writer(out).LongStr(b.routing_key);
  amqp::EncodeTable(b.arguments, out);
  return out;
}

std::string EncodePolicy(const core::PolicyDef& p) {
  std::string out = Strings({p.vhost, p.name, p.pattern, core::ApplyToName(p.apply_to)});
  amqp::Writer(out).U32(static_cast<uint32_t>(p.priority));
  amqp::EncodeTable(p.definition, out);
  return out;
}

std::string Str(amqp::Reader& r) { return std::string(r.LongStr()); }

template <class Map, class Pred>
void EraseIf(Map& m, Pred pred) {
  for (auto it = m.begin(); it != m.end();) it = pred(it->second) ? m.erase(it) : std::next(it);
}

}  // namespace

DefinitionsLog::~DefinitionsLog() {
  if (fd_ >= 0) fs_.Close(fd_);
}

bool DefinitionsLog::Apply(uint8_t type, std::string_view payload) {
  amqp::Reader r(payload);
  Definitions& m = model_;
  switch (type) {
    case kVHostPut: m.vhosts.insert(Str(r)); break;
    case kVHostDelete: {
      std::string v = Str(r);
      m.vhosts.erase(v);
      EraseIf(m.permissions, [&](const core::PermissionDef& p) { return p.vhost == v; });
      EraseIf(m.exchanges, [&](const core::ExchangeDef& e) { return e.vhost == v; });
      EraseIf(m.queues, [&](const core::QueueDef& q) { return q.vhost == v; });
      EraseIf(m.bindings, [&](const core::BindingDef& b) { return b.vhost == v; });
      EraseIf(m.policies, [&](const core::PolicyDef& p) { return p.vhost == v; });
      break;
    }
    case kUserPut: {
      core::UserDef u{Str(r), Str(r), {}};
      uint32_t n = r.U32();
      for (uint32_t i = 0; i < n && r.ok(); ++i) u.tags.push_back(Str(r));
      if (r.ok()) m.users[u.name] = std::move(u);
      break;
    }
    case kUserDelete: {
      std::string u = Str(r);
      m.users.erase(u);
      EraseIf(m.permissions, [&](const core::PermissionDef& p) { return p.user == u; });
      break;
    }
    case kPermissionsPut: {
      core::PermissionDef p{Str(r), Str(r), Str(r), Str(r), Str(r)};
      if (r.ok()) m.permissions[{p.user, p.vhost}] = std::move(p);
      break;
    }
    case kPermissionsDelete: {
      std::string u = Str(r), v = Str(r);
      m.permissions.erase({u, v});
      break;
    }
    case kExchangePut: {
      core::ExchangeDef e{Str(r), Str(r), Str(r), false, false, {}};
      uint8_t flags = r.U8();
      e.auto_delete = flags & 1;
      e.internal = flags & 2;
      if (!amqp::DecodeTable(r, e.arguments)) return false;
      if (r.ok()) m.exchanges[{e.vhost, e.name}] = std::move(e);
      break;
    }
    case kExchangeDelete: {
      std::string v = Str(r), n = Str(r);
      m.exchanges.erase({v, n});
      EraseIf(m.bindings, [&](const core::BindingDef& b) {
        return b.vhost == v && (b.source == n || (!b.to_queue && b.destination == n));
      });
      break;
    }
    case kQueuePut: {
      core::QueueDef q{Str(r), Str(r), 0, false, {}};
      q.id = r.U64();
      q.auto_delete = r.U8() & 1;
      if (!amqp::DecodeTable(r, q.arguments)) return false;
      if (!r.ok()) return false;
      m.next_queue_id = std::max(m.next_queue_id, q.id + 1);
      m.queues[{q.vhost, q.name}] = std::move(q);
      break;
    }
    case kQueueDelete: {
      std::string v = Str(r), n = Str(r);
      m.queues.erase({v, n});
      EraseIf(m.bindings, [&](const core::BindingDef& b) {
        return b.vhost == v && b.to_queue && b.destination == n;
      });
      break;
    }
    case kBindingPut:
    case kBindingDelete: {
      core::BindingDef b;
      b.vhost = Str(r);
      b.source = Str(r);
      b.to_queue = r.U8() & 1;
      b.destination = Str(r);
      b.routing_key = Str(r);
      if (!amqp::DecodeTable(r, b.arguments) || !r.ok()) return false;
      if (type == kBindingPut) m.bindings[std::string(payload)] = std::move(b);
      else m.bindings.erase(std::string(payload));
      break;
    }
    case kPolicyPut: {
      core::PolicyDef p{Str(r), Str(r), Str(r), core::ApplyTo::kAll, 0, {}};
      auto apply_to = core::ParseApplyTo(Str(r));
      p.priority = static_cast<int32_t>(r.U32());
      if (!apply_to || !amqp::DecodeTable(r, p.definition) || !r.ok()) return false;
      p.apply_to = *apply_to;
      m.policies[{p.vhost, p.name}] = std::move(p);
      break;
    }
    case kPolicyDelete: {
      std::string v = Str(r), n = Str(r);
      m.policies.erase({v, n});
      break;
    }
    case kNextQueueId: m.next_queue_id = std::max(m.next_queue_id, r.U64()); break;
    default: return false;
  }
  return r.ok();
}

void DefinitionsLog::Record(uint8_t type, const std::string& payload) {
  Apply(type, payload);
  if (fd_ < 0) return;
  std::string out;
  size_t at = BeginRecord(out, type);
  out += payload;
  FinishRecord(out, at);
  if (Status s = WriteAll(fs_, fd_, out); !s.ok())
    spdlog::error("store: cannot write {}/{}: {}", dir_, kFile, s.error().text);
}

Status DefinitionsLog::Open(const std::string& dir, bool& fresh) {
  dir_ = dir;
  std::string path = dir + "/" + kFile;
  size_t bad = 0;
  auto scan = ScanFile(fs_, path, [&](uint8_t type, std::string_view payload, uint64_t) {
    if (!Apply(type, payload)) ++bad;
  });
  if (!scan.ok()) return scan.error();
  const ScanResult& r = scan.value();
  fresh = !r.exists;
  if (!r.why.empty())
    spdlog::warn("store: {}: {} at offset {}; dropped {} bytes after it", path, r.why, r.good_end,
                 r.dropped);
  if (bad) spdlog::warn("store: {}: skipped {} records that did not decode", path, bad);
  return Compact();
}

Status DefinitionsLog::Compact() {
  std::string out;
  auto put = [&](uint8_t type, const std::string& payload) {
    size_t at = BeginRecord(out, type);
    out += payload;
    FinishRecord(out, at);
  };
  std::string next;
  amqp::Writer(next).U64(model_.next_queue_id);
  put(kNextQueueId, next);
  for (const auto& v : model_.vhosts) put(kVHostPut, Strings({v}));
  for (const auto& [n, u] : model_.users) put(kUserPut, EncodeUser(u));
  for (const auto& [k, p] : model_.permissions)
    put(kPermissionsPut, Strings({p.user, p.vhost, p.configure, p.write, p.read}));
  for (const auto& [k, e] : model_.exchanges) put(kExchangePut, EncodeExchange(e));
  for (const auto& [k, q] : model_.queues) put(kQueuePut, EncodeQueue(q));
  for (const auto& [k, b] : model_.bindings) put(kBindingPut, k);
  for (const auto& [k, p] : model_.policies) put(kPolicyPut, EncodePolicy(p));
  std::string path = dir_ + "/" + kFile, tmp = path + ".tmp";
  int fd = fs_.Open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return IoError(tmp + ": " + std::strerror(errno));
  Status s = WriteAll(fs_, fd, out);
  if (s.ok() && fs_.Fsync(fd) != 0) s = IoError(std::strerror(errno));
  fs_.Close(fd);
  if (!s.ok()) return IoError(tmp + ": " + s.error().text);
  if (fs_.Rename(tmp, path) != 0) return IoError(path + ": " + std::strerror(errno));
  SyncDirectory(fs_, dir_);
  fd_ = fs_.Open(path, O_WRONLY | O_APPEND);
  if (fd_ < 0) return IoError(path + ": " + std::strerror(errno));
  return Status::Ok();
}

void DefinitionsLog::PutVHost(const std::string& name) { Record(kVHostPut, Strings({name})); }
void DefinitionsLog::DeleteVHost(const std::string& name) { Record(kVHostDelete, Strings({name})); }
void DefinitionsLog::PutUser(const core::UserDef& user) { Record(kUserPut, EncodeUser(user)); }
void DefinitionsLog::DeleteUser(const std::string& name) { Record(kUserDelete, Strings({name})); }
void DefinitionsLog::PutPermissions(const core::PermissionDef& p) {
  Record(kPermissionsPut, Strings({p.user, p.vhost, p.configure, p.write, p.read}));
}
void DefinitionsLog::DeletePermissions(const std::string& user, const std::string& vhost) {
  Record(kPermissionsDelete, Strings({user, vhost}));
}
void DefinitionsLog::PutExchange(const core::ExchangeDef& e) {
  Record(kExchangePut, EncodeExchange(e));
}
void DefinitionsLog::DeleteExchange(const std::string& vhost, const std::string& name) {
  Record(kExchangeDelete, Strings({vhost, name}));
}
uint64_t DefinitionsLog::NewQueueId() { return model_.next_queue_id++; }
void DefinitionsLog::PutQueue(const core::QueueDef& q) { Record(kQueuePut, EncodeQueue(q)); }
void DefinitionsLog::DeleteQueue(const std::string& vhost, const std::string& name) {
  Record(kQueueDelete, Strings({vhost, name}));
}
void DefinitionsLog::PutBinding(const core::BindingDef& b) {
  Record(kBindingPut, EncodeBinding(b));
}
void DefinitionsLog::DeleteBinding(const core::BindingDef& b) {
  Record(kBindingDelete, EncodeBinding(b));
}

void DefinitionsLog::PutPolicy(const core::PolicyDef& p) { Record(kPolicyPut, EncodePolicy(p)); }
void DefinitionsLog::DeletePolicy(const std::string& vhost, const std::string& name) {
  Record(kPolicyDelete, Strings({vhost, name}));
}

}  // namespace warren::store
