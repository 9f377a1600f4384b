#include "exporter/metrics.h"

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "common/text.h"

namespace warren::exporter {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;
using Kind = MetricsRequest::Kind;

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
    else if (type == MetricType::Untyped) m.untyped.value = value;
    else m.gauge.value = value;
    families_[it->second].metric.push_back(std::move(m));
  }
  void Gauge(const std::string& name, const std::string& help, Labels labels, double value) {
    Add(name, MetricType::Gauge, help, std::move(labels), value);
  }
  void Counter(const std::string& name, const std::string& help, Labels labels, double value) {
    Add(name, MetricType::Counter, help, std::move(labels), value);
  }
  // RabbitMQ leaves its info and alarm families untyped.
  void Untyped(const std::string& name, const std::string& help, Labels labels, double value) {
    Add(name, MetricType::Untyped, help, std::move(labels), value);
  }
  std::vector<MetricFamily> Take() { return std::move(families_); }

 private:
  std::vector<MetricFamily> families_;
  std::map<std::string, size_t> index_;
};

Labels With(Labels labels, const std::string& name, const std::string& value) {
  labels.push_back({name, value});
  return labels;
}

// One node's part of a scrape: its snapshot, its `node` label, the name
// prefix (rabbitmq_ or rabbitmq_detailed_) and whether objects get their
// own series.
struct Scope {
  const NodeSnapshot& s;
  Labels node;
  std::string prefix;
  bool per_object;
  const std::set<std::string>* vhosts;  // queues of these vhosts only; null: all

  std::string Name(const char* family) const { return prefix + family; }
  bool Homed(const warren::v1::Queue& q) const {
    // Each node reports the queues homed on it; its records of queues homed
    // elsewhere carry no counts (docs/cluster.md).
    if (!q.node().empty() && q.node() != s.status.node_name()) return false;
    return !vhosts || vhosts->count(q.vhost()) > 0;
  }
  Labels Queue(const warren::v1::Queue& q) const {
    return With(With(node, "queue", q.name()), "vhost", q.vhost());
  }
  Labels Channel(const warren::v1::Channel& c) const {
    return With(node, "channel", c.connection() + " (" + std::to_string(c.number()) + ")");
  }
  Labels Connection(const warren::v1::Connection& c) const {
    return With(node, "connection", c.name());
  }
};

// RabbitMQ's metric groups (the names /metrics/detailed takes as family=),
// each with the families it holds.

void ConnectionChurn(Families& f, const Scope& c) {
  const auto& o = c.s.overview;
  struct Churn {
    const char* name;
    uint64_t value;
    const char* help;
  };
  const Churn churn[] = {
      {"connections_opened_total", o.connections_opened(), "Total number of connections opened"},
      {"connections_closed_total", o.connections_closed(),
       "Total number of connections closed or terminated"},
      {"channels_opened_total", o.channels_opened(), "Total number of channels opened"},
      {"channels_closed_total", o.channels_closed(), "Total number of channels closed"},
      {"queues_declared_total", o.queues_declared(), "Total number of queues declared"},
      {"queues_created_total", o.queues_created(), "Total number of queues created"},
      {"queues_deleted_total", o.queues_deleted(), "Total number of queues deleted"}};
  for (const Churn& x : churn) f.Counter(c.Name(x.name), x.help, c.node, x.value);
}

void NodeCoarse(Families& f, const Scope& c) {
  const auto& st = c.s.status;
  f.Gauge(c.Name("process_open_fds"), "Open file descriptors", c.node,
          st.file_descriptors_used());
  f.Gauge(c.Name("process_open_tcp_sockets"), "Open TCP sockets", c.node, st.sockets_used());
  f.Gauge(c.Name("process_resident_memory_bytes"), "Memory used in bytes", c.node,
          st.memory_bytes());
  f.Gauge(c.Name("disk_space_available_bytes"), "Disk space available in bytes", c.node,
          st.disk_free());
}

