// Metadata commands to and from the bytes of a Raft log entry
// (docs/cluster.md, "Metadata commands on the wire").
//
// Encoding copies a command into its message of
// proto/warren/v1/metadata.proto. Decoding reads what a peer sent or the
// disk held, so it trusts nothing: it bounds the input before parsing,
// refuses fields this version does not know (it would apply something other
// than what was committed), and holds every name, tag, hash, pattern and
// table to a bound, the model's own (core/limits.h) where it has one. A
// refusal is one line naming the kind and the field, never the field's bytes.
#include "broker/cluster/command_codec.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

#include "amqp/constants.h"
#include "amqp/wire.h"
#include "broker/core/limits.h"
#include "warren/v1/metadata.pb.h"

namespace warren::cluster {
namespace {

using Pb = v1::MetadataCommand;
namespace cmd = core::cmd;

// The largest entry decoded. A command is short names and at most one field
// table, and with the default frame_max (128 KiB) no client can send a table
// near this size. A decoded table takes some tens of times its encoded size in
// memory, so this is what keeps one hostile entry from costing a node more
// than tens of MiB. It is well under Raft's own entry limit (8 MiB).
constexpr size_t kMaxCommandBytes = size_t{1} << 20;

// A password hash: Warren makes and accepts only RabbitMQ's SHA-256 format
// (48 characters of base64, checked by Admin and definitions import), or
// none. 255 leaves room for RabbitMQ's longer formats (SHA-512: 92).
constexpr size_t kMaxPasswordHash = 255;

// A permission's or policy's regular expression, which every node compiles
// when it applies the command. Admin bounds these only by its 64 MiB message
// size; 64 KiB is far beyond any pattern written by hand or by a tool.
constexpr size_t kMaxPattern = size_t{64} << 10;

// Limits in one SetUserLimits: Warren knows two; a few more leave room for
// RabbitMQ's future names, which the model then refuses by name.
constexpr size_t kMaxUserLimits = 8;

// Tables are read to twice the model's depth, so one nested a little too deep
// is refused by core::CheckTable, whose text names the depth, rather than as
// unreadable. The table reader recurses once a level; the store reads its own
// records to this depth too (store::kMaxStoredTableDepth).
// Mirrors of one queue: a cluster of Warren nodes is a handful of members;
// this only bounds what a hostile entry can make a node allocate.
constexpr size_t kMaxMirrors = 255;

constexpr int kReadTableDepth = 2 * amqp::kMaxTableDepth;

// The model words its refusals for a client ("PRECONDITION_FAILED - queue
// name is ..."); an entry has no client to close, so only the words are kept.
std::string ModelText(const Status& status) {
  std::string_view text = status.error().text;
  std::string code(amqp::ReplyCodeName(static_cast<amqp::ReplyCode>(status.error().code)));
  if (text.starts_with(code + " - ")) text.remove_prefix(code.size() + 3);
  return std::string(text);
}

std::string TableBytes(const amqp::FieldTable& table) {
  std::string out;
  if (!table.empty()) amqp::EncodeTable(table, out);  // empty: no bytes at all
  return out;
}

// ---- Encoding --------------------------------------------------------------

template <class Message, class Binding>
void WriteBinding(Message& m, const Binding& c) {
  m.set_vhost(c.vhost);
  m.set_source(c.source);
  m.set_destination(c.destination);
  m.set_routing_key(c.routing_key);
  m.set_to_queue(c.to_queue);
  m.set_arguments(TableBytes(c.arguments));
  m.set_connection(c.connection);
}

Pb::ApplyTo ApplyToPb(core::ApplyTo a) {
  switch (a) {
    case core::ApplyTo::kAll: return Pb::APPLY_TO_ALL;
    case core::ApplyTo::kQueues: return Pb::APPLY_TO_QUEUES;
    case core::ApplyTo::kExchanges: return Pb::APPLY_TO_EXCHANGES;
  }
  return Pb::APPLY_TO_ALL;
}

struct Writer {
  Pb& out;

