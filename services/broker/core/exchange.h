// An exchange: its declared properties and the routing table of its type.
// Owned by its VHost (unique_ptr), used on the vhost's event loop only.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "amqp/field_table.h"
#include "broker/core/exchange/router.h"
#include "broker/core/policy.h"

namespace warren::core {

struct ExchangeOptions {
  bool durable = false;
  bool auto_delete = false;
  bool internal = false;
  amqp::FieldTable arguments;
};

class Exchange {
 public:
  Exchange(std::string name, std::string type, ExchangeOptions options,
           std::unique_ptr<Router> router);

  const std::string& name() const { return name_; }
  const std::string& type() const { return type_; }
  const ExchangeOptions& options() const { return options_; }
  bool durable() const { return options_.durable; }
  bool auto_delete() const { return options_.auto_delete; }
  bool internal() const { return options_.internal; }
  // RabbitMQ's AE: the alternate-exchange argument if declared, else the
  // alternate-exchange of the policy in effect, if any.
  const std::optional<std::string>& alternate_exchange() const { return alternate_; }
  // The policy in effect (empty when none).
  const std::string& policy_name() const { return policy_name_; }
  // Makes `policy` (nullptr: none) the one in effect.
  void ApplyPolicy(const Policy* policy);

  Router& router() { return *router_; }
  const Router& router() const { return *router_; }

  // Messages clients published to it, and the deliveries it routed them to
  // (once per destination queue), since the node started; counted by the
  // channel that routes the publish (protocol::Channel::Route).
  uint64_t publish_in = 0;
  uint64_t publish_out = 0;

  // Set while one publish walks exchange-to-exchange bindings, so each
  // exchange is visited once per message (cycles are legal in AMQP).
  uint64_t route_mark = 0;

 private:
  std::string name_;
  std::string type_;
  ExchangeOptions options_;
  std::optional<std::string> alternate_;
  std::string policy_name_;
  std::unique_ptr<Router> router_;
};

}  // namespace warren::core
