// User limits as the management API takes and shows them: an object of
// RabbitMQ's two, {"max-connections": N, "max-channels": N} (a negative N
// is no limit). Read by the user-limits routes and by the users' PUT, which
// may set them; users' objects show them as ListUsers gives them.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mgmt/reply.h"
#include "mgmt/router.h"

namespace warren::mgmt {

// Adds the limit `name` = `value` to `out`; 400 naming it when it is not one
// of the two or not a 64-bit integer.
std::optional<Reply> AddUserLimit(const std::string& name, const nlohmann::json& value,
                                  v1::UserLimits& out);

}  // namespace warren::mgmt
