// BindingList: the bindings that share one routing decision (one direct key,
// one topic trie node, all of a fanout exchange), in the order they were
// added. StringMap: an unordered_map keyed by std::string that looks up by
// std::string_view without building a string.
//
// Lifecycle: a value inside one Router; same thread rules as its Router.
// Pointers to the destinations it holds stay valid until it is next changed.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/core/exchange/router.h"

namespace warren::core {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class BindingList {
 public:
  // False when an identical binding (destination, key and arguments) is here.
  bool Add(const BindingSpec& binding) {
    for (const BindingSpec& b : bindings_)
      if (b == binding) return false;
    bindings_.push_back(binding);
    return true;
  }

  bool Remove(const BindingSpec& binding) {
    for (auto it = bindings_.begin(); it != bindings_.end(); ++it) {
      if (*it == binding) {
        bindings_.erase(it);
        return true;
      }
    }
    return false;
  }

  size_t RemoveDestination(const Destination& destination) {
    return std::erase_if(bindings_,
                         [&](const BindingSpec& b) { return b.destination == destination; });
  }

  void AppendDestinations(std::vector<const Destination*>& out) const {
    for (const BindingSpec& b : bindings_) out.push_back(&b.destination);
  }

  void ForEach(const std::function<void(const BindingSpec&)>& fn) const {
    for (const BindingSpec& b : bindings_) fn(b);
  }

  bool empty() const { return bindings_.empty(); }
  size_t size() const { return bindings_.size(); }

 private:
  std::vector<BindingSpec> bindings_;
};

}  // namespace warren::core
