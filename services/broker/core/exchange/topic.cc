#include "broker/core/exchange/topic.h"

#include <utility>

namespace warren::core {

struct TopicRouter::Node {
  StringMap<std::unique_ptr<Node>> words;
  std::unique_ptr<Node> star;
  std::unique_ptr<Node> hash;
  BindingList bindings;
  bool is_hash = false;       // reached by a "#" edge: may also consume any word
  mutable uint64_t mark = 0;  // == step_ when already in the set being built

  bool empty() const { return bindings.empty() && words.empty() && !star && !hash; }

  // The child for one binding-key word, or nullptr.
  Node* Child(std::string_view word) const {
    if (word == "*") return star.get();
    if (word == "#") return hash.get();
    auto it = words.find(word);
    return it == words.end() ? nullptr : it->second.get();
  }

  Node& AddChild(std::string_view word) {
    if (Node* child = Child(word)) return *child;
    if (word == "*") return *(star = std::make_unique<Node>());
    if (word == "#") {
      hash = std::make_unique<Node>();
      hash->is_hash = true;
      return *hash;
    }
    return *words.emplace(std::string(word), std::make_unique<Node>()).first->second;
  }

  void RemoveChild(std::string_view word) {
    if (word == "*") {
      star.reset();
    } else if (word == "#") {
      hash.reset();
    } else if (auto it = words.find(word); it != words.end()) {
      words.erase(it);
    }
  }

  size_t RemoveDestination(const Destination& destination) {
    size_t removed = bindings.RemoveDestination(destination);
    for (auto it = words.begin(); it != words.end();) {
      removed += it->second->RemoveDestination(destination);
      it = it->second->empty() ? words.erase(it) : std::next(it);
    }
    for (std::unique_ptr<Node>* child : {&star, &hash}) {
      if (!*child) continue;
      removed += (*child)->RemoveDestination(destination);
      if ((*child)->empty()) child->reset();
    }
    return removed;
  }

  void ForEach(const std::function<void(const BindingSpec&)>& fn) const {
    bindings.ForEach(fn);
    for (const auto& [word, child] : words) child->ForEach(fn);
    if (star) star->ForEach(fn);
    if (hash) hash->ForEach(fn);
  }
};

TopicRouter::TopicRouter() : root_(std::make_unique<Node>()) {}
TopicRouter::~TopicRouter() = default;

void TopicRouter::SplitWords(std::string_view key, std::vector<std::string_view>& words) {
  words.clear();
  if (key.empty()) return;
  for (;;) {
    size_t dot = key.find('.');
    words.push_back(key.substr(0, dot));
    if (dot == std::string_view::npos) return;
    key.remove_prefix(dot + 1);
  }
}

bool TopicRouter::Add(const BindingSpec& binding) {
  SplitWords(binding.routing_key, words_);
  Node* node = root_.get();
  for (std::string_view word : words_) node = &node->AddChild(word);
  if (!node->bindings.Add(binding)) return false;
  ++size_;
  cache_.clear();
  return true;
}

bool TopicRouter::Remove(const BindingSpec& binding) {
  SplitWords(binding.routing_key, words_);
  std::vector<Node*> path{root_.get()};
  for (std::string_view word : words_) {
    Node* child = path.back()->Child(word);
    if (!child) return false;
    path.push_back(child);
  }
  if (!path.back()->bindings.Remove(binding)) return false;
  // Prune the nodes this binding alone kept alive, deepest first.
  for (size_t i = words_.size(); i > 0 && path[i]->empty(); --i)
    path[i - 1]->RemoveChild(words_[i - 1]);
  --size_;
  cache_.clear();
  return true;
}

size_t TopicRouter::RemoveDestination(const Destination& destination) {
  size_t removed = root_->RemoveDestination(destination);
  size_ -= removed;
  if (removed > 0) cache_.clear();
  return removed;
}

void TopicRouter::ForEach(const std::function<void(const BindingSpec&)>& fn) const {
  root_->ForEach(fn);
}

void TopicRouter::Route(std::string_view routing_key, const amqp::FieldTable* /*headers*/,
                        std::vector<const Destination*>& out) const {
  if (auto it = cache_.find(routing_key); it != cache_.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  size_t first = out.size();
  Match(routing_key, out);
  if (out.size() - first > kCacheMaxResult) return;
  if (cache_.size() >= kCacheKeys) cache_.clear();
  cache_.emplace(std::string(routing_key),
                 std::vector<const Destination*>(out.begin() + first, out.end()));
}

// Adds `node` to the set being built, then the "#" chain below it, since "#"
// may match zero words.
void TopicRouter::Enter(const Node* node, std::vector<const Node*>& set) const {
  for (; node && node->mark != step_; node = node->hash.get()) {
    node->mark = step_;
    set.push_back(node);
  }
}

void TopicRouter::Match(std::string_view routing_key, std::vector<const Destination*>& out) const {
  SplitWords(routing_key, words_);
  live_.clear();
  ++step_;
  Enter(root_.get(), live_);
  for (std::string_view word : words_) {
    next_.clear();
    ++step_;
    for (const Node* node : live_) {
      if (node->is_hash) Enter(node, next_);
      if (auto it = node->words.find(word); it != node->words.end()) Enter(it->second.get(), next_);
      Enter(node->star.get(), next_);
    }
    live_.swap(next_);
    if (live_.empty()) return;
  }
  for (const Node* node : live_) node->bindings.AppendDestinations(out);
}

}  // namespace warren::core
