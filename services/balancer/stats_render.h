// The stats page's three renderings of the listeners' live state: HTML for
// people (refreshes itself every `refresh`), JSON (?format=json) and the
// Prometheus text format (/metrics). Pure functions of the Frontends and the
// sessions' LiveGauges, no I/O. Every string that reaches a page (names from
// the config, check details that quote a backend) is escaped for it: HTML
// entities, Prometheus label escapes, JSON with ill-formed UTF-8 replaced.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "balancer/config.h"
#include "balancer/frontend.h"

namespace warren::balancer {

using Frontends = std::vector<std::shared_ptr<Frontend>>;

std::string RenderHtml(const Frontends& frontends, Millis refresh, const std::string& uri);
std::string RenderJson(const Frontends& frontends);
std::string RenderPrometheus(const Frontends& frontends);

}  // namespace warren::balancer
