// A message's basic properties as the management API shows and takes them
// (POST /api/exchanges/.../publish, POST /api/queues/.../get): a JSON object
// keyed by the spec's field names (content_type, delivery_mode, headers,
// ...), headers as a table (json_values.h).
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "amqp/properties.h"

namespace warren::admin {

// False (and `error` names the property) on an unknown property or a value
// of the wrong type.
bool PropertiesFromJson(const nlohmann::json& json, amqp::BasicProperties& out,
                        std::string& error);
nlohmann::json PropertiesToJson(const amqp::BasicProperties& properties);

}  // namespace warren::admin
