// Node snapshots as Prometheus metric families, named, typed and grouped as
// RabbitMQ's rabbitmq_prometheus plugin does (rabbitmq_queue_messages_ready,
// rabbitmq_global_messages_received_total, ...), so its dashboards and alert
// rules keep working (services/exporter/README.md has the list):
//   - aggregated (/metrics): one series per node and family; the queue,
//     channel and connection families summed over the node's objects;
//   - per object (/metrics/per-object, or /metrics with per_object_metrics):
//     a series per queue (vhost, queue labels), channel and connection;
//   - detailed (/metrics/detailed?family=GROUP&vhost=V): only the groups
//     asked for, per object, named rabbitmq_detailed_*, queues only of the
//     vhosts asked for.
// Every series has a `node` label (the node's name), so an exporter reading
// several nodes keeps them apart; warren_node_up and
// warren_scrape_duration_seconds are labelled by the configured `address`.
// Label values are made valid UTF-8 (ill-formed bytes become U+FFFD), so a
// queue named with any bytes never fails a scrape.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "exporter/scraper.h"

namespace warren::exporter {

struct MetricsRequest {
  enum class Kind { kAggregated, kPerObject, kDetailed };
  Kind kind = Kind::kAggregated;
  std::set<std::string> groups;  // kDetailed: RabbitMQ's family= values
  std::set<std::string> vhosts;  // kDetailed: vhost= values; empty: every vhost
};

// What the snapshots must hold for `request`.
Listings ListingsFor(const MetricsRequest& request);

std::vector<prometheus::MetricFamily> BuildMetrics(const std::vector<NodeSnapshot>& nodes,
                                                   const MetricsRequest& request);

// rabbitmq_message_size_bytes, the histogram of received message sizes, in
// Prometheus's text format (empty on /metrics/detailed). Written here rather
// than by prometheus-cpp, whose bucket bounds read "1000000" where RabbitMQ's
// dashboards select le="1e+06" (and "100.0" for 100).
std::string MessageSizeText(const std::vector<NodeSnapshot>& nodes, const MetricsRequest& request);

}  // namespace warren::exporter
