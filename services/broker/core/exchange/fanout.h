// Fanout exchange routing (AMQP 0-9-1 spec 3.1.3.2): every binding gets the
// message; routing keys and headers are ignored.
//
// Lifecycle and threading: see Router (owned by one Exchange, used on its
// event loop only, no locking).
#pragma once

#include "broker/core/exchange/binding_list.h"
#include "broker/core/exchange/router.h"

namespace warren::core {

class FanoutRouter final : public Router {
 public:
  bool Add(const BindingSpec& binding) override { return bindings_.Add(binding); }
  bool Remove(const BindingSpec& binding) override { return bindings_.Remove(binding); }
  size_t RemoveDestination(const Destination& destination) override {
    return bindings_.RemoveDestination(destination);
  }
  void Route(std::string_view routing_key, const amqp::FieldTable* headers,
             std::vector<const Destination*>& out) const override;
  size_t size() const override { return bindings_.size(); }
  void ForEach(const std::function<void(const BindingSpec&)>& fn) const override {
    bindings_.ForEach(fn);
  }

 private:
  BindingList bindings_;
};

}  // namespace warren::core
