#include "broker/core/exchange/fanout.h"

namespace warren::core {

void FanoutRouter::Route(std::string_view /*routing_key*/, const amqp::FieldTable* /*headers*/,
                         std::vector<const Destination*>& out) const {
  bindings_.AppendDestinations(out);
}

}  // namespace warren::core
