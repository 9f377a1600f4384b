// What RabbitMQ has and Warren does not: the web UI's plugin scripts
// (/api/extensions). Its listing is empty, as RabbitMQ's is with no plugin
// that adds to the UI.
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {

void AddAbsentRoutes(Router& r) {
  r.Add("GET", "/api/extensions",
        [](Call& call) { return ListReply(call, nlohmann::json::array()); });
}

}  // namespace warren::mgmt
