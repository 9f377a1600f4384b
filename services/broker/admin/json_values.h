// AMQP field values as JSON and back, the way RabbitMQ's management API and
// definitions files show them: integers as numbers, long strings as
// strings, tables as objects, arrays as arrays, void as null. JSON numbers
// become 'l' (64-bit) or 'd' (double) values, strings 'S', booleans 't'.
//
// Text: a string value that is not UTF-8 is shown as RabbitMQ shows it,
// "Not UTF-8, base64 is: <base64>", and a key that is not UTF-8 with U+FFFD
// for its bad bytes, so the JSON always dumps (docs/errors.md "Untrusted
// input"). Depth: JSON nested deeper than amqp::kMaxTableDepth is refused, so
// whatever is accepted here encodes, stores and decodes again.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "amqp/field_table.h"

namespace warren::admin {

nlohmann::json ToJson(const amqp::FieldValue& value);
nlohmann::json ToJson(const amqp::FieldTable& table);
// A string as RabbitMQ's API shows an AMQP string: itself when UTF-8, else
// "Not UTF-8, base64 is: " and its base64 (in lines of 76).
std::string JsonText(const std::string& bytes);
// Dumps without ever throwing (text that is not UTF-8 becomes U+FFFD).
std::string Dump(const nlohmann::json& json, int indent = -1);

// False (and `error` says why) when `json` is not an object (null is an
// empty table) or nests tables and arrays deeper than amqp::kMaxTableDepth.
bool TableFromJson(const nlohmann::json& json, amqp::FieldTable& out, std::string& error);

// Parses `text` as JSON for an Admin call: false (and `error` says why) when
// it nests deeper than warren::kMaxJsonDepth or is not JSON. `what` names
// the text in the error ("arguments", "the policy definition").
bool ParseJson(const std::string& text, const std::string& what, nlohmann::json& out,
               std::string& error);

}  // namespace warren::admin
