// Patterns as RabbitMQ's permissions and policies take them: Perl-compatible
// regular expressions (PCRE2, the library behind RabbitMQ's own `re`, so
// "^(?!amq\.).*" works as it does there), searched unanchored in a name, the
// name read as bytes. They run on the node's loop against names any client
// chooses, so every match is bounded (docs/errors.md "Untrusted input"): a
// pattern such as "(a*)*b" that would backtrack for ages stops at the
// bound, counts as no match, and the node logs it once per pattern.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace warren::core {

// A compiled pattern; copies share it. Default-constructed, it matches
// nothing.
class Pattern {
 public:
  // Backtracking steps one search may take. Real patterns on names of at
  // most 255 bytes need a few thousand.
  static constexpr uint32_t kMatchLimit = 200'000;

  // False when `text` is not a valid expression.
  static bool Compile(const std::string& text, Pattern& out);
  // True when the pattern is found somewhere in `name`; false when it is
  // not, or when the search hit kMatchLimit.
  bool Search(std::string_view name) const;

 private:
  struct Compiled;
  std::shared_ptr<Compiled> re_;
};

}  // namespace warren::core