void NodeLimits(Families& f, const Scope& c) {
  const auto& st = c.s.status;
  f.Gauge(c.Name("process_max_fds"), "Open file descriptors limit", c.node,
          st.file_descriptors_limit());
  f.Gauge(c.Name("process_max_tcp_sockets"), "Open TCP sockets limit", c.node,
          st.sockets_limit());
  f.Gauge(c.Name("resident_memory_limit_bytes"), "Memory high watermark in bytes", c.node,
          st.memory_limit());
  f.Gauge(c.Name("disk_space_available_limit_bytes"), "Free disk space low watermark in bytes",
          c.node, st.disk_free_limit());
  // RabbitMQ's node table joins on this one; for Warren, the node's uptime.
  f.Gauge(c.Name("erlang_uptime_seconds"), "Node uptime", c.node, st.uptime_ms() / 1000.0);
}

void QueueCoarse(Families& f, const Scope& c) {
  auto emit = [&](const Labels& labels, double ready, double unacked) {
    f.Gauge(c.Name("queue_messages_ready"), "Messages ready to be delivered to consumers", labels,
            ready);
    f.Gauge(c.Name("queue_messages_unacked"),
            "Messages delivered to consumers but not yet acknowledged", labels, unacked);
    f.Gauge(c.Name("queue_messages"),
            "Sum of ready and unacknowledged messages - total queue depth", labels,
            ready + unacked);
  };
  if (!c.per_object) {
    emit(c.node, c.s.overview.messages_ready(), c.s.overview.messages_unacknowledged());
    return;
  }
  for (const auto& q : c.s.queues.queues())
    if (c.Homed(q)) emit(c.Queue(q), q.messages_ready(), q.messages_unacknowledged());
}

void QueueConsumers(Families& f, const Scope& c) {
  const char* help = "Consumers on a queue";
  if (!c.per_object) {
    f.Gauge(c.Name("queue_consumers"), help, c.node, c.s.overview.consumers());
    return;
  }
  for (const auto& q : c.s.queues.queues())
    if (c.Homed(q)) f.Gauge(c.Name("queue_consumers"), help, c.Queue(q), q.consumers());
}

void QueueDetails(Families& f, const Scope& c) {
  QueueConsumers(f, c);
  if (!c.per_object) return;  // the rest needs every queue listed
  for (const auto& q : c.s.queues.queues()) {
    if (!c.Homed(q)) continue;
    Labels labels = c.Queue(q);
    // The node keeps every unacknowledged body in memory (messages_ram
    // counts them): what is in memory beyond them is ready, the rest of the
    // ready messages is paged out.
    const uint64_t unacked_ram = std::min(q.messages_unacknowledged(), q.messages_ram());
    const uint64_t ready_ram = q.messages_ram() - unacked_ram;
    const uint64_t ready_ram_bytes =
        q.message_bytes_ram() - std::min(q.message_bytes_unacknowledged(), q.message_bytes_ram());
    struct Figure {
      const char* name;
      const char* help;
      double value;
    };
    const Figure figures[] = {
        {"queue_consumer_capacity", "Consumer capacity", q.consumer_capacity()},
        {"queue_consumer_utilisation", "Same as consumer capacity", q.consumer_capacity()},
        {"queue_process_memory_bytes",
         "Memory in bytes the queue holds: its records, consumers and message bodies in memory",
         static_cast<double>(q.memory())},
        {"queue_messages_ram", "Ready and unacknowledged messages stored in memory",
         static_cast<double>(q.messages_ram())},
        {"queue_messages_ram_bytes", "Size of ready and unacknowledged messages stored in memory",
         static_cast<double>(q.message_bytes_ram())},
        {"queue_messages_ready_ram", "Ready messages stored in memory",
         static_cast<double>(ready_ram)},
        {"queue_messages_unacked_ram", "Unacknowledged messages stored in memory",
         static_cast<double>(unacked_ram)},
        {"queue_messages_persistent", "Persistent messages",
         static_cast<double>(q.messages_persistent())},
        {"queue_messages_persistent_bytes", "Size in bytes of persistent messages",
         static_cast<double>(q.message_bytes_persistent())},
        {"queue_messages_bytes", "Size in bytes of ready and unacknowledged messages",
         static_cast<double>(q.message_bytes())},
        {"queue_messages_ready_bytes", "Size in bytes of ready messages",
         static_cast<double>(q.message_bytes_ready())},
        {"queue_messages_unacked_bytes", "Size in bytes of all unacknowledged messages",
         static_cast<double>(q.message_bytes_unacknowledged())},
        {"queue_messages_paged_out", "Messages paged out to disk",
         static_cast<double>(q.messages_ready() - std::min(q.messages_ready(), ready_ram))},
        {"queue_messages_paged_out_bytes", "Size in bytes of messages paged out to disk",
         static_cast<double>(q.message_bytes_ready() -
                             std::min(q.message_bytes_ready(), ready_ram_bytes))}};
    for (const Figure& x : figures) f.Gauge(c.Name(x.name), x.help, labels, x.value);
    // As RabbitMQ: only while the head message has a timestamp (and is in
    // memory).
    if (q.head_message_timestamp() != 0)
      f.Gauge(c.Name("queue_head_message_timestamp"),
              "Timestamp of the first message in the queue, if any", labels,
              static_cast<double>(q.head_message_timestamp()));
    if (q.mirror_nodes_size() > 0) {
      f.Gauge("warren_queue_mirrors", "Mirrors the queue has on other nodes", labels,
              q.mirror_nodes_size());
      f.Gauge("warren_queue_unsynchronised_mirrors",
              "Mirrors of the queue that do not hold all it holds yet", labels,
              q.mirror_nodes_size() - q.synchronised_mirror_nodes_size());
    }
  }
}

