// What RabbitMQ has and Warren does not: user limits and topic permissions.
// Listings are empty, as RabbitMQ's are when none are set (404 when the
// vhost or user they are of does not exist); one named object is 404;
// setting one is 400 saying Warren does not support it, so a script learns
// it did not happen.
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

Reply Empty(Call& call) { return ListReply(call, nlohmann::json::array()); }

Reply Missing(Call&) { return NotFound("Object Not Found"); }

Reply Unsupported(const std::string& what) {
  return BadRequest(what + " are not supported by Warren");
}

// The empty listing of the vhost (user) args[0], or 404 when there is none.
Reply EmptyOfVHost(Call& call) {
  if (auto e = RequireVHost(call, call.arg(0))) return *e;
  return Empty(call);
}

Reply EmptyOfUser(Call& call) {
  if (auto e = RequireUser(call, call.arg(0))) return *e;
  return Empty(call);
}

}  // namespace

void AddAbsentRoutes(Router& r) {
  for (const char* path : {"/api/topic-permissions", "/api/user-limits",
                           // The web UI's plugins' scripts: Warren's UI has none.
                           "/api/extensions"})
    r.Add("GET", path, Empty);
  r.Add("GET", "/api/vhosts/{}/topic-permissions", EmptyOfVHost);
  r.Add("GET", "/api/users/{}/topic-permissions", EmptyOfUser);
  r.Add("GET", "/api/user-limits/{}", EmptyOfUser);
  r.Add("GET", "/api/topic-permissions/{}/{}", Missing);
  r.Add("PUT", "/api/user-limits/{}/{}", [](Call&) { return Unsupported("user limits"); });
  r.Add("PUT", "/api/topic-permissions/{}/{}",
        [](Call&) { return Unsupported("topic permissions"); });
  for (const char* path : {"/api/user-limits/{}/{}", "/api/topic-permissions/{}/{}",
                           "/api/topic-permissions/{}/{}/{}"})
    r.Add("DELETE", path, Missing);
}

}  // namespace warren::mgmt
