#include "exporter/serve.h"

#include <sstream>

#include <prometheus/text_serializer.h>

#include "exporter/metrics.h"
#include "http/query.h"

namespace warren::exporter {
namespace {

// The path of a request target, without its query.
std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

}  // namespace

std::optional<http::Response> MetricsHandler::Admit(const http::Request& head) {
  const std::string path = PathOf(head.target);
  if (path != "/metrics" && path != "/metrics/per-object" && path != "/metrics/detailed")
    return Refuse(404, "Not Found");
  if (head.method != "GET" && head.method != "HEAD") {
    http::Response r = Refuse(405, "Method Not Allowed");
    r.headers.push_back({"Allow", "GET, HEAD"});
    return r;
  }
  if (head.has_body) return Refuse(413, "a scrape has no body");
  return std::nullopt;
}

http::Response MetricsHandler::Serve(const http::Request& request) {
  const std::string path = PathOf(request.target);
  MetricsRequest what;
  if (path == "/metrics/detailed") {
    what.kind = MetricsRequest::Kind::kDetailed;
    for (const auto& [key, value] : http::ParseQuery(request.target)) {
      if (key == "family") what.groups.insert(value);
      else if (key == "vhost") what.vhosts.insert(value);
    }
  } else if (per_object_metrics_ || path == "/metrics/per-object") {
    what.kind = MetricsRequest::Kind::kPerObject;
  }
  std::ostringstream text;
  std::vector<NodeSnapshot> nodes = scraper_.ScrapeAll(ListingsFor(what));
  prometheus::TextSerializer().Serialize(text, BuildMetrics(nodes, what));
  text << MessageSizeText(nodes, what);
  return {200, "text/plain; version=0.0.4; charset=utf-8", {}, text.str()};
}

http::Response MetricsHandler::Refuse(int status, const std::string& reason) {
  return {status, "text/plain; charset=utf-8", {}, reason + "\n"};
}

}  // namespace warren::exporter