  void operator()(const cmd::AddVHost& c) {
    Pb::AddVHost& m = *out.mutable_add_vhost();
    m.set_name(c.name);
    m.set_description(c.metadata.description);
    for (const std::string& tag : c.metadata.tags) m.add_tags(tag);
    m.set_default_queue_type(c.metadata.default_queue_type);
    m.set_tracing(c.metadata.tracing);
    m.set_update(c.update);
    m.set_grant_user(c.grant_user);
  }
  void operator()(const cmd::DeleteVHost& c) { out.mutable_delete_vhost()->set_name(c.name); }
  void operator()(const cmd::AddUser& c) {
    Pb::AddUser& m = *out.mutable_add_user();
    m.set_name(c.name);
    m.set_password_hash(c.password_hash);
    for (const std::string& tag : c.tags) m.add_tags(tag);
  }
  void operator()(const cmd::DeleteUser& c) { out.mutable_delete_user()->set_name(c.name); }
  void operator()(const cmd::ChangePassword& c) {
    Pb::ChangePassword& m = *out.mutable_change_password();
    m.set_name(c.name);
    m.set_password_hash(c.password_hash);
  }
  void operator()(const cmd::SetUserTags& c) {
    Pb::SetUserTags& m = *out.mutable_set_user_tags();
    m.set_name(c.name);
    for (const std::string& tag : c.tags) m.add_tags(tag);
  }
  void operator()(const cmd::SetPermissions& c) {
    Pb::SetPermissions& m = *out.mutable_set_permissions();
    m.set_user(c.user);
    m.set_vhost(c.vhost);
    m.set_configure(c.configure);
    m.set_write(c.write);
    m.set_read(c.read);
  }
  void operator()(const cmd::ClearPermissions& c) {
    Pb::ClearPermissions& m = *out.mutable_clear_permissions();
    m.set_user(c.user);
    m.set_vhost(c.vhost);
  }
  void operator()(const cmd::SetTopicPermission& c) {
    Pb::SetTopicPermission& m = *out.mutable_set_topic_permission();
    m.set_user(c.user);
    m.set_vhost(c.vhost);
    m.set_exchange(c.exchange);
    m.set_write(c.write);
    m.set_read(c.read);
  }
  void operator()(const cmd::ClearTopicPermissions& c) {
    Pb::ClearTopicPermissions& m = *out.mutable_clear_topic_permissions();
    m.set_user(c.user);
    m.set_vhost(c.vhost);
    m.set_exchange(c.exchange);
    m.set_all_exchanges(c.all);
  }
  void operator()(const cmd::SetUserLimits& c) {
    Pb::SetUserLimits& m = *out.mutable_set_user_limits();
    m.set_user(c.user);
    for (const auto& [name, value] : c.limits) {
      Pb::UserLimit& l = *m.add_limits();
      l.set_name(name);
      l.set_value(value);
    }
  }
  void operator()(const cmd::ClearUserLimits& c) {
    Pb::ClearUserLimits& m = *out.mutable_clear_user_limits();
    m.set_user(c.user);
    m.set_name(c.name);
    m.set_all(c.all);
  }
  void operator()(const cmd::SetPolicy& c) {
    Pb::SetPolicy& m = *out.mutable_set_policy();
    m.set_vhost(c.vhost);
    m.set_name(c.name);
    m.set_pattern(c.pattern);
    m.set_apply_to(ApplyToPb(c.apply_to));
    m.set_priority(c.priority);
    m.set_definition(TableBytes(c.definition));
    m.set_operator_policy(c.operator_policy);
  }
  void operator()(const cmd::ClearPolicy& c) {
    Pb::ClearPolicy& m = *out.mutable_clear_policy();
    m.set_vhost(c.vhost);
    m.set_name(c.name);
    m.set_operator_policy(c.operator_policy);
  }
  void operator()(const cmd::SetParameter& c) {
    Pb::SetParameter& m = *out.mutable_set_parameter();
    m.set_component(c.component);
    m.set_vhost(c.vhost);
    m.set_name(c.name);
    m.set_value(c.value);
    m.set_only_if_absent(c.only_if_absent);
  }
  void operator()(const cmd::ClearParameter& c) {
    Pb::ClearParameter& m = *out.mutable_clear_parameter();
    m.set_component(c.component);
    m.set_vhost(c.vhost);
    m.set_name(c.name);
  }
  void operator()(const cmd::DeclareExchange& c) {
    Pb::DeclareExchange& m = *out.mutable_declare_exchange();
    m.set_vhost(c.vhost);
    m.set_name(c.name);
    m.set_type(c.type);
    m.set_durable(c.durable);
    m.set_auto_delete(c.auto_delete);
    m.set_internal(c.internal);
    m.set_arguments(TableBytes(c.arguments));
  }
  void operator()(const cmd::DeleteExchange& c) {
    Pb::DeleteExchange& m = *out.mutable_delete_exchange();
    m.set_vhost(c.vhost);
    m.set_name(c.name);
    m.set_if_unused(c.if_unused);
  }
  void operator()(const cmd::DeclareQueue& c) {
    Pb::DeclareQueue& m = *out.mutable_declare_queue();
    m.set_vhost(c.vhost);
    m.set_name(c.name);
    m.set_durable(c.durable);
    m.set_exclusive(c.exclusive);
    m.set_auto_delete(c.auto_delete);
    m.set_arguments(TableBytes(c.arguments));
    m.set_connection(c.connection);
    m.set_server_named(c.server_named);
    m.set_node(c.node);
  }
  void operator()(const cmd::DeleteQueue& c) {
    Pb::DeleteQueue& m = *out.mutable_delete_queue();
    m.set_vhost(c.vhost);
    m.set_name(c.name);
    m.set_if_unused(c.if_unused);
    m.set_if_empty(c.if_empty);
    m.set_connection(c.connection);
    m.set_home(c.home);
  }
  void operator()(const cmd::SetMirrors& c) {
    Pb::SetMirrors& m = *out.mutable_set_mirrors();
    m.set_vhost(c.vhost);
    m.set_name(c.name);
    m.set_home(c.home);
    m.set_epoch(c.mirrors.epoch);
    for (uint64_t id : c.mirrors.members) m.add_mirrors(id);
    for (uint64_t id : c.mirrors.in_sync) m.add_in_sync(id);
    m.set_new_home(c.new_home);
  }
  void operator()(const cmd::Bind& c) { WriteBinding(*out.mutable_bind(), c); }
  void operator()(const cmd::Unbind& c) { WriteBinding(*out.mutable_unbind(), c); }
};

// ---- Decoding --------------------------------------------------------------

// Reads the fields of one command's message (moving its bytes out) and keeps
// the first refusal, worded "<Kind>: <field> ...".
class FieldReader {
 public:
  explicit FieldReader(const google::protobuf::Message& m) : kind_(m.GetDescriptor()->name()) {
    const google::protobuf::UnknownFieldSet& unknown = m.GetReflection()->GetUnknownFields(m);
    if (!unknown.empty())
      Refuse("field " + std::to_string(unknown.field(0).number()) +
             " is not one this version knows");
  }

