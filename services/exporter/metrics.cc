#include "exporter/metrics.h"

#include <map>
#include <string>

#include "common/text.h"

namespace warren::exporter {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// Families in a fixed order, filled as the snapshots are read.
class Families {
 public:
  void Add(const std::string& name, MetricType type, const std::string& help, Labels labels,
           double value) {
    auto [it, fresh] = index_.try_emplace(name, families_.size());
    if (fresh) families_.push_back(MetricFamily{name, help, type, {}});
    ClientMetric m;
    // Prometheus takes only UTF-8 label values; queue and vhost names are
    // bytes (the serializer escapes \\, " and newlines).
    for (auto& l : labels) l.value = ToUtf8(l.value);
    m.label = std::move(labels);
    if (type == MetricType::Counter) m.counter.value = value;
    else m.gauge.value = value;
    families_[it->second].metric.push_back(std::move(m));
  }
  void Gauge(const std::string& name, const std::string& help, Labels labels, double value) {
    Add(name, MetricType::Gauge, help, std::move(labels), value);
  }
  void Counter(const std::string& name, const std::string& help, Labels labels, double value) {
    Add(name, MetricType::Counter, help, std::move(labels), value);
  }
  std::vector<MetricFamily> Take() { return std::move(families_); }

 private:
  std::vector<MetricFamily> families_;
  std::map<std::string, size_t> index_;
};

// The cluster's name as cluster_status gives it: member 1's (its name, or
// its address while unknown), so every node gives the same one.
std::string ClusterName(const NodeSnapshot& s) {
  for (const auto& m : s.cluster.members())
    if (m.id() == 1) return m.node_name().empty() ? m.address() : m.node_name();
  return s.status.node_name();
}

void NodeTotals(Families& f, const NodeSnapshot& s, const Labels& node) {
  const auto& st = s.status;
  const auto& o = s.overview;
  Labels identity = node;
  identity.push_back({"rabbitmq_node", st.node_name()});
  identity.push_back({"rabbitmq_cluster", ClusterName(s)});
  f.Gauge("rabbitmq_identity_info", "RabbitMQ node & cluster identity info", identity, 1);
  double running = 0;
  for (const auto& m : s.cluster.members()) running += m.running() ? 1 : 0;
  f.Gauge("warren_cluster_members", "Members of the node's cluster (Raft voters and learners)",
          node, s.cluster.members_size());
  f.Gauge("warren_cluster_running_members",
          "Members of the node's cluster that run and answered it just now", node, running);
  Labels build = node;
  build.push_back({"product", st.product()});
  build.push_back({"rabbitmq_version", st.version()});
  f.Gauge("rabbitmq_build_info", "RabbitMQ & Erlang/OTP version info", build, 1);
  f.Gauge("rabbitmq_connections", "Connections currently open", node, o.connections());
  f.Gauge("rabbitmq_channels", "Channels currently open", node, o.channels());
  f.Gauge("rabbitmq_consumers", "Consumers currently connected", node, o.consumers());
  f.Gauge("rabbitmq_queues", "Queues available", node, o.queues());
  f.Counter("rabbitmq_connections_opened_total", "Total number of connections opened", node,
            o.connections_opened());
  f.Counter("rabbitmq_connections_closed_total",
            "Total number of connections closed or terminated", node, o.connections_closed());
  Labels amqp = node;
  amqp.push_back({"protocol", "amqp091"});
  struct Global {
    const char* name;
    uint64_t value;
    const char* help;
  };
  const Global global[] = {
      {"received", o.messages_published(), "received from publishers"},
      {"confirmed", o.messages_confirmed(), "confirmed to publishers"},
      {"routed", o.messages_routed(), "routed to queues"},
      {"unroutable_dropped", o.messages_unroutable_dropped(),
       "published as non-mandatory into an exchange and dropped as unroutable"},
      {"unroutable_returned", o.messages_unroutable_returned(),
       "published as mandatory into an exchange and returned to the publisher as unroutable"},
      {"delivered", o.messages_delivered(), "delivered to consumers"},
      {"acknowledged", o.messages_acked(), "acknowledged by consumers"},
      {"redelivered", o.messages_redelivered(), "redelivered to consumers"}};
  for (const Global& g : global)
    f.Counter(std::string("rabbitmq_global_messages_") + g.name + "_total",
              std::string("Total number of messages ") + g.help, amqp, g.value);
  f.Gauge("rabbitmq_process_resident_memory_bytes", "Memory used in bytes", node,
          st.memory_bytes());
  f.Gauge("rabbitmq_resident_memory_limit_bytes",
          "Memory high watermark in bytes", node, st.memory_limit());
  f.Gauge("rabbitmq_disk_space_available_bytes", "Disk space available in bytes", node,
          st.disk_free());
  f.Gauge("rabbitmq_disk_space_available_limit_bytes",
          "Free disk space low watermark in bytes", node, st.disk_free_limit());
  bool memory = false, disk = false;
  for (const auto& a : st.alarms()) (a == "memory" ? memory : disk) = true;
  f.Gauge("rabbitmq_alarms_memory_used_watermark",
          "is 1 if VM memory watermark alarm is in effect", node, memory);
  f.Gauge("rabbitmq_alarms_free_disk_space_watermark",
          "is 1 if free disk space watermark alarm is in effect", node, disk);
  f.Gauge("rabbitmq_process_open_fds", "Open file descriptors", node,
          st.file_descriptors_used());
  f.Gauge("rabbitmq_process_max_fds", "Open file descriptors limit", node,
          st.file_descriptors_limit());
}

void QueueGauges(Families& f, const Labels& labels, double ready, double unacked,
                 double consumers, const double* memory, const double* ready_bytes) {
  f.Gauge("rabbitmq_queue_messages_ready", "Messages ready to be delivered to consumers",
          labels, ready);
  f.Gauge("rabbitmq_queue_messages_unacked",
          "Messages delivered to consumers but not yet acknowledged", labels, unacked);
  f.Gauge("rabbitmq_queue_messages", "Sum of ready and unacknowledged messages - total queue "
          "depth", labels, ready + unacked);
  f.Gauge("rabbitmq_queue_consumers", "Consumers on a queue", labels, consumers);
  if (memory)
    f.Gauge("rabbitmq_queue_process_memory_bytes",
            "Memory in bytes used by the queue's message bodies", labels, *memory);
  if (ready_bytes)
    f.Gauge("rabbitmq_queue_messages_ready_bytes", "Size in bytes of ready messages", labels,
            *ready_bytes);
}

}  // namespace

