// What RabbitMQ has and Warren does not: runtime parameters (their
// components come from plugins such as federation and shovel), operator
// policies and vhost limits. Listings are empty, as RabbitMQ's are when
// none are set; one named object is 404; setting one is 400 saying Warren
// does not support it, so a script learns it did not happen.
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

Reply Empty(Call&) { return Json(nlohmann::json::array()); }

Reply Missing(Call&) { return NotFound("Object Not Found"); }

Reply Unsupported(const std::string& what) {
  return BadRequest(what + " are not supported by Warren");
}

}  // namespace

void AddAbsentRoutes(Router& r) {
  for (const char* path : {"/api/parameters", "/api/parameters/{}", "/api/parameters/{}/{}",
                           "/api/operator-policies", "/api/operator-policies/{}",
                           "/api/vhost-limits", "/api/vhost-limits/{}"})
    r.Add("GET", path, Empty);
  r.Add("GET", "/api/parameters/{}/{}/{}", Missing);
  r.Add("GET", "/api/operator-policies/{}/{}", Missing);
  r.Add("PUT", "/api/parameters/{}/{}/{}",
        [](Call&) { return Unsupported("runtime parameters"); });
  r.Add("PUT", "/api/operator-policies/{}/{}",
        [](Call&) { return Unsupported("operator policies"); });
  r.Add("PUT", "/api/vhost-limits/{}/{}", [](Call&) { return Unsupported("vhost limits"); });
  r.Add("DELETE", "/api/parameters/{}/{}/{}", Missing);
  r.Add("DELETE", "/api/operator-policies/{}/{}", Missing);
  r.Add("DELETE", "/api/vhost-limits/{}/{}", Missing);
}

}  // namespace warren::mgmt