  // A name, key or type: an AMQP short string, as the model bounds it.
  std::string Name(const std::string& what, std::string* field) {
    if (Status s = core::CheckShortString(what, *field); !s.ok()) Refuse(ModelText(s));
    return std::move(*field);
  }
  std::vector<std::string> Names(const std::string& what,
                                 google::protobuf::RepeatedPtrField<std::string>* fields) {
    for (const std::string& field : *fields)
      if (Status s = core::CheckShortString(what, field); !s.ok()) Refuse(ModelText(s));
    return {std::make_move_iterator(fields->begin()), std::make_move_iterator(fields->end())};
  }
  std::string Bounded(const std::string& what, std::string* field, size_t max) {
    if (field->size() > max)
      Refuse(what + " is " + std::to_string(field->size()) + " bytes long; at most " +
             std::to_string(max) + " are allowed");
    return std::move(*field);
  }
  amqp::FieldTable Table(const std::string& what, const std::string& bytes);
  // Member ids: at most kMaxMirrors, none 0, ascending; each in `within`
  // when given (in-sync mirrors are mirrors).
  std::vector<uint64_t> Members(const std::string& what,
                                const google::protobuf::RepeatedField<uint64_t>& ids,
                                const std::vector<uint64_t>* within = nullptr);
  core::ApplyTo ApplyTo(int value);

