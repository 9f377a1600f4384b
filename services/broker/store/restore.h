// Rebuilds the broker model from the store at start: durable vhosts, users,
// permissions, exchanges, queues and bindings from the definitions, then the
// messages of durable queues from the message log, streamed segment by
// segment (bodies stay on disk until delivered). Messages that were
// delivered and not acked come back with redelivered set.
#pragma once

#include "broker/core/broker.h"
#include "broker/store/store.h"
#include "common/status.h"

namespace warren::store {

Status Restore(Store& store, core::Broker& broker);

}  // namespace warren::store