// A figure of each of `objects` (labelled by `labels`), or, when the scrape
// is aggregated, the node's sum over them as its Overview gives it (the
// objects are not listed then). No sum (nullopt): no aggregated series.
template <class Objects, class LabelsOf, class Value>
void PerObject(Families& f, const Scope& c, const Objects& objects, LabelsOf labels,
               MetricType type, const char* name, const char* help, Value value,
               std::optional<uint64_t> node_sum) {
  if (!c.per_object) {
    if (node_sum) f.Add(c.Name(name), type, help, c.node, static_cast<double>(*node_sum));
    return;
  }
  for (const auto& o : objects) f.Add(c.Name(name), type, help, labels(o), value(o));
}

// A channel figure, per channel or summed over the node's channels.
template <class Value>
void PerChannel(Families& f, const Scope& c, MetricType type, const char* name,
                const char* help, Value value, std::optional<uint64_t> node_sum) {
  PerObject(f, c, c.s.channels.channels(), [&](const auto& ch) { return c.Channel(ch); }, type,
            name, help, value, node_sum);
}

void ChannelGauges(Families& f, const Scope& c) {
  using Ch = warren::v1::Channel;
  const auto& o = c.s.overview;
  const auto gauge = MetricType::Gauge;
  PerChannel(f, c, gauge, "channel_consumers", "Consumers on a channel",
             [](const Ch& ch) { return ch.consumer_count(); }, o.local_consumers());
  PerChannel(f, c, gauge, "channel_messages_unacked",
             "Delivered but not yet acknowledged messages",
             [](const Ch& ch) { return ch.messages_unacknowledged(); },
             o.channel_messages_unacknowledged());
  PerChannel(f, c, gauge, "channel_messages_unconfirmed",
             "Published but not yet confirmed messages",
             [](const Ch& ch) { return ch.messages_unconfirmed(); },
             o.channel_messages_unconfirmed());
  PerChannel(f, c, gauge, "channel_messages_uncommitted",
             "Messages received in a transaction but not yet committed",
             [](const Ch& ch) { return ch.messages_uncommitted(); },
             o.channel_messages_uncommitted());
  PerChannel(f, c, gauge, "channel_acks_uncommitted",
             "Message acknowledgements in a transaction not yet committed",
             [](const Ch& ch) { return ch.acks_uncommitted(); }, o.channel_acks_uncommitted());
  // The Overview has no sum of per-consumer prefetch: per object only.
  PerChannel(f, c, gauge, "consumer_prefetch",
             "Limit of unacknowledged messages for each consumer",
             [](const Ch& ch) { return ch.prefetch_count(); }, std::nullopt);
  PerChannel(f, c, gauge, "channel_prefetch",
             "Total limit of unacknowledged messages for all consumers on a channel",
             [](const Ch& ch) { return ch.global_prefetch_count(); }, o.channel_prefetch());
}

