// Direct exchange routing (AMQP 0-9-1 spec 3.1.3.1): a message goes to every
// binding whose key equals its routing key, byte for byte. One hash lookup.
//
// Lifecycle and threading: see Router (owned by one Exchange, used on its
// event loop only, no locking).
#pragma once

#include "broker/core/exchange/binding_list.h"
#include "broker/core/exchange/router.h"

namespace warren::core {

class DirectRouter final : public Router {
 public:
  bool Add(const BindingSpec& binding) override;
  bool Remove(const BindingSpec& binding) override;
  size_t RemoveDestination(const Destination& destination) override;
  void Route(std::string_view routing_key, const amqp::FieldTable* headers,
             std::vector<const Destination*>& out) const override;
  size_t size() const override { return size_; }
  void ForEach(const std::function<void(const BindingSpec&)>& fn) const override;

 private:
  StringMap<BindingList> by_key_;
  size_t size_ = 0;
};

}  // namespace warren::core