  void Require(bool holds, const std::string& text) {
    if (!holds) Refuse(text);
  }

  template <class Command>
  Result<core::Command> Finish(Command command) {
    if (error_) return *error_;
    return core::Command(std::move(command));
  }

 private:
  void Refuse(const std::string& text) {
    if (!error_) error_ = Error{0, kind_ + ": " + text};
  }

  std::string kind_;
  std::optional<Error> error_;
};

amqp::FieldTable FieldReader::Table(const std::string& what, const std::string& bytes) {
  amqp::FieldTable table;
  if (bytes.empty()) return table;
  amqp::Reader in(bytes);
  if (!amqp::DecodeTable(in, table, kReadTableDepth)) {
    Refuse(what + ": not an AMQP field table (cut short, an unknown type letter, or nested " +
           "deeper than " + std::to_string(kReadTableDepth) + " levels)");
  } else if (in.remaining() != 0) {
    Refuse(what + ": " + std::to_string(in.remaining()) + " bytes after the table");
  } else if (Status s = core::CheckTable(what, table); !s.ok()) {
    Refuse(ModelText(s));
  }
  return table;
}

std::vector<uint64_t> FieldReader::Members(const std::string& what,
                                           const google::protobuf::RepeatedField<uint64_t>& ids,
                                           const std::vector<uint64_t>* within) {
  if (ids.size() > static_cast<int>(kMaxMirrors)) {
    Refuse(what + ": " + std::to_string(ids.size()) + " members; at most " +
           std::to_string(kMaxMirrors) + " are allowed");
    return {};
  }
  std::vector<uint64_t> out(ids.begin(), ids.end());
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 || (i > 0 && out[i] <= out[i - 1]))
      Refuse(what + ": not distinct member ids in ascending order");
    else if (within && !std::binary_search(within->begin(), within->end(), out[i]))
      Refuse(what + ": member " + std::to_string(out[i]) + " is not a mirror");
  }
  return out;
}

core::ApplyTo FieldReader::ApplyTo(int value) {
  switch (value) {
    case Pb::APPLY_TO_ALL: return core::ApplyTo::kAll;
    case Pb::APPLY_TO_QUEUES: return core::ApplyTo::kQueues;
    case Pb::APPLY_TO_EXCHANGES: return core::ApplyTo::kExchanges;
  }
  Refuse("apply_to " + std::to_string(value) + " is none of all, queues and exchanges");
  return core::ApplyTo::kAll;
}

// One Read per kind. Braced initialisers run in order, so the first field
// refused is the first in the message.