// A channel counter: per channel, or (aggregated) the node's total, which
// unlike a sum over open channels keeps what closed channels counted.
struct ChannelCounter {
  const char* name;
  const char* help;
  uint64_t (warren::v1::Channel::*of_channel)() const;
  uint64_t (warren::v1::OverviewResponse::*of_node)() const;
};

void ChannelCounters(Families& f, const Scope& c, const ChannelCounter* counters, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const ChannelCounter& k = counters[i];
    if (!c.per_object) {
      f.Counter(c.Name(k.name), k.help, c.node, (c.s.overview.*k.of_node)());
      continue;
    }
    for (const auto& ch : c.s.channels.channels())
      f.Counter(c.Name(k.name), k.help, c.Channel(ch), (ch.*k.of_channel)());
  }
}

void ChannelExchange(Families& f, const Scope& c) {
  using Ch = warren::v1::Channel;
  using O = warren::v1::OverviewResponse;
  static const ChannelCounter kCounters[] = {
      {"channel_messages_published_total",
       "Total number of messages published into an exchange on a channel",
       &Ch::messages_published, &O::messages_published},
      {"channel_messages_confirmed_total",
       "Total number of messages published into an exchange and confirmed on the channel",
       &Ch::messages_confirmed, &O::messages_confirmed},
      {"channel_messages_unroutable_returned_total",
       "Total number of messages published as mandatory into an exchange and returned to the "
       "publisher as unroutable",
       &Ch::messages_unroutable_returned, &O::messages_unroutable_returned},
      {"channel_messages_unroutable_dropped_total",
       "Total number of messages published as non-mandatory into an exchange and dropped as "
       "unroutable",
       &Ch::messages_unroutable_dropped, &O::messages_unroutable_dropped}};
  ChannelCounters(f, c, kCounters, std::size(kCounters));
}

void ChannelQueue(Families& f, const Scope& c) {
  using Ch = warren::v1::Channel;
  using O = warren::v1::OverviewResponse;
  static const ChannelCounter kCounters[] = {
      {"channel_get_ack_total",
       "Total number of messages fetched with basic.get in manual acknowledgement mode",
       &Ch::messages_delivered_get_manual_ack, &O::messages_delivered_get_manual_ack},
      {"channel_get_total",
       "Total number of messages fetched with basic.get in automatic acknowledgement mode",
       &Ch::messages_delivered_get_auto_ack, &O::messages_delivered_get_auto_ack},
      {"channel_messages_delivered_ack_total",
       "Total number of messages delivered to consumers in manual acknowledgement mode",
       &Ch::messages_delivered_consume_manual_ack, &O::messages_delivered_consume_manual_ack},
      {"channel_messages_delivered_total",
       "Total number of messages delivered to consumers in automatic acknowledgement mode",
       &Ch::messages_delivered_consume_auto_ack, &O::messages_delivered_consume_auto_ack},
      {"channel_messages_redelivered_total", "Total number of messages redelivered to consumers",
       &Ch::messages_redelivered, &O::messages_redelivered},
      {"channel_messages_acked_total", "Total number of messages acknowledged by consumers",
       &Ch::messages_acked, &O::messages_acked},
      {"channel_get_empty_total", "Total number of times basic.get operations fetched no message",
       &Ch::messages_get_empty, &O::messages_get_empty}};
  ChannelCounters(f, c, kCounters, std::size(kCounters));
}

