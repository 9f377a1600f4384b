// Topic exchange routing (AMQP 0-9-1 spec 3.1.3.3) with RabbitMQ's word rules.
//
// Keys split on '.' into words; empty words count ("a..b" is three words, "a."
// two), but the empty key "" is zero words, as RabbitMQ's split_topic_key
// has it. In a binding key the word "*" matches exactly one word and "#" zero
// or more; any other word (including "a*" or "") matches itself only.
//
// The bindings sit in a trie with one edge per literal word plus a "*" and a
// "#" edge. Route runs the trie as an NFA, one step per routing-key word over
// the set of live nodes, so each binding is reached at most once per message
// and patterns such as "#.#.#" cost no backtracking. Results are memoised per
// routing key in a small cache that Add/Remove/RemoveDestination clear.
//
// Lifecycle and threading: see Router (owned by one Exchange, used on its
// event loop only, no locking). Route is const but reuses mutable scratch
// space and the cache, so it is not safe to call from two threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "broker/core/exchange/binding_list.h"
#include "broker/core/exchange/router.h"

namespace warren::core {

class TopicRouter final : public Router {
 public:
  // Memoised routing keys, and the most destinations one cached result holds
  // (bigger results are recomputed: copying them costs as much as the walk).
  static constexpr size_t kCacheKeys = 1024;
  static constexpr size_t kCacheMaxResult = 256;

  TopicRouter();
  ~TopicRouter() override;

  bool Add(const BindingSpec& binding) override;
  bool Remove(const BindingSpec& binding) override;
  size_t RemoveDestination(const Destination& destination) override;
  void Route(std::string_view routing_key, const amqp::FieldTable* headers,
             std::vector<const Destination*>& out) const override;
  size_t size() const override { return size_; }
  void ForEach(const std::function<void(const BindingSpec&)>& fn) const override;

  // Splits a routing or binding key into words as described above.
  static void SplitWords(std::string_view key, std::vector<std::string_view>& words);

 private:
  struct Node;

  void Match(std::string_view routing_key, std::vector<const Destination*>& out) const;
  void Enter(const Node* node, std::vector<const Node*>& set) const;

  std::unique_ptr<Node> root_;
  size_t size_ = 0;

  // Route's scratch space, reused so a routed message allocates nothing
  // beyond `out` (and a cache entry on a miss).
  mutable std::vector<std::string_view> words_;
  mutable std::vector<const Node*> live_;
  mutable std::vector<const Node*> next_;
  mutable uint64_t step_ = 0;  // marks nodes already in the set being built
  mutable StringMap<std::vector<const Destination*>> cache_;
};

}  // namespace warren::core