std::vector<MetricFamily> BuildMetrics(const std::vector<NodeSnapshot>& nodes, bool per_object) {
  Families f;
  for (const NodeSnapshot& s : nodes) {
    Labels address{{"address", s.address}};
    f.Gauge("warren_node_up", "1 if the node answered this scrape, 0 if not", address, s.up);
    f.Gauge("warren_scrape_duration_seconds", "Time taken to read the node", address, s.seconds);
  }
  for (const NodeSnapshot& s : nodes) {
    if (!s.up) continue;
    Labels node{{"node", s.status.node_name()}};
    NodeTotals(f, s, node);
    if (!per_object) {
      const auto& o = s.overview;
      QueueGauges(f, node, o.messages_ready(), o.messages_unacknowledged(), o.consumers(),
                  nullptr, nullptr);
      continue;
    }
    for (const auto& q : s.queues.queues()) {
      // Each node reports the queues homed on it; its records of queues
      // homed elsewhere carry no counts (docs/cluster.md).
      if (!q.node().empty() && q.node() != s.status.node_name()) continue;
      Labels labels{{"node", s.status.node_name()}, {"queue", q.name()}, {"vhost", q.vhost()}};
      double memory = static_cast<double>(q.memory());
      double bytes = static_cast<double>(q.message_bytes_ready());
      QueueGauges(f, labels, q.messages_ready(), q.messages_unacknowledged(), q.consumers(),
                  &memory, &bytes);
      if (q.mirror_nodes_size() > 0) {
        f.Gauge("warren_queue_mirrors", "Mirrors the queue has on other nodes", labels,
                q.mirror_nodes_size());
        f.Gauge("warren_queue_unsynchronised_mirrors",
                "Mirrors of the queue that do not hold all it holds yet", labels,
                q.mirror_nodes_size() - q.synchronised_mirror_nodes_size());
      }
    }
  }
  return f.Take();
}

}  // namespace warren::exporter