// A connection figure, per connection or summed over the node's.
template <class Value>
void PerConnection(Families& f, const Scope& c, MetricType type, const char* name,
                   const char* help, Value value, uint64_t node_sum) {
  PerObject(f, c, c.s.connections.connections(),
            [&](const auto& conn) { return c.Connection(conn); }, type, name, help, value,
            node_sum);
}

void ConnectionCoarse(Families& f, const Scope& c) {
  using Conn = warren::v1::Connection;
  const auto& o = c.s.overview;
  PerConnection(f, c, MetricType::Counter, "connection_incoming_bytes_total",
                "Total number of bytes received on a connection",
                [](const Conn& x) { return x.recv_oct(); }, o.connection_recv_oct());
  PerConnection(f, c, MetricType::Counter, "connection_outgoing_bytes_total",
                "Total number of bytes sent on a connection",
                [](const Conn& x) { return x.send_oct(); }, o.connection_send_oct());
}

void ConnectionDetails(Families& f, const Scope& c) {
  using Conn = warren::v1::Connection;
  const auto& o = c.s.overview;
  PerConnection(f, c, MetricType::Counter, "connection_incoming_packets_total",
                "Total number of packets received on a connection",
                [](const Conn& x) { return x.recv_cnt(); }, o.connection_recv_cnt());
  PerConnection(f, c, MetricType::Counter, "connection_outgoing_packets_total",
                "Total number of packets sent on a connection",
                [](const Conn& x) { return x.send_cnt(); }, o.connection_send_cnt());
  PerConnection(f, c, MetricType::Gauge, "connection_pending_packets",
                "Number of packets waiting to be sent on a connection",
                [](const Conn& x) { return x.send_pend(); }, o.connection_send_pend());
  PerConnection(f, c, MetricType::Gauge, "connection_channels", "Channels on a connection",
                [](const Conn& x) { return x.channels(); }, o.channels());
}

// /metrics/detailed only, named rabbitmq_cluster_*: what RabbitMQ reads of
// the cluster-wide metadata, here of the node's copy of it.
void VHostStatus(Families& f, const Scope& c) {
  // A vhost of a node that answers runs: Warren has no per-vhost process.
  for (const auto& v : c.s.vhosts.vhosts())
    f.Gauge("rabbitmq_cluster_vhost_status", "Whether a given vhost is running",
            With(c.node, "vhost", v.name()), 1);
}

// Exchanges as RabbitMQ enumerates them here: not the default exchange, not
// internal ones; labelled vhost, exchange, type.
template <class Emit>
void EachListedExchange(const Scope& c, Emit emit) {
  for (const auto& e : c.s.exchanges.exchanges()) {
    if (e.name().empty() || e.internal()) continue;
    emit(e, With(With(With(c.node, "vhost", e.vhost()), "exchange", e.name()), "type",
                 e.type()));
  }
}

void ExchangeBindings(Families& f, const Scope& c) {
  std::map<std::pair<std::string, std::string>, uint64_t> bindings;
  for (const auto& b : c.s.bindings.bindings()) ++bindings[{b.vhost(), b.source()}];
  EachListedExchange(c, [&](const warren::v1::Exchange& e, Labels labels) {
    auto it = bindings.find({e.vhost(), e.name()});
    f.Gauge("rabbitmq_cluster_exchange_bindings",
            "Number of bindings for an exchange. This value is cluster-wide.", std::move(labels),
            it == bindings.end() ? 0 : static_cast<double>(it->second));
  });
}

void ExchangeNames(Families& f, const Scope& c) {
  EachListedExchange(c, [&](const warren::v1::Exchange&, Labels labels) {
    f.Gauge("rabbitmq_cluster_exchange_name",
            "Enumerates exchanges without any additional info. This value is cluster-wide. A "
            "cheaper alternative to `exchange_bindings`",
            std::move(labels), 1);
  });
}

