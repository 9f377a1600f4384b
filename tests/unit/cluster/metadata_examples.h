// Metadata for the cluster's tests: commands that make one of everything a
// snapshot must carry (vhosts with metadata, users with hash and tags,
// user limits, permissions, topic permissions, policies and operator policies, runtime parameters and vhost
// limits, exchanges of every type with flags and arguments, durable,
// transient, auto-delete and exclusive queues, bindings to queues and to
// exchanges, from built-in and declared exchanges, with arguments).
#pragma once

#include <string>
#include <vector>

#include "amqp/field_table.h"
#include "broker/core/command.h"
#include "common/password.h"

namespace warren::cluster::test {

namespace cmd = core::cmd;

inline amqp::FieldTable Args(std::vector<std::pair<std::string, amqp::FieldValue>> entries) {
  amqp::FieldTable t;
  for (auto& [k, v] : entries) t.entries.emplace_back(k, std::move(v));
  return t;
}

// The connection that owns the exclusive queue "reply".
inline constexpr uint64_t kOwner = 7;

// In an order that applies cleanly to an empty broker; the same commands at
// every call (a password hash has a random salt: made once).
inline std::vector<core::Command> ExampleDefinitions() {
  using amqp::FieldValue;
  static const std::string alice = HashPassword("wonderland");
  static const std::string bob = HashPassword("builder");
  return {
      cmd::AddVHost{"/"},
      cmd::AddVHost{"shop", core::VHostMetadata{"the shop", {"prod", "eu"}, "classic", true}},
      cmd::AddUser{"alice", alice, {"administrator", "monitoring"}},
      cmd::AddUser{"bob", bob, {}},
      cmd::SetUserLimits{"bob", {{"max-connections", 10}, {"max-channels", -1}}},
      cmd::SetPermissions{"alice", "/", ".*", ".*", ".*"},
      cmd::SetPermissions{"bob", "shop", "^orders", "", "orders.*"},
      cmd::SetTopicPermission{"bob", "shop", "events", "^order\\.{username}", ""},
      cmd::SetPolicy{"shop", "limits", "^orders", core::ApplyTo::kQueues, 5,
                     Args({{"max-length", FieldValue::Long(1000)}})},
      cmd::SetPolicy{"shop", "cap", "^orders", core::ApplyTo::kQueues, 1,
                     Args({{"max-length", FieldValue::Long(500)}}), true},
      cmd::DeclareExchange{"shop", "events", "topic", true, false, false, {}},
      cmd::DeclareExchange{"shop", "fan", "fanout", false, true, false,
                           Args({{"alternate-exchange", FieldValue::Str("events")}})},
      cmd::DeclareExchange{"shop", "docs", "headers", true, false, true, {}},
      cmd::DeclareQueue{"shop", "orders", true, false, false,
                        Args({{"x-message-ttl", FieldValue::Long(60000)}}), 0},
      cmd::DeclareQueue{"shop", "audit", false, false, true, {}, 0},
      cmd::DeclareQueue{"shop", "reply", false, true, false, {}, kOwner},
      cmd::DeclareQueue{"/", "jobs", true, false, false, {}, 0},
      // Server-named: the snapshot must declare it again under its amq. name.
      cmd::DeclareQueue{"/", "amq.gen-Jx0t5a9dTq0mYvQ2l1w3bA", false, false, true, {}, 0, true},
      cmd::Bind{"shop", "events", "orders", "order.*", true, {}, 0},
      cmd::Bind{"shop", "events", "audit", "#", true, {}, 0},
      cmd::Bind{"shop", "events", "fan", "order.created", false, {}, 0},
      cmd::Bind{"shop", "fan", "audit", "", true, {}, 0},
      cmd::Bind{"shop", "docs", "audit", "",  true,
                Args({{"x-match", FieldValue::Str("all")}, {"format", FieldValue::Str("pdf")}}), 0},
      cmd::Bind{"shop", "amq.direct", "reply", "reply", true, {}, kOwner},
      cmd::Bind{"/", "amq.topic", "jobs", "jobs.#", true, {}, 0},
      cmd::SetParameter{"vhost-limits", "shop", "limits", R"({"max-queues":100})"},
      cmd::SetParameter{"", "", "cluster_name", R"("shop-cluster")"},
  };
}

}  // namespace warren::cluster::test
