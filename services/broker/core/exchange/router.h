// Routing tables, one implementation per exchange type (direct, fanout,
// topic, headers). A Router knows only binding keys and destinations by name;
// the Exchange that owns it resolves names to queues and exchanges.
//
// Lifecycle: owned by one core::Exchange, used on that exchange's event loop
// only (no locking). Route() is the hot path: no allocation beyond appending
// to `out`, and routing work precomputed at Add() time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "amqp/field_table.h"

namespace warren::core {

struct Destination {
  enum class Kind : uint8_t { kQueue, kExchange };
  Kind kind = Kind::kQueue;
  std::string name;
  bool operator==(const Destination&) const = default;
};

struct DestinationHash {
  size_t operator()(const Destination& d) const {
    return std::hash<std::string_view>{}(d.name) * 2 + static_cast<size_t>(d.kind);
  }
};

// A binding as RabbitMQ identifies it: (destination, routing key, arguments)
// under one source exchange.
struct BindingSpec {
  Destination destination;
  std::string routing_key;
  amqp::FieldTable arguments;
  bool operator==(const BindingSpec&) const = default;
};

class Router {
 public:
  virtual ~Router() = default;
  // False when an identical binding already exists (it is then left as is).
  virtual bool Add(const BindingSpec& binding) = 0;
  // False when there is no such binding.
  virtual bool Remove(const BindingSpec& binding) = 0;
  // Removes every binding to `destination`; returns how many went.
  virtual size_t RemoveDestination(const Destination& destination) = 0;
  // Appends each destination whose binding matches. A destination bound more
  // than once may be appended more than once; the caller de-duplicates.
  virtual void Route(std::string_view routing_key, const amqp::FieldTable* headers,
                     std::vector<const Destination*>& out) const = 0;
  virtual size_t size() const = 0;
  virtual void ForEach(const std::function<void(const BindingSpec&)>& fn) const = 0;
};

// "direct", "fanout", "topic", "headers"; nullptr for any other type.
std::unique_ptr<Router> MakeRouter(std::string_view type);

}  // namespace warren::core
