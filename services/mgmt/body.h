// Request bodies: a JSON object; the fields a route knows must have the
// types it expects, others are ignored as the management plugin ignores them
// (rabbitmqadmin sends a few it does not read). A body that is not JSON,
// nests deeper than kMaxJsonDepth, or has a known field of the wrong type is
// 400 bad_request with a reason naming it. An empty body (or "null") is an
// empty object; a null field is an absent one.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgmt/reply.h"
#include "mgmt/router.h"

namespace warren::mgmt {

enum class Type { kString, kBool, kInteger, kObject, kTags, kStrings, kAny };

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

// `text` as JSON, after checking its depth; nullopt when it is too deep or
// not JSON (then `why` says which).
std::optional<nlohmann::json> ParseUntrusted(const std::string& text, std::string& why);

// JSON text whatever bytes its strings hold (ill-formed UTF-8 replaced).
std::string Dump(const nlohmann::json& value);

}  // namespace warren::mgmt
