#include "exporter/serve.h"

#include <sstream>

#include <prometheus/text_serializer.h>

#include "exporter/metrics.h"

namespace warren::exporter {
namespace {

// The path of a request target, without its query.
std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

}  // namespace

std::optional<http::Response> MetricsHandler::Admit(const http::Request& head) {
  const std::string path = PathOf(head.target);
  if (path != "/metrics" && path != "/metrics/per-object") return Refuse(404, "Not Found");
  if (head.method != "GET" && head.method != "HEAD") {
    http::Response r = Refuse(405, "Method Not Allowed");
    r.headers.push_back({"Allow", "GET, HEAD"});
    return r;
  }
  if (head.has_body) return Refuse(413, "a scrape has no body");
  return std::nullopt;
}

http::Response MetricsHandler::Serve(const http::Request& request) {
  const bool per_object = per_object_metrics_ || PathOf(request.target) == "/metrics/per-object";
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(
      text, BuildMetrics(scraper_.ScrapeAll(per_object), per_object));
  return {200, "text/plain; version=0.0.4; charset=utf-8", {}, text.str()};
}

http::Response MetricsHandler::Refuse(int status, const std::string& reason) {
  return {status, "text/plain; charset=utf-8", {}, reason + "\n"};
}

}  // namespace warren::exporter
