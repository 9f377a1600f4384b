#include "broker/store/definitions_records.h"

#include <algorithm>

#include "amqp/field_table.h"
#include "amqp/wire.h"
#include "common/text.h"

namespace warren::store::defs {

namespace {

std::string Str(amqp::Reader& r) { return std::string(r.LongStr()); }

template <class Map, class Pred>
void EraseIf(Map& m, Pred pred) {
  for (auto it = m.begin(); it != m.end();) it = pred(it->second) ? m.erase(it) : std::next(it);
}

constexpr const char* kTruncated = "it ends before its fields do";

void DeleteVHost(Definitions& m, const std::string& v) {
  m.vhosts.erase(v);
  EraseIf(m.operator_policies, [&](const core::PolicyDef& p) { return p.vhost == v; });
  EraseIf(m.parameters, [&](const core::ParameterDef& p) { return p.vhost == v; });
  EraseIf(m.permissions, [&](const core::PermissionDef& p) { return p.vhost == v; });
  EraseIf(m.topic_permissions, [&](const core::TopicPermissionDef& p) { return p.vhost == v; });
  EraseIf(m.exchanges, [&](const core::ExchangeDef& e) { return e.vhost == v; });
  EraseIf(m.queues, [&](const core::QueueDef& q) { return q.vhost == v; });
  EraseIf(m.bindings, [&](const core::BindingDef& b) { return b.vhost == v; });
  EraseIf(m.policies, [&](const core::PolicyDef& p) { return p.vhost == v; });
}

// At most this many member ids in a mirrors list: a cluster has far fewer.
constexpr size_t kMaxMirrorIds = 255;

// A count (one byte) and that many member ids, sorted and distinct.
std::string Ids(amqp::Reader& r, std::vector<uint64_t>& out) {
  uint8_t n = r.U8();
  for (uint8_t i = 0; i < n && r.ok(); ++i) {
    uint64_t id = r.U64();
    if (id == 0 || (!out.empty() && id <= out.back()))
      return "its mirrors are not distinct member ids in order";
    out.push_back(id);
  }
  return r.ok() ? "" : kTruncated;
}

// Decodes the table that ends a record; says why not. DecodeTable fails
// the reader on any error, so truncation before the table is told first.
std::string Table(amqp::Reader& r, amqp::FieldTable& out, int depth) {
  if (!r.ok()) return kTruncated;
  if (amqp::DecodeTable(r, out, depth)) return "";
  return "a field table in it does not decode (an unknown value type, a length that overruns, "
         "or nesting deeper than the store reads)";
}

std::string ApplyEntity(Definitions& m, uint8_t type, amqp::Reader& r, std::string_view payload,
                        int depth) {
  switch (type) {
    case kExchangePut: {
      core::ExchangeDef e{Str(r), Str(r), Str(r), false, false, {}};
      uint8_t flags = r.U8();
      e.auto_delete = flags & 1;
      e.internal = flags & 2;
      if (std::string why = Table(r, e.arguments, depth); !why.empty()) return why;
      m.exchanges[{e.vhost, e.name}] = std::move(e);
      return "";
    }
    case kQueuePut: {
      core::QueueDef q{Str(r), Str(r), 0, false, {}};
      q.id = r.U64();
      q.auto_delete = r.U8() & 1;
      if (std::string why = Table(r, q.arguments, depth); !why.empty()) return why;
      // Written by a cluster member for a queue homed elsewhere; records
      // from before clustering end at the table (this node's own). A
      // mirrored queue's record goes on with its mirrors (core/mirroring.h).
      if (r.remaining() >= 8) q.home = r.U64();
      if (r.remaining() >= 8) {
        q.mirrors.epoch = r.U64();
        if (std::string why = Ids(r, q.mirrors.members); !why.empty()) return why;
        if (std::string why = Ids(r, q.mirrors.in_sync); !why.empty()) return why;
      }
      m.next_queue_id = std::max(m.next_queue_id, q.id + 1);
      m.queues[{q.vhost, q.name}] = std::move(q);
      return "";
    }
    case kBindingPut:
    case kBindingDelete: {
      core::BindingDef b;
      b.vhost = Str(r);
      b.source = Str(r);
      b.to_queue = r.U8() & 1;
      b.destination = Str(r);
      b.routing_key = Str(r);
      if (std::string why = Table(r, b.arguments, depth); !why.empty()) return why;
      if (type == kBindingPut) m.bindings[std::string(payload)] = std::move(b);
      else m.bindings.erase(std::string(payload));
      return "";
    }
    case kPolicyPut: {
      core::PolicyDef p{Str(r), Str(r), Str(r), core::ApplyTo::kAll, 0, {}};
      std::string apply_to = Str(r);
      p.priority = static_cast<int32_t>(r.U32());
      auto parsed = core::ParseApplyTo(apply_to);
      if (r.ok() && !parsed) return "unknown apply-to '" + LogSafe(apply_to) + "'";
      if (std::string why = Table(r, p.definition, depth); !why.empty()) return why;
      p.apply_to = *parsed;
      p.operator_policy = r.remaining() >= 1 && (r.U8() & kOperatorPolicyFlag);
      (p.operator_policy ? m.operator_policies : m.policies)[{p.vhost, p.name}] = std::move(p);
      return "";
    }
    default: return "unknown record type " + std::to_string(type);
  }
}

}  // namespace

std::string Strings(std::initializer_list<std::string_view> items) {
  std::string out;
  amqp::Writer w(out);
  for (std::string_view s : items) w.LongStr(s);
  return out;
}

std::string EncodeVHost(const std::string& name, const core::VHostMetadata& metadata) {
  std::string out = Strings({name});
  if (metadata == core::VHostMetadata{}) return out;
  amqp::Writer w(out);
  w.LongStr(metadata.description);
  w.U32(static_cast<uint32_t>(metadata.tags.size()));
  for (const auto& t : metadata.tags) w.LongStr(t);
  w.LongStr(metadata.default_queue_type);
  w.U8(metadata.tracing ? 1 : 0);
  return out;
}

std::string EncodeUser(const core::UserDef& u) {
  std::string out = Strings({u.name, u.password_hash});
  amqp::Writer w(out);
  w.U32(static_cast<uint32_t>(u.tags.size()));
  for (const auto& t : u.tags) w.LongStr(t);
  if (u.limits.empty()) return out;
  w.U32(static_cast<uint32_t>(u.limits.size()));
  for (const auto& [name, value] : u.limits) {
    w.LongStr(name);
    w.U64(static_cast<uint64_t>(value));
  }
  return out;
}

std::string EncodePermissions(const core::PermissionDef& p) {
  return Strings({p.user, p.vhost, p.configure, p.write, p.read});
}

std::string EncodeTopicPermission(const core::TopicPermissionDef& p) {
  return Strings({p.user, p.vhost, p.exchange, p.write, p.read});
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
  if (q.home != 0 || q.mirrors.epoch != 0) amqp::Writer(out).U64(q.home);
  if (q.mirrors.epoch != 0) {
    amqp::Writer w2(out);
    w2.U64(q.mirrors.epoch);
    for (const std::vector<uint64_t>* ids : {&q.mirrors.members, &q.mirrors.in_sync}) {
      w2.U8(static_cast<uint8_t>(std::min<size_t>(ids->size(), kMaxMirrorIds)));
      for (size_t i = 0; i < ids->size() && i < kMaxMirrorIds; ++i) w2.U64((*ids)[i]);
    }
  }
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
  if (p.operator_policy) out += kOperatorPolicyFlag;
  return out;
}

std::string EncodeNumber(uint64_t n) {
  std::string out;
  amqp::Writer(out).U64(n);
  return out;
}

std::string Apply(Definitions& m, uint8_t type, std::string_view payload, int max_depth) {
  amqp::Reader r(payload);
  std::string why;
  switch (type) {
    case kVHostPut: {
      std::string name = Str(r);
      core::VHostMetadata meta;
      if (r.ok() && r.remaining() > 0) {
        meta.description = Str(r);
        uint32_t n = r.U32();
        for (uint32_t i = 0; i < n && r.ok(); ++i) meta.tags.push_back(Str(r));
        meta.default_queue_type = Str(r);
        meta.tracing = r.U8() & 1;
      }
      if (r.ok()) m.vhosts[name] = std::move(meta);
      break;
    }
    case kVHostDelete: DeleteVHost(m, Str(r)); break;
    case kUserPut: {
      core::UserDef u{Str(r), Str(r), {}};
      uint32_t n = r.U32();
      for (uint32_t i = 0; i < n && r.ok(); ++i) u.tags.push_back(Str(r));
      if (r.ok() && r.remaining() > 0) {
        uint32_t limits = r.U32();
        for (uint32_t i = 0; i < limits && r.ok(); ++i) {
          std::string name = Str(r);
          u.limits[name] = static_cast<int64_t>(r.U64());
        }
      }
      if (r.ok()) m.users[u.name] = std::move(u);
      break;
    }
    case kUserDelete: {
      std::string u = Str(r);
      m.users.erase(u);
      EraseIf(m.permissions, [&](const core::PermissionDef& p) { return p.user == u; });
      EraseIf(m.topic_permissions,
              [&](const core::TopicPermissionDef& p) { return p.user == u; });
      break;
    }
    case kPermissionsPut: {
      core::PermissionDef p{Str(r), Str(r), Str(r), Str(r), Str(r)};
      if (r.ok()) m.permissions[{p.user, p.vhost}] = std::move(p);
      break;
    }
    case kPermissionsDelete: {
      std::string u = Str(r), v = Str(r);
      if (r.ok()) m.permissions.erase({u, v});
      break;
    }
    case kTopicPermissionPut: {
      core::TopicPermissionDef p{Str(r), Str(r), Str(r), Str(r), Str(r)};
      if (r.ok()) m.topic_permissions[{p.user, p.vhost, p.exchange}] = std::move(p);
      break;
    }
    case kTopicPermissionDelete: {
      std::string u = Str(r), v = Str(r), x = Str(r);
      if (r.ok()) m.topic_permissions.erase({u, v, x});
      break;
    }
    case kExchangeDelete: {
      std::string v = Str(r), n = Str(r);
      if (!r.ok()) break;
      m.exchanges.erase({v, n});
      EraseIf(m.bindings, [&](const core::BindingDef& b) {
        return b.vhost == v && (b.source == n || (!b.to_queue && b.destination == n));
      });
      break;
    }
    case kQueueDelete: {
      std::string v = Str(r), n = Str(r);
      if (!r.ok()) break;
      m.queues.erase({v, n});
      EraseIf(m.bindings, [&](const core::BindingDef& b) {
        return b.vhost == v && b.to_queue && b.destination == n;
      });
      break;
    }
    case kPolicyDelete: {
      std::string v = Str(r), n = Str(r);
      bool op = r.ok() && r.remaining() >= 1 && (r.U8() & kOperatorPolicyFlag);
      if (r.ok()) (op ? m.operator_policies : m.policies).erase({v, n});
      break;
    }
    case kParameterPut: {
      core::ParameterDef p{Str(r), Str(r), Str(r), Str(r)};
      if (r.ok()) m.parameters[{p.component, p.vhost, p.name}] = std::move(p);
      break;
    }
    case kParameterDelete: {
      std::string c = Str(r), v = Str(r), n = Str(r);
      if (r.ok()) m.parameters.erase({c, v, n});
      break;
    }
    case kNextQueueId: {
      uint64_t id = r.U64();
      if (r.ok()) m.next_queue_id = std::max(m.next_queue_id, id);
      break;
    }
    case kMetadataApplied: {
      uint64_t index = r.U64();
      if (r.ok()) m.metadata_applied = std::max(m.metadata_applied, index);
      break;
    }
    default: why = ApplyEntity(m, type, r, payload, max_depth); break;
  }
  if (why.empty() && !r.ok()) why = kTruncated;
  return why;
}

std::string Describe(uint8_t type, std::string_view payload) {
  static constexpr const char* kNames[] = {
      "", "vhost", "vhost deletion", "user", "user deletion", "permissions",
      "permissions deletion", "exchange", "exchange deletion", "queue", "queue deletion",
      "binding", "binding deletion", "queue id", "policy", "policy deletion",
      "metadata log position", "parameter", "parameter deletion", "topic permission",
      "topic permission deletion"};
  if (type == 0 || type > kTopicPermissionDelete)
    return "record of unknown type " + std::to_string(type);
  std::string out = std::string(kNames[type]) + " record";
  amqp::Reader r(payload);
  auto quoted = [&](const char* what) {
    std::string s = Str(r);
    return r.ok() ? std::string(what) + " '" + LogSafe(s.substr(0, 200)) + "'" : std::string();
  };
  std::string first, second;
  switch (type) {
    case kVHostPut: case kVHostDelete: first = quoted("vhost"); break;
    case kUserPut: case kUserDelete: first = quoted("user"); break;
    case kPermissionsPut: case kPermissionsDelete:
    case kTopicPermissionPut: case kTopicPermissionDelete:
      first = quoted("user");
      second = quoted("vhost");
      break;
    case kNextQueueId: case kMetadataApplied: break;
    case kParameterPut: case kParameterDelete:
      first = quoted("component");
      second = quoted("vhost");
      break;
    default:
      first = quoted("vhost");
      second = quoted(type == kBindingPut || type == kBindingDelete ? "source" : "name");
  }
  if (!first.empty()) out += " (" + first + (second.empty() ? "" : ", " + second) + ")";
  return out;
}

}  // namespace warren::store::defs
