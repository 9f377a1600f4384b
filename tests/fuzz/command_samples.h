// One metadata command of every kind, with content that exercises the codec
// (cluster/command_codec.h): bytes that are not UTF-8 in names, nested tables
// with every type letter, tag lists, every ApplyTo. The codec's unit tests
// round-trip them; warren_command_fuzz_corpus writes them as the seeds of
// warren_fuzz_command, and the unit tests check the seeds are still their
// encodings. SameCommand is the equality both use.
#pragma once

#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "amqp/field_table.h"
#include "broker/core/command.h"

namespace warren::cluster::fuzz {

namespace cmd = core::cmd;
using amqp::FieldTable;
using amqp::FieldType;
using amqp::FieldValue;

// A table holding one value of every type letter, each within its type's
// range (so it decodes back equal), and a table and an array nested in it.
inline FieldTable EveryTypeTable() {
  FieldTable inner;
  inner.Set("x-\xff\xfe", FieldValue::Str(std::string("\0\x80 bytes", 8)));
  FieldTable deepest{{{"deep", FieldValue::Void()}}};
  inner.Set("list", FieldValue::Array({FieldValue::Long(-1), FieldValue::Bool(false),
                                       FieldValue::Table(deepest)}));
  FieldTable t;
  t.Set("t", FieldValue::Bool(true));
  t.Set("b", FieldValue::Int(FieldType::kInt8, -128));
  t.Set("B", FieldValue::Int(FieldType::kUInt8, 255));
  t.Set("s", FieldValue::Int(FieldType::kInt16, -32768));
  t.Set("u", FieldValue::Int(FieldType::kUInt16, 65535));
  t.Set("I", FieldValue::Int(FieldType::kInt32, -2147483647 - 1));
  t.Set("i", FieldValue::Int(FieldType::kUInt32, 4294967295));
  t.Set("l", FieldValue::Long(-9007199254740993));
  t.Set("f", FieldValue{'f', 1.5f});
  t.Set("d", FieldValue{'d', -0.25});
  t.Set("D", FieldValue{'D', amqp::Decimal{2, 31415}});
  t.Set("S", FieldValue::Str("long string"));
  t.Set("x", FieldValue{'x', std::string("\x00\x01\xff", 3)});
  t.Set("T", FieldValue::Timestamp(1700000000));
  t.Set("V", FieldValue::Void());
  t.Set("F", FieldValue::Table(inner));
  // Order and duplicates are kept as received (field_table.h).
  t.entries.emplace_back("t", FieldValue::Bool(false));
  return t;
}

inline FieldTable QueueArguments() {
  FieldTable t;
  t.Set("x-message-ttl", FieldValue::Int(FieldType::kInt32, 60000));
  t.Set("x-dead-letter-exchange", FieldValue::Str("dlx"));
  t.Set("x-queue-mode", FieldValue::Str("lazy"));
  return t;
}

inline std::vector<std::pair<std::string, core::Command>> SampleCommands() {
  const std::string vhost("v\xff\x00h", 4);  // not UTF-8, with a NUL
  // 4 salt bytes and a 32-byte digest in base64, as RabbitMQ stores a SHA-256 hash.
  const std::string hash = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj";
  FieldTable definition;
  definition.Set("max-length", FieldValue::Long(1000));
  definition.Set("ha-mode", FieldValue::Str("all"));
  definition.Set("ha-params", FieldValue::Array({FieldValue::Str("a"), FieldValue::Str("b")}));
  FieldTable binding_args;
  binding_args.Set("x-match", FieldValue::Str("any"));
  binding_args.Set("format", FieldValue::Str("pdf"));
  return {
      {"add-vhost", cmd::AddVHost{vhost}},
      {"delete-vhost", cmd::DeleteVHost{"/"}},
      {"add-user", cmd::AddUser{"\xc3\x28user", hash, {"administrator", "\xfe", ""}}},
      {"add-user-no-hash", cmd::AddUser{"nobody", "", {}}},
      {"delete-user", cmd::DeleteUser{"guest"}},
      {"change-password", cmd::ChangePassword{"guest", hash}},
      {"set-user-tags", cmd::SetUserTags{"guest", {"monitoring", "policymaker"}}},
      {"set-permissions", cmd::SetPermissions{"guest", vhost, "^amq\\.gen-.*", "", ".*"}},
      {"clear-permissions", cmd::ClearPermissions{"guest", vhost}},
      {"set-policy-all", cmd::SetPolicy{vhost, "ha", "^ha\\.", core::ApplyTo::kAll, -5,
                                        definition}},
      {"set-policy-queues", cmd::SetPolicy{"/", "ttl", ".*", core::ApplyTo::kQueues, 2147483647,
                                           QueueArguments()}},
      {"set-policy-exchanges", cmd::SetPolicy{"/", "ae", "^x\\.", core::ApplyTo::kExchanges, 0,
                                              FieldTable{{{"alternate-exchange",
                                                           FieldValue::Str("unrouted")}}}}},
      {"clear-policy", cmd::ClearPolicy{vhost, "ha"}},
      {"declare-exchange", cmd::DeclareExchange{vhost, "x.\xff", "headers", true, false, true,
                                                EveryTypeTable()}},
      {"delete-exchange", cmd::DeleteExchange{vhost, "x.\xff", true}},
      {"declare-queue", cmd::DeclareQueue{vhost, std::string(255, '\x81'), true, true, false,
                                          QueueArguments(), 18446744073709551615u, true, 3}},
      {"delete-queue", cmd::DeleteQueue{vhost, "amq.gen-0", true, true, 7, 4}},
      {"bind", cmd::Bind{vhost, "amq.headers", "q\xff", "a.#.\x80", true, binding_args, 9}},
      {"bind-exchange", cmd::Bind{"/", "amq.topic", "x.\xff", "", false, {}, 0}},
      {"unbind", cmd::Unbind{vhost, "amq.headers", "q\xff", "a.#.\x80", false, EveryTypeTable(),
                             1}},
      {"set-mirrors", cmd::SetMirrors{vhost, "q\xff", 2, core::Mirrors{{1, 3, 70000}, {3}, 9}}},
      {"move-home", cmd::SetMirrors{"/", "q", 1, core::Mirrors{{1}, {}, 4}, 3}},
      {"add-vhost-metadata",
       cmd::AddVHost{vhost, core::VHostMetadata{"orders \xff", {"prod", "\xfe"}, "quorum", true},
                     true, "\xc3\x28user"}},
      {"set-operator-policy", cmd::SetPolicy{vhost, "cap", ".*", core::ApplyTo::kQueues, 1,
                                             QueueArguments(), true}},
      {"clear-operator-policy", cmd::ClearPolicy{vhost, "cap", true}},
      {"set-parameter", cmd::SetParameter{"vhost-limits", vhost, "limits",
                                          R"({"max-queues":10,"max-connections":-1})"}},
      {"set-global-parameter", cmd::SetParameter{"", "", "internal_cluster_id",
                                                 R"("rabbitmq-cluster-id-\u00ff")", true}},
      {"clear-parameter", cmd::ClearParameter{"vhost-limits", vhost, "limits"}},
      {"set-topic-permission",
       cmd::SetTopicPermission{"guest", vhost, "amq.topic", "^{username}\\.", ""}},
      {"clear-topic-permission", cmd::ClearTopicPermissions{"guest", vhost, "amq.topic"}},
      {"clear-topic-permissions", cmd::ClearTopicPermissions{"guest", vhost, "", true}},
      {"set-user-limits", cmd::SetUserLimits{"\xc3\x28user", {{"max-connections", -1},
                                                                 {"max-channels", 9000000000}}}},
      {"clear-user-limit", cmd::ClearUserLimits{"guest", "max-channels"}},
      {"clear-user-limits", cmd::ClearUserLimits{"guest", "", true}},
  };
}

// Each kind's fields as a tuple. Tables are compared by their AMQP encoding:
// a table holding a NaN is unequal to itself, and the fuzzer finds those.
inline std::string TableBytes(const FieldTable& t) {
  std::string out;
  amqp::EncodeTable(t, out);
  return out;
}
inline auto Fields(const cmd::AddVHost& c) {
  return std::tuple(c.name, c.metadata, c.update, c.grant_user);
}
inline auto Fields(const cmd::DeleteVHost& c) { return std::tuple(c.name); }
inline auto Fields(const cmd::AddUser& c) { return std::tuple(c.name, c.password_hash, c.tags); }
inline auto Fields(const cmd::DeleteUser& c) { return std::tuple(c.name); }
inline auto Fields(const cmd::ChangePassword& c) { return std::tuple(c.name, c.password_hash); }
inline auto Fields(const cmd::SetUserTags& c) { return std::tuple(c.name, c.tags); }
inline auto Fields(const cmd::SetPermissions& c) {
  return std::tuple(c.user, c.vhost, c.configure, c.write, c.read);
}
inline auto Fields(const cmd::ClearPermissions& c) { return std::tuple(c.user, c.vhost); }
inline auto Fields(const cmd::SetPolicy& c) {
  return std::tuple(c.vhost, c.name, c.pattern, c.apply_to, c.priority,
                    TableBytes(c.definition), c.operator_policy);
}
inline auto Fields(const cmd::ClearPolicy& c) {
  return std::tuple(c.vhost, c.name, c.operator_policy);
}
inline auto Fields(const cmd::SetParameter& c) {
  return std::tuple(c.component, c.vhost, c.name, c.value, c.only_if_absent);
}
inline auto Fields(const cmd::ClearParameter& c) {
  return std::tuple(c.component, c.vhost, c.name);
}
inline auto Fields(const cmd::SetTopicPermission& c) {
  return std::tuple(c.user, c.vhost, c.exchange, c.write, c.read);
}
inline auto Fields(const cmd::ClearTopicPermissions& c) {
  return std::tuple(c.user, c.vhost, c.exchange, c.all);
}
inline auto Fields(const cmd::SetUserLimits& c) { return std::tuple(c.user, c.limits); }
inline auto Fields(const cmd::ClearUserLimits& c) { return std::tuple(c.user, c.name, c.all); }
inline auto Fields(const cmd::DeclareExchange& c) {
  return std::tuple(c.vhost, c.name, c.type, c.durable, c.auto_delete, c.internal,
                    TableBytes(c.arguments));
}
inline auto Fields(const cmd::DeleteExchange& c) {
  return std::tuple(c.vhost, c.name, c.if_unused);
}
inline auto Fields(const cmd::DeclareQueue& c) {
  return std::tuple(c.vhost, c.name, c.durable, c.exclusive, c.auto_delete,
                    TableBytes(c.arguments), c.connection, c.server_named, c.node);
}
inline auto Fields(const cmd::DeleteQueue& c) {
  return std::tuple(c.vhost, c.name, c.if_unused, c.if_empty, c.connection, c.home);
}
inline auto Fields(const cmd::Bind& c) {
  return std::tuple(c.vhost, c.source, c.destination, c.routing_key, c.to_queue,
                    TableBytes(c.arguments), c.connection);
}
inline auto Fields(const cmd::Unbind& c) {
  return std::tuple(c.vhost, c.source, c.destination, c.routing_key, c.to_queue,
                    TableBytes(c.arguments), c.connection);
}

inline auto Fields(const cmd::SetMirrors& c) {
  return std::tuple(c.vhost, c.name, c.home, c.mirrors.members, c.mirrors.in_sync,
                    c.mirrors.epoch, c.new_home);
}

// Same kind, same fields.
inline bool SameCommand(const core::Command& a, const core::Command& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        using Kind = std::decay_t<decltype(x)>;
        return Fields(x) == Fields(std::get<Kind>(b));
      },
      a);
}

}  // namespace warren::cluster::fuzz