struct Group {
  const char* name;
  void (*emit)(Families&, const Scope&);
  // What it lists: queues, channels and connections only per object (the
  // aggregated figures come from the Overview); the cluster groups always.
  bool queues = false, channels = false, connections = false;
  bool detailed_only = false;  // the cluster groups: /metrics/detailed only
  bool exchanges = false, bindings = false, vhosts = false;
};

// queue_consumer_count is the part of queue_metrics RabbitMQ offers alone:
// one or the other is emitted, never both.
const Group kGroups[] = {
    {"connection_churn_metrics", ConnectionChurn},
    {"node_coarse_metrics", NodeCoarse},
    {"node_metrics", NodeLimits},
    {"queue_coarse_metrics", QueueCoarse, true},
    {"queue_consumer_count", QueueConsumers, true},
    {"queue_metrics", QueueDetails, true},
    {"channel_metrics", ChannelGauges, false, true},
    {"channel_exchange_metrics", ChannelExchange, false, true},
    {"channel_queue_metrics", ChannelQueue, false, true},
    {"connection_coarse_metrics", ConnectionCoarse, false, false, true},
    {"connection_metrics", ConnectionDetails, false, false, true},
    {"vhost_status", VHostStatus, false, false, false, true, false, false, true},
    {"exchange_bindings", ExchangeBindings, false, false, false, true, true, true},
    {"exchange_names", ExchangeNames, false, false, false, true, true},
};

bool Wanted(const Group& g, const MetricsRequest& r) {
  const std::string name = g.name;
  if (r.kind != Kind::kDetailed) return name != "queue_consumer_count" && !g.detailed_only;
  if (!r.groups.count(name)) return false;
  return name != "queue_consumer_count" || !r.groups.count("queue_metrics");
}

// The cluster's name as cluster_status gives it: member 1's (its name, or
// its address while unknown), so every node gives the same one.
std::string ClusterName(const NodeSnapshot& s) {
  for (const auto& m : s.cluster.members())
    if (m.id() == 1) return m.node_name().empty() ? m.address() : m.node_name();
  return s.status.node_name();
}

// `endpoint`: which of the three answers this is ("aggregated", "per-object",
// "detailed"), as RabbitMQ labels it since 4.0, so a dashboard reading one of
// them joins to one identity per node when Prometheus scrapes several.
void Identity(Families& f, const NodeSnapshot& s, const Labels& node, const char* endpoint) {
  const auto& st = s.status;
  Labels build = node;
  build.push_back({"product_name", st.product()});
  build.push_back({"product_version", st.version()});
  build.push_back({"rabbitmq_version", st.compatible_version()});
  f.Untyped("rabbitmq_build_info", "RabbitMQ & Erlang/OTP version info", build, 1);
  Labels identity = node;
  identity.push_back({"rabbitmq_node", st.node_name()});
  // The node's cluster name once it gives one, else member 1's name.
  identity.push_back(
      {"rabbitmq_cluster", st.cluster_name().empty() ? ClusterName(s) : st.cluster_name()});
  if (!st.cluster_id().empty())
    identity.push_back({"rabbitmq_cluster_permanent_id", st.cluster_id()});
  identity.push_back({"rabbitmq_endpoint", endpoint});
  f.Untyped("rabbitmq_identity_info", "RabbitMQ node & cluster identity info", identity, 1);
}

