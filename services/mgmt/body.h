// Request bodies: a JSON object whose fields are those a route knows, of the
// types it expects. Anything else is 400 bad_request with a reason naming
// the field, as the management plugin answers a body it cannot use. An
// empty body is an empty object.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgmt/reply.h"
#include "mgmt/router.h"

namespace warren::mgmt {

enum class Type { kString, kBool, kInteger, kObject, kTags, kAny };

struct Field {
  const char* name;
  Type type;
  bool required = false;
};

// nullopt when the body is good (then in `out`); else the 400 reply.
std::optional<Reply> ReadBody(const Call& call, const std::vector<Field>& fields,
                              nlohmann::json& out);

// Tags as RabbitMQ 3.13 takes them: "a,b" or ["a","b"] (kTags).
std::vector<std::string> TagList(const nlohmann::json& tags);

// JSON text for a proto string field ("" when absent or null).
std::string Text(const nlohmann::json& body, const char* field);

}  // namespace warren::mgmt
