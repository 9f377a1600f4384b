// Node snapshots as Prometheus metric families, named as RabbitMQ's
// rabbitmq_prometheus plugin names them (rabbitmq_queue_messages_ready,
// rabbitmq_global_messages_received_total, ...) so its dashboards and alerts
// keep working. Every series has a `node` label (the node's name), so one
// exporter serves a whole cluster; warren_node_up and
// warren_scrape_duration_seconds are labelled by the configured `address`.
// Label values are made valid UTF-8 (ill-formed bytes become U+FFFD), so a
// queue named with any bytes never fails a scrape.
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

#include "exporter/scraper.h"

namespace warren::exporter {

// `per_object`: a series per queue (vhost, queue labels); otherwise queue
// gauges are summed per node.
std::vector<prometheus::MetricFamily> BuildMetrics(const std::vector<NodeSnapshot>& nodes,
                                                   bool per_object);

}  // namespace warren::exporter