// RabbitMQ's rabbitmq_global_* counters, by protocol and (those of the
// message path) by queue type: Warren's queues are classic queues.
void Global(Families& f, const NodeSnapshot& s, const Labels& node) {
  const auto& o = s.overview;
  Labels protocol = With(node, "protocol", "amqp091");
  Labels queue_type = With(protocol, "queue_type", "rabbit_classic_queue");
  struct Counter {
    const char* name;
    uint64_t value;
    const char* help;
    bool by_queue_type;
  };
  const Counter counters[] = {
      {"messages_received_total", o.messages_published(),
       "Total number of messages received from publishers", false},
      {"messages_received_confirm_total", o.messages_received_confirm(),
       "Total number of messages received from publishers expecting confirmations", false},
      {"messages_routed_total", o.messages_routed(),
       "Total number of messages routed to queues or streams", false},
      {"messages_unroutable_dropped_total", o.messages_unroutable_dropped(),
       "Total number of messages published as non-mandatory into an exchange and dropped as "
       "unroutable", false},
      {"messages_unroutable_returned_total", o.messages_unroutable_returned(),
       "Total number of messages published as mandatory into an exchange and returned to the "
       "publisher as unroutable", false},
      {"messages_confirmed_total", o.messages_confirmed(),
       "Total number of messages confirmed to publishers", false},
      {"messages_delivered_total", o.messages_delivered(),
       "Total number of messages delivered to consumers", true},
      {"messages_delivered_consume_manual_ack_total", o.messages_delivered_consume_manual_ack(),
       "Total number of messages delivered to consumers using basic.consume with manual "
       "acknowledgment", true},
      {"messages_delivered_consume_auto_ack_total", o.messages_delivered_consume_auto_ack(),
       "Total number of messages delivered to consumers using basic.consume with automatic "
       "acknowledgment", true},
      {"messages_delivered_get_manual_ack_total", o.messages_delivered_get_manual_ack(),
       "Total number of messages delivered to consumers using basic.get with manual "
       "acknowledgment", true},
      {"messages_delivered_get_auto_ack_total", o.messages_delivered_get_auto_ack(),
       "Total number of messages delivered to consumers using basic.get with automatic "
       "acknowledgment", true},
      {"messages_get_empty_total", o.messages_get_empty(),
       "Total number of times basic.get operations fetched no message", true},
      {"messages_redelivered_total", o.messages_redelivered(),
       "Total number of messages redelivered to consumers", true},
      {"messages_acknowledged_total", o.messages_acked(),
       "Total number of messages acknowledged by consumers", true}};
  for (const Counter& k : counters)
    f.Counter(std::string("rabbitmq_global_") + k.name, k.help,
              k.by_queue_type ? queue_type : protocol, k.value);
  f.Gauge("rabbitmq_global_publishers", "Current number of publishers", protocol, o.publishers());
  f.Gauge("rabbitmq_global_consumers", "Current number of consumers", protocol,
          o.local_consumers());
}

void Totals(Families& f, const NodeSnapshot& s, const Labels& node) {
  const auto& o = s.overview;
  f.Gauge("rabbitmq_connections", "Connections currently open", node, o.connections());
  f.Gauge("rabbitmq_channels", "Channels currently open", node, o.channels());
  f.Gauge("rabbitmq_consumers", "Consumers currently connected", node, o.consumers());
  f.Gauge("rabbitmq_queues", "Queues available", node, o.local_queues());
}

void Alarms(Families& f, const NodeSnapshot& s, const Labels& node) {
  bool memory = false, disk = false, descriptors = false;
  for (const auto& a : s.status.alarms()) {
    if (a == "memory") memory = true;
    else if (a == "disk") disk = true;
    else if (a == "file_descriptor_limit") descriptors = true;
  }
  f.Untyped("rabbitmq_alarms_file_descriptor_limit",
            "is 1 if file descriptor limit alarm is in effect", node, descriptors);
  f.Untyped("rabbitmq_alarms_free_disk_space_watermark",
            "is 1 if free disk space watermark alarm is in effect", node, disk);
  f.Untyped("rabbitmq_alarms_memory_used_watermark",
            "is 1 if VM memory watermark alarm is in effect", node, memory);
}

void Cluster(Families& f, const NodeSnapshot& s, const Labels& node) {
  double running = 0;
  for (const auto& m : s.cluster.members()) running += m.running() ? 1 : 0;
  f.Gauge("warren_cluster_members", "Members of the node's cluster (Raft voters and learners)",
          node, s.cluster.members_size());
  f.Gauge("warren_cluster_running_members",
          "Members of the node's cluster that run and answered it just now", node, running);
}

}  // namespace

