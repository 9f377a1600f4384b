#include "broker/core/exchange/direct.h"

namespace warren::core {

bool DirectRouter::Add(const BindingSpec& binding) {
  auto it = by_key_.find(binding.routing_key);
  if (it == by_key_.end()) it = by_key_.emplace(binding.routing_key, BindingList{}).first;
  if (!it->second.Add(binding)) return false;
  ++size_;
  return true;
}

bool DirectRouter::Remove(const BindingSpec& binding) {
  auto it = by_key_.find(binding.routing_key);
  if (it == by_key_.end() || !it->second.Remove(binding)) return false;
  if (it->second.empty()) by_key_.erase(it);
  --size_;
  return true;
}

size_t DirectRouter::RemoveDestination(const Destination& destination) {
  size_t removed = 0;
  for (auto it = by_key_.begin(); it != by_key_.end();) {
    removed += it->second.RemoveDestination(destination);
    it = it->second.empty() ? by_key_.erase(it) : std::next(it);
  }
  size_ -= removed;
  return removed;
}

void DirectRouter::Route(std::string_view routing_key, const amqp::FieldTable* /*headers*/,
                         std::vector<const Destination*>& out) const {
  auto it = by_key_.find(routing_key);
  if (it != by_key_.end()) it->second.AppendDestinations(out);
}

void DirectRouter::ForEach(const std::function<void(const BindingSpec&)>& fn) const {
  for (const auto& [key, list] : by_key_) list.ForEach(fn);
}

}  // namespace warren::core
