// The exporter's HTTP answers, served by services/http: GET (or HEAD)
// /metrics, /metrics/per-object and /metrics/detailed?family=...&vhost=...
// (metrics.h) read the nodes (Scraper) and answer in
// Prometheus's text format (prometheus-cpp's TextSerializer); other paths
// are 404, other methods 405, a request with a body 413. Nothing the client
// sends reaches a node.
//
// Thread-safe: the server calls it from its worker threads.
#pragma once

#include "exporter/scraper.h"
#include "http/server.h"

namespace warren::exporter {

class MetricsHandler : public http::Handler {
 public:
  MetricsHandler(const Scraper& scraper, bool per_object_metrics)
      : scraper_(scraper), per_object_metrics_(per_object_metrics) {}

  std::optional<http::Response> Admit(const http::Request& head) override;
  http::Response Serve(const http::Request& request) override;
  http::Response Refuse(int status, const std::string& reason) override;

 private:
  const Scraper& scraper_;
  bool per_object_metrics_;
};

}  // namespace warren::exporter
