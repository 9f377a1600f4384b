// RabbitMQ's definitions format (rabbitmqctl export_definitions /
// import_definitions, the management API's /api/definitions): users with
// their password hashes, vhosts, permissions, policies, and the durable
// exchanges, queues and bindings.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "broker/core/command.h"
#include "common/status.h"

namespace warren::core {
class Broker;
}

namespace warren::admin {

nlohmann::json ExportDefinitions(const core::Broker& broker);

// A definitions document as the metadata changes that import it, in
// RabbitMQ's order (vhosts, users, permissions, policies, exchanges, queues,
// bindings). What exists already and is the same is left as is when they are
// applied. Keys Warren does not keep (parameters, topic permissions, limits)
// are ignored. A document that is not well formed is refused whole, before
// anything changes; applying stops at the first change that fails, with an
// error naming it, and what came before stays imported, as in RabbitMQ.
struct ImportStep {
  core::Command command;
  std::string vhost;  // must exist when the step runs; empty: none named
  std::string where;  // names the item in errors
};
Result<std::vector<ImportStep>> PlanImport(const nlohmann::json& definitions);
// 406 naming the item when the step's vhost does not exist (yet).
Status CheckImportStep(const core::Broker& broker, const ImportStep& step);

// The node's load_definitions file (docs/architecture.md, "Configuration"),
// planned as PlanImport plans a document; each step's `where` names the
// item. An error names the file: it cannot be read, is larger than
// kMaxDefinitionsFileSize, or is not a definitions document.
inline constexpr size_t kMaxDefinitionsFileSize = 64u << 20;
Result<std::vector<ImportStep>> ReadDefinitionsFile(const std::string& path);

}  // namespace warren::admin
