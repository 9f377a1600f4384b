// Headers exchange routing (AMQP 0-9-1 spec 3.1.3.4) as RabbitMQ 3.13+ does
// it. The routing key is ignored; each binding's arguments are matched
// against the message's headers (no headers: an empty table).
//
// x-match (binding argument): "all" (also when absent or not understood),
// "any", "all-with-x", "any-with-x". The key "x-match" never takes part; for
// all/any no key starting with "x-" does, for the -with-x forms the others do.
// A binding argument of type void ('V') matches when the header is present,
// whatever its value. Otherwise the values must be equal as Erlang's =:=
// compares RabbitMQ's decoded values (see HeaderValueEquals). "all" with no
// taking-part arguments matches every message; "any" with none, no message.
// When a header key repeats, the last occurrence counts (RabbitMQ folds the
// headers into a map).
//
// Lifecycle and threading: see Router (owned by one Exchange, used on its
// event loop only, no locking). Route walks every binding: O(bindings x
// arguments x headers), like RabbitMQ's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "amqp/field_table.h"
#include "broker/core/exchange/router.h"

namespace warren::core {

// RabbitMQ's check at queue.bind / exchange.bind: x-match, when present, must
// be a long string naming one of the four modes. Returns the error text (for
// a 406 PRECONDITION_FAILED) or nothing when the arguments are acceptable.
std::optional<std::string> ValidateHeadersBinding(const amqp::FieldTable& arguments);

// Equality of a binding value and a header value. Integers of any width
// (and timestamps) compare by value; float and double by value, but never
// equal to an integer; long strings and byte arrays by bytes; booleans and
// decimals by value; nested tables and arrays exactly, type letters included
// (RabbitMQ compares those as tagged Erlang terms); void equals void only.
bool HeaderValueEquals(const amqp::FieldValue& binding, const amqp::FieldValue& header);

class HeadersRouter final : public Router {
 public:
  bool Add(const BindingSpec& binding) override;
  bool Remove(const BindingSpec& binding) override;
  size_t RemoveDestination(const Destination& destination) override;
  void Route(std::string_view routing_key, const amqp::FieldTable* headers,
             std::vector<const Destination*>& out) const override;
  size_t size() const override { return bindings_.size(); }
  void ForEach(const std::function<void(const BindingSpec&)>& fn) const override;

 private:
  enum class XMatch : uint8_t { kAll, kAny, kAllWithX, kAnyWithX };

  struct Binding {
    BindingSpec spec;
    XMatch mode;
  };

  static XMatch ParseXMatch(const amqp::FieldTable& arguments);
  static bool Matches(const Binding& binding, const amqp::FieldTable& headers);

  std::vector<Binding> bindings_;
};

}  // namespace warren::core
