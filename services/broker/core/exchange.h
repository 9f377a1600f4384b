// An exchange: its declared properties and the routing table of its type.
// Owned by its VHost (unique_ptr), used on the vhost's event loop only.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "amqp/field_table.h"
#include "broker/core/exchange/router.h"

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
  // The alternate-exchange argument, if any (RabbitMQ's AE).
  const std::optional<std::string>& alternate_exchange() const { return alternate_; }

  Router& router() { return *router_; }
  const Router& router() const { return *router_; }

  // Set while one publish walks exchange-to-exchange bindings, so each
  // exchange is visited once per message (cycles are legal in AMQP).
  uint64_t route_mark = 0;

 private:
  std::string name_;
  std::string type_;
  ExchangeOptions options_;
  std::optional<std::string> alternate_;
  std::unique_ptr<Router> router_;
};

}  // namespace warren::core
