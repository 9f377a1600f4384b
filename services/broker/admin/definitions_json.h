// RabbitMQ's definitions format (rabbitmqctl export_definitions /
// import_definitions, the management API's /api/definitions): users with
// their password hashes, vhosts, permissions, policies, and the durable
// exchanges, queues and bindings.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace warren::core {
class Broker;
}

namespace warren::admin {

nlohmann::json ExportDefinitions(const core::Broker& broker);

// Applies a definitions document in RabbitMQ's order (vhosts, users,
// permissions, policies, exchanges, queues, bindings); what exists already
// and is the same is left as is. Keys Warren does not keep (parameters,
// topic permissions, limits) are ignored. Stops at the first item that
// fails, with an error naming it; what came before stays imported, as in
// RabbitMQ.
Status ImportDefinitions(core::Broker& broker, const nlohmann::json& definitions);

}  // namespace warren::admin