cmd::AddVHost Read(Pb::AddVHost& m, FieldReader& f) {
  cmd::AddVHost c{.name = f.Name("vhost name", m.mutable_name())};
  c.metadata.description = f.Bounded("description", m.mutable_description(), core::kMaxVHostDescription);
  c.metadata.tags = f.Names("tag", m.mutable_tags());
  c.metadata.default_queue_type = f.Name("default queue type", m.mutable_default_queue_type());
  c.metadata.tracing = m.tracing();
  c.update = m.update();
  c.grant_user = f.Name("user name", m.mutable_grant_user());
  return c;
}
cmd::DeleteVHost Read(Pb::DeleteVHost& m, FieldReader& f) {
  return {f.Name("vhost name", m.mutable_name())};
}
cmd::AddUser Read(Pb::AddUser& m, FieldReader& f) {
  return {f.Name("user name", m.mutable_name()),
          f.Bounded("password hash", m.mutable_password_hash(), kMaxPasswordHash),
          f.Names("tag", m.mutable_tags())};
}
cmd::DeleteUser Read(Pb::DeleteUser& m, FieldReader& f) {
  return {f.Name("user name", m.mutable_name())};
}
cmd::ChangePassword Read(Pb::ChangePassword& m, FieldReader& f) {
  return {f.Name("user name", m.mutable_name()),
          f.Bounded("password hash", m.mutable_password_hash(), kMaxPasswordHash)};
}
cmd::SetUserTags Read(Pb::SetUserTags& m, FieldReader& f) {
  return {f.Name("user name", m.mutable_name()), f.Names("tag", m.mutable_tags())};
}
cmd::SetPermissions Read(Pb::SetPermissions& m, FieldReader& f) {
  return {f.Name("user name", m.mutable_user()), f.Name("vhost name", m.mutable_vhost()),
          f.Bounded("configure regex", m.mutable_configure(), kMaxPattern),
          f.Bounded("write regex", m.mutable_write(), kMaxPattern),
          f.Bounded("read regex", m.mutable_read(), kMaxPattern)};
}
cmd::ClearPermissions Read(Pb::ClearPermissions& m, FieldReader& f) {
  return {f.Name("user name", m.mutable_user()), f.Name("vhost name", m.mutable_vhost())};
}
cmd::SetTopicPermission Read(Pb::SetTopicPermission& m, FieldReader& f) {
  return {f.Name("user name", m.mutable_user()), f.Name("vhost name", m.mutable_vhost()),
          f.Name("exchange name", m.mutable_exchange()),
          f.Bounded("write regex", m.mutable_write(), kMaxPattern),
          f.Bounded("read regex", m.mutable_read(), kMaxPattern)};
}
cmd::ClearTopicPermissions Read(Pb::ClearTopicPermissions& m, FieldReader& f) {
  return {f.Name("user name", m.mutable_user()), f.Name("vhost name", m.mutable_vhost()),
          f.Name("exchange name", m.mutable_exchange()), m.all_exchanges()};
}
cmd::SetUserLimits Read(Pb::SetUserLimits& m, FieldReader& f) {
  cmd::SetUserLimits c{f.Name("user name", m.mutable_user()), {}};
  f.Require(m.limits_size() <= static_cast<int>(kMaxUserLimits),
            "limits: " + std::to_string(m.limits_size()) + " of them; at most " +
                std::to_string(kMaxUserLimits) + " are allowed");
  for (Pb::UserLimit& l : *m.mutable_limits())
    c.limits[f.Name("limit name", l.mutable_name())] = l.value();
  return c;
}
cmd::ClearUserLimits Read(Pb::ClearUserLimits& m, FieldReader& f) {
  return {f.Name("user name", m.mutable_user()), f.Name("limit name", m.mutable_name()), m.all()};
}
cmd::SetPolicy Read(Pb::SetPolicy& m, FieldReader& f) {
  return {.vhost = f.Name("vhost name", m.mutable_vhost()),
          .name = f.Name("policy name", m.mutable_name()),
          .pattern = f.Bounded("pattern", m.mutable_pattern(), kMaxPattern),
          .apply_to = f.ApplyTo(m.apply_to()),
          .priority = m.priority(),
          .definition = f.Table("definition", m.definition()),
          .operator_policy = m.operator_policy()};
}
cmd::ClearPolicy Read(Pb::ClearPolicy& m, FieldReader& f) {
  return {f.Name("vhost name", m.mutable_vhost()), f.Name("policy name", m.mutable_name()),
          m.operator_policy()};
}
cmd::SetParameter Read(Pb::SetParameter& m, FieldReader& f) {
  return {.component = f.Name("component", m.mutable_component()),
          .vhost = f.Name("vhost name", m.mutable_vhost()),
          .name = f.Name("parameter name", m.mutable_name()),
          .value = f.Bounded("value", m.mutable_value(), core::kMaxParameterValue),
          .only_if_absent = m.only_if_absent()};
}
cmd::ClearParameter Read(Pb::ClearParameter& m, FieldReader& f) {
  return {f.Name("component", m.mutable_component()), f.Name("vhost name", m.mutable_vhost()),
          f.Name("parameter name", m.mutable_name())};
}
cmd::DeclareExchange Read(Pb::DeclareExchange& m, FieldReader& f) {
  return {.vhost = f.Name("vhost name", m.mutable_vhost()),
          .name = f.Name("exchange name", m.mutable_name()),
          .type = f.Name("exchange type", m.mutable_type()),
          .durable = m.durable(),
          .auto_delete = m.auto_delete(),
          .internal = m.internal(),
          .arguments = f.Table("arguments", m.arguments())};
}
cmd::DeleteExchange Read(Pb::DeleteExchange& m, FieldReader& f) {
  return {.vhost = f.Name("vhost name", m.mutable_vhost()),
          .name = f.Name("exchange name", m.mutable_name()),
          .if_unused = m.if_unused()};
}
cmd::DeclareQueue Read(Pb::DeclareQueue& m, FieldReader& f) {
  return {.vhost = f.Name("vhost name", m.mutable_vhost()),
          .name = f.Name("queue name", m.mutable_name()),
          .durable = m.durable(),
          .exclusive = m.exclusive(),
          .auto_delete = m.auto_delete(),
          .arguments = f.Table("arguments", m.arguments()),
          .connection = m.connection(),
          .server_named = m.server_named(),
          .node = m.node()};
}
cmd::DeleteQueue Read(Pb::DeleteQueue& m, FieldReader& f) {
  return {.vhost = f.Name("vhost name", m.mutable_vhost()),
          .name = f.Name("queue name", m.mutable_name()),
          .if_unused = m.if_unused(),
          .if_empty = m.if_empty(),
          .connection = m.connection(),
          .home = m.home()};
}
cmd::SetMirrors Read(Pb::SetMirrors& m, FieldReader& f) {
  cmd::SetMirrors c{.vhost = f.Name("vhost name", m.mutable_vhost()),
                    .name = f.Name("queue name", m.mutable_name()),
                    .home = m.home(),
                    .mirrors = {},
                    .new_home = m.new_home()};
  c.mirrors.epoch = m.epoch();
  c.mirrors.members = f.Members("mirrors", m.mirrors());
  c.mirrors.in_sync = f.Members("in_sync", m.in_sync(), &c.mirrors.members);
  f.Require(c.home != 0, "home: not a member id");
  // After a move the old home may be a mirror; the queue's home never is.
  f.Require(c.new_home != 0 ||
                !std::binary_search(c.mirrors.members.begin(), c.mirrors.members.end(), c.home),
            "mirrors: the home is among them");
  f.Require(c.mirrors.epoch != 0, "epoch: 0 is no change's");
  f.Require(!std::binary_search(c.mirrors.members.begin(), c.mirrors.members.end(), c.new_home),
            "new_home: it is among the mirrors");
  return c;
}
template <class Binding, class Message>
Binding ReadBinding(Message& m, FieldReader& f) {
  return {.vhost = f.Name("vhost name", m.mutable_vhost()),
          .source = f.Name("source exchange name", m.mutable_source()),
          .destination = f.Name("destination name", m.mutable_destination()),
          .routing_key = f.Name("routing key", m.mutable_routing_key()),
          .to_queue = m.to_queue(),
          .arguments = f.Table("arguments", m.arguments()),
          .connection = m.connection()};
}
cmd::Bind Read(Pb::Bind& m, FieldReader& f) { return ReadBinding<cmd::Bind>(m, f); }
cmd::Unbind Read(Pb::Unbind& m, FieldReader& f) { return ReadBinding<cmd::Unbind>(m, f); }