Listings ListingsFor(const MetricsRequest& request) {
  Listings l;
  const bool objects = request.kind != Kind::kAggregated;
  for (const Group& g : kGroups) {
    if (!Wanted(g, request)) continue;
    l.queues = l.queues || (g.queues && objects);
    l.channels = l.channels || (g.channels && objects);
    l.connections = l.connections || (g.connections && objects);
    l.exchanges = l.exchanges || g.exchanges;
    l.bindings = l.bindings || g.bindings;
    l.vhosts = l.vhosts || g.vhosts;
  }
  return l;
}

std::vector<MetricFamily> BuildMetrics(const std::vector<NodeSnapshot>& nodes,
                                       const MetricsRequest& request) {
  Families f;
  const bool detailed = request.kind == Kind::kDetailed;
  if (!detailed) {
    for (const NodeSnapshot& s : nodes) {
      Labels address{{"address", s.address}};
      f.Gauge("warren_node_up", "1 if the node answered this scrape, 0 if not", address, s.up);
      f.Gauge("warren_scrape_duration_seconds", "Time taken to read the node", address,
              s.seconds);
    }
  }
  for (const NodeSnapshot& s : nodes) {
    if (!s.up) continue;
    Labels node{{"node", s.status.node_name()}};
    Scope scope{s, node, detailed ? "rabbitmq_detailed_" : "rabbitmq_",
                request.kind != Kind::kAggregated,
                detailed && !request.vhosts.empty() ? &request.vhosts : nullptr};
    for (const Group& g : kGroups)
      if (Wanted(g, request)) g.emit(f, scope);
    Identity(f, s, node,
             detailed ? "detailed" : scope.per_object ? "per-object" : "aggregated");
    if (detailed) continue;
    Global(f, s, node);
    Totals(f, s, node);
    Alarms(f, s, node);
    Cluster(f, s, node);
  }
  return f.Take();
}

std::string MessageSizeText(const std::vector<NodeSnapshot>& nodes,
                            const MetricsRequest& request) {
  if (request.kind == Kind::kDetailed) return "";
  // The bounds of the node's counts (OverviewResponse.message_size_counts),
  // as the dashboards spell them.
  static const char* const kBounds[] = {"100.0", "1000.0", "10000.0", "100000.0", "1e+06",
                                        "1e+07", "5e+07",  "1e+08"};
  constexpr const char* kName = "rabbitmq_message_size_bytes";
  std::ostringstream out;
  bool any = false;
  for (const NodeSnapshot& s : nodes) {
    if (!s.up) continue;
    const auto& counts = s.overview.message_size_counts();
    if (!any) {
      out << "# HELP " << kName << " Size of messages received from publishers\n"
          << "# TYPE " << kName << " histogram\n";
      any = true;
    }
    // Node names are text the node was configured with; escape as labels are.
    std::string node;
    for (char ch : ToUtf8(s.status.node_name())) {
      if (ch == '\n') {
        node += "\\n";
        continue;
      }
      if (ch == '\\' || ch == '"') node.push_back('\\');
      node.push_back(ch);
    }
    const std::string labels = "node=\"" + node + "\",protocol=\"amqp091\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= std::size(kBounds); ++i) {
      cumulative += i < static_cast<size_t>(counts.size()) ? counts[static_cast<int>(i)] : 0;
      out << kName << "_bucket{" << labels << ",le=\""
          << (i < std::size(kBounds) ? kBounds[i] : "+Inf") << "\"} " << cumulative << "\n";
    }
    out << kName << "_sum{" << labels << "} " << s.overview.message_size_sum() << "\n"
        << kName << "_count{" << labels << "} " << cumulative << "\n";
  }
  return out.str();
}

}  // namespace warren::exporter
