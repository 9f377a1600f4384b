// AMQP field values as JSON and back, the way RabbitMQ's management API and
// definitions files show them: integers as numbers, long strings as
// strings, tables as objects, arrays as arrays, void as null. JSON numbers
// become 'l' (64-bit) or 'd' (double) values, strings 'S', booleans 't'.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "amqp/field_table.h"

namespace warren::admin {

nlohmann::json ToJson(const amqp::FieldValue& value);
nlohmann::json ToJson(const amqp::FieldTable& table);
// False (and `error` says why) when `json` is not an object.
bool TableFromJson(const nlohmann::json& json, amqp::FieldTable& out, std::string& error);
amqp::FieldValue ValueFromJson(const nlohmann::json& json);

}  // namespace warren::admin