template <class Message>
Result<core::Command> ReadKind(Message* m) {
  FieldReader fields(*m);
  auto command = Read(*m, fields);
  return fields.Finish(std::move(command));
}

Result<core::Command> ReadCommand(Pb& pb) {
  switch (pb.command_case()) {
    case Pb::kAddVhost: return ReadKind(pb.mutable_add_vhost());
    case Pb::kDeleteVhost: return ReadKind(pb.mutable_delete_vhost());
    case Pb::kAddUser: return ReadKind(pb.mutable_add_user());
    case Pb::kDeleteUser: return ReadKind(pb.mutable_delete_user());
    case Pb::kChangePassword: return ReadKind(pb.mutable_change_password());
    case Pb::kSetUserTags: return ReadKind(pb.mutable_set_user_tags());
    case Pb::kSetPermissions: return ReadKind(pb.mutable_set_permissions());
    case Pb::kClearPermissions: return ReadKind(pb.mutable_clear_permissions());
    case Pb::kSetPolicy: return ReadKind(pb.mutable_set_policy());
    case Pb::kClearPolicy: return ReadKind(pb.mutable_clear_policy());
    case Pb::kDeclareExchange: return ReadKind(pb.mutable_declare_exchange());
    case Pb::kDeleteExchange: return ReadKind(pb.mutable_delete_exchange());
    case Pb::kDeclareQueue: return ReadKind(pb.mutable_declare_queue());
    case Pb::kDeleteQueue: return ReadKind(pb.mutable_delete_queue());
    case Pb::kBind: return ReadKind(pb.mutable_bind());
    case Pb::kUnbind: return ReadKind(pb.mutable_unbind());
    case Pb::kSetMirrors: return ReadKind(pb.mutable_set_mirrors());
    case Pb::kSetParameter: return ReadKind(pb.mutable_set_parameter());
    case Pb::kClearParameter: return ReadKind(pb.mutable_clear_parameter());
    case Pb::kSetTopicPermission: return ReadKind(pb.mutable_set_topic_permission());
    case Pb::kClearTopicPermissions: return ReadKind(pb.mutable_clear_topic_permissions());
    case Pb::kSetUserLimits: return ReadKind(pb.mutable_set_user_limits());
    case Pb::kClearUserLimits: return ReadKind(pb.mutable_clear_user_limits());
    case Pb::COMMAND_NOT_SET: break;
  }
  return Error{0, "metadata command: none set, or of a kind this version does not know"};
}

}  // namespace

std::string EncodeCommand(const core::Command& command) {
  Pb pb;
  std::visit(Writer{pb}, command);
  std::string out;
  pb.SerializeToString(&out);
  return out;
}

Result<core::Command> DecodeCommand(std::string_view bytes) {
  if (bytes.size() > kMaxCommandBytes)
    return Error{0, "metadata command is " + std::to_string(bytes.size()) +
                        " bytes long; at most " + std::to_string(kMaxCommandBytes) +
                        " are allowed"};
  Pb pb;
  if (!pb.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Error{0, "metadata command: not a protobuf MetadataCommand (cut short or garbled)"};
  const google::protobuf::UnknownFieldSet& unknown = pb.GetReflection()->GetUnknownFields(pb);
  if (pb.command_case() != Pb::COMMAND_NOT_SET && !unknown.empty())
    return Error{0, "metadata command: field " + std::to_string(unknown.field(0).number()) +
                        " is not one this version knows"};
  return ReadCommand(pb);
}

}  // namespace warren::cluster
