// Patterns as RabbitMQ's permissions and policies take them: ECMAScript
// regular expressions, searched (not anchored) in a name by the callers.
#pragma once

#include <regex>
#include <string>

namespace warren::core {

// Compiles `pattern` into `out`; false when it is not a valid expression.
// The one place a std::regex_error is caught (administrative input).
inline bool CompileRegex(const std::string& pattern, std::regex& out) {
  try {
    out = std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
    return true;
  } catch (const std::regex_error&) {
    return false;
  }
}

}  // namespace warren::core
