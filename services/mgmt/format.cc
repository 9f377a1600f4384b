#include "mgmt/format.h"

#include <charconv>
#include <ctime>
#include <string_view>

#include "common/json_limits.h"

namespace warren::mgmt {

using nlohmann::json;

namespace {

json OrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

// The decimal number at the start of `text`; 0 when there is none.
int64_t LeadingNumber(std::string_view text) {
  int64_t out = 0;
  std::from_chars(text.data(), text.data() + text.size(), out);
  return out;
}

// "HOST:PORT" ("[::1]:5672" for IPv6) into o[host_key] and o[port_key].
void PutHostPort(std::string_view address, json& o, const char* host_key, const char* port_key) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return;
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  o[host_key] = std::string(host);
  o[port_key] = LeadingNumber(address.substr(colon + 1));
}

// A connection's name is "PEER -> NODE", e.g. "127.0.0.1:5000 -> 127.0.0.1:5672".
std::string_view PeerOf(std::string_view name) { return name.substr(0, name.find(" -> ")); }
std::string_view NodeEndOf(std::string_view name) {
  size_t arrow = name.find(" -> ");
  return arrow == std::string_view::npos ? std::string_view() : name.substr(arrow + 4);
}

// The peer's host and port, from the connection's name.
json ConnectionDetails(const std::string& name) {
  json d = {{"name", name}};
  PutHostPort(PeerOf(name), d, "peer_host", "peer_port");
  return d;
}

// RabbitMQ's Erlang process figures, for an object that has no Erlang
// process: every one 0.
json NoGarbageCollection() {
  return {{"fullsweep_after", 0}, {"max_heap_size", 0}, {"min_bin_vheap_size", 0},
          {"min_heap_size", 0}, {"minor_gcs", 0}};
}

// A queue declared with x-queue-type quorum is one (mirrored without a
// policy: docs/mirroring.md); any other is classic.
std::string QueueType(const json& arguments) {
  auto it = arguments.find("x-queue-type");
  return it != arguments.end() && *it == "quorum" ? "quorum" : "classic";
}

// a - b, or 0 where figures read at different moments would make it negative.
uint64_t Less(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

// RabbitMQ's idle_since: "YYYY-MM-DD HH:MM:SS", UTC.
std::string IdleSince(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char out[32];
  strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S", &tm);
  return out;
}

}  // namespace

json ParseJsonField(const std::string& text) {
  if (!JsonDepthWithin(text)) return json::object();
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() || j.is_null() ? json::object() : j;
}

json FormatQueue(const v1::Queue& q) {
  json arguments = ParseJsonField(q.arguments());
  json o = {
      {"name", q.name()},
      {"vhost", q.vhost()},
      {"type", QueueType(arguments)},
      {"durable", q.durable()},
      {"auto_delete", q.auto_delete()},
      {"exclusive", q.exclusive()},
      {"arguments", arguments},
      {"policy", OrNull(q.policy())},
      {"operator_policy", OrNull(q.operator_policy())},
      {"effective_policy_definition", ParseJsonField(q.effective_policy_definition())},
      {"owner_pid", OrNull(q.owner_pid())},
      {"messages", q.messages()},
      {"messages_ready", q.messages_ready()},
      {"messages_unacknowledged", q.messages_unacknowledged()},
      {"message_bytes_ready", q.message_bytes_ready()},
      {"message_bytes", q.message_bytes()},
      {"message_bytes_unacknowledged", q.message_bytes_unacknowledged()},
      {"message_bytes_persistent", q.message_bytes_persistent()},
      {"messages_persistent", q.messages_persistent()},
      {"messages_ram", q.messages_ram()},
      {"message_bytes_ram", q.message_bytes_ram()},
      // The node's in-memory figures count every unacknowledged message (its
      // channel holds the body) and the ready ones not paged out.
      {"messages_ready_ram", Less(q.messages_ram(), q.messages_unacknowledged())},
      {"messages_unacknowledged_ram", q.messages_unacknowledged()},
      {"messages_paged_out",
       Less(q.messages_ready(), Less(q.messages_ram(), q.messages_unacknowledged()))},
      {"message_bytes_paged_out",
       Less(q.message_bytes_ready(),
            Less(q.message_bytes_ram(), q.message_bytes_unacknowledged()))},
      // RabbitMQ's: "" with no timestamped message at the head.
      {"head_message_timestamp",
       q.head_message_timestamp() ? json(q.head_message_timestamp()) : json("")},
      {"consumer_capacity", q.consumer_capacity()},
      {"consumer_utilisation", q.consumer_capacity()},
      {"consumers", q.consumers()},
      {"memory", q.memory()},
      {"state", q.state()},
      {"node", q.node()},
      {"message_stats",
       {{"publish", q.published()},
        {"deliver_get", q.delivered()},
        {"deliver", q.delivered_consume_manual_ack()},
        {"deliver_no_ack", q.delivered_consume_auto_ack()},
        {"get", q.delivered_get_manual_ack()},
        {"get_no_ack", q.delivered_get_auto_ack()},
        {"get_empty", q.get_empty()},
        {"ack", q.acked()},
        {"redeliver", q.redelivered()}}},
      // What RabbitMQ shows of its classic queue's process and storage, as
      // for an idle one: Warren's queues have neither.
      {"backing_queue_status",
       {{"mode", "default"},
        {"version", 1},
        {"len", q.messages()},
        {"q1", 0}, {"q2", 0}, {"q3", 0}, {"q4", 0},
        {"delta", {"delta", "undefined", 0, 0, "undefined"}},
        {"target_ram_count", "infinity"},
        {"next_seq_id", 0},
        {"next_deliver_seq_id", 0},
        {"avg_ingress_rate", 0.0}, {"avg_egress_rate", 0.0},
        {"avg_ack_ingress_rate", 0.0}, {"avg_ack_egress_rate", 0.0}}},
      {"garbage_collection", NoGarbageCollection()},
      {"reductions", 0},
      {"exclusive_consumer_tag", nullptr},
      {"single_active_consumer_tag", nullptr},
      {"recoverable_slaves", nullptr},
  };
  if (q.idle_since_ms() != 0) o["idle_since"] = IdleSince(q.idle_since_ms());
  // A mirrored queue, as RabbitMQ's API shows one: its mirrors' nodes.
  if (q.mirror_nodes_size() > 0) {
    o["slave_nodes"] = std::vector<std::string>(q.mirror_nodes().begin(), q.mirror_nodes().end());
    o["synchronised_slave_nodes"] = std::vector<std::string>(
        q.synchronised_mirror_nodes().begin(), q.synchronised_mirror_nodes().end());
  }
  return o;
}

json FormatExchange(const v1::Exchange& e) {
  return {{"name", e.name()},
          {"vhost", e.vhost()},
          {"type", e.type()},
          {"durable", e.durable()},
          {"auto_delete", e.auto_delete()},
          {"internal", e.internal()},
          {"arguments", ParseJsonField(e.arguments())},
          {"policy", OrNull(e.policy())},
          // Messages published to it, and routed on (once per destination).
          {"message_stats", {{"publish_in", e.publish_in()}, {"publish_out", e.publish_out()}}}};
}

json FormatBinding(const v1::Binding& b) {
  return {{"source", b.source()},
          {"vhost", b.vhost()},
          {"destination", b.destination()},
          {"destination_type", b.destination_kind()},
          {"routing_key", b.routing_key()},
          {"arguments", ParseJsonField(b.arguments())},
          {"properties_key", b.properties_key()}};
}

json FormatConnection(const v1::Connection& c) {
  json props = ParseJsonField(c.client_properties());
  json o = {{"name", c.name()},
            {"node", c.node()},
            {"type", "network"},
            {"user", c.user()},
            {"vhost", c.vhost()},
            {"peer_host", c.peer_host()},
            {"peer_port", c.peer_port()},
            {"state", c.state()},
            {"channels", c.channels()},
            {"client_properties", props},
            {"frame_max", c.frame_max()},
            {"channel_max", c.channel_max()},
            {"timeout", c.heartbeat()},
            {"recv_oct", c.recv_oct()},
            {"send_oct", c.send_oct()},
            {"recv_cnt", c.recv_cnt()},
            {"send_cnt", c.send_cnt()},
            {"send_pend", c.send_pend()},
            {"protocol", c.protocol()},
            {"connected_at", c.connected_at()},
            {"ssl", c.ssl()},
            {"auth_mechanism", c.auth_mechanism()},
            // RabbitMQ's: who opened it.
            {"user_who_performed_action", c.user()},
            {"garbage_collection", NoGarbageCollection()},
            {"reductions", 0}};
  PutHostPort(NodeEndOf(c.name()), o, "host", "port");  // the node's end
  // RabbitMQ sends these as null on a plaintext connection; the node does
  // not report the key exchange, hash or the certificate's issuer and
  // validity, null as well.
  auto or_null = [&](const std::string& v) { return c.ssl() ? json(v) : json(nullptr); };
  o["ssl_protocol"] = or_null(c.ssl_protocol());
  o["ssl_cipher"] = or_null(c.ssl_cipher());
  o["ssl_key_exchange"] = nullptr;
  o["ssl_hash"] = nullptr;
  o["peer_cert_subject"] = OrNull(c.peer_cert_subject());
  o["peer_cert_issuer"] = nullptr;
  o["peer_cert_validity"] = nullptr;
  if (props.contains("connection_name")) o["user_provided_name"] = props["connection_name"];
  return o;
}

json FormatChannel(const v1::Channel& c, const std::string& node) {
  json o = {{"name", c.connection() + " (" + std::to_string(c.number()) + ")"},
          {"number", c.number()},
          {"node", node},
          {"user", c.user()},
          {"user_who_performed_action", c.user()},
          {"garbage_collection", NoGarbageCollection()},
          {"reductions", 0},
          {"pending_raft_commands", 0},
          {"vhost", c.vhost()},
          {"connection_details", ConnectionDetails(c.connection())},
          {"transactional", c.transactional()},
          {"confirm", c.confirm()},
          {"consumer_count", c.consumer_count()},
          {"messages_unacknowledged", c.messages_unacknowledged()},
          {"prefetch_count", c.prefetch_count()},
          {"global_prefetch_count", c.global_prefetch_count()},
          {"messages_unconfirmed", c.messages_unconfirmed()},
          {"messages_uncommitted", c.messages_uncommitted()},
          {"acks_uncommitted", c.acks_uncommitted()},
          {"state", "running"},
          // Counts since the channel opened, under RabbitMQ's names (no
          // rates: Warren keeps no samples).
          {"message_stats",
           {{"publish", c.messages_published()},
            {"confirm", c.messages_confirmed()},
            {"return_unroutable", c.messages_unroutable_returned()},
            {"drop_unroutable", c.messages_unroutable_dropped()},
            {"deliver", c.messages_delivered_consume_manual_ack()},
            {"deliver_no_ack", c.messages_delivered_consume_auto_ack()},
            {"get", c.messages_delivered_get_manual_ack()},
            {"get_no_ack", c.messages_delivered_get_auto_ack()},
            {"get_empty", c.messages_get_empty()},
            {"deliver_get", c.messages_delivered_consume_manual_ack() +
                                c.messages_delivered_consume_auto_ack() +
                                c.messages_delivered_get_manual_ack() +
                                c.messages_delivered_get_auto_ack()},
            {"redeliver", c.messages_redelivered()},
            {"ack", c.messages_acked()}}}};
  // RabbitMQ shows it only while the channel is idle.
  if (c.idle_since_ms() != 0) o["idle_since"] = IdleSince(c.idle_since_ms());
  return o;
}

json FormatConsumer(const v1::Consumer& c, const std::string& user, const std::string& node) {
  // The channel is "<connection name> (<number>)".
  std::string channel = c.channel();
  json details = {{"name", channel}, {"user", user}, {"node", node}};
  if (size_t open = channel.rfind(" ("); open != std::string::npos) {
    details["connection_name"] = channel.substr(0, open);
    details["number"] = LeadingNumber(std::string_view(channel).substr(open + 2));
    PutHostPort(PeerOf(channel.substr(0, open)), details, "peer_host", "peer_port");
  }
  return {{"consumer_tag", c.consumer_tag()},
          {"queue", {{"name", c.queue()}, {"vhost", c.vhost()}}},
          {"channel_details", details},
          {"ack_required", c.ack_required()},
          {"exclusive", c.exclusive()},
          {"prefetch_count", c.prefetch_count()},
          {"active", c.active()},
          {"activity_status", c.active() ? "up" : "waiting"},
          {"priority", c.priority()},
          {"arguments", json::object()}};
}

json FormatVHost(const v1::VHost& v) {
  json tags(std::vector<std::string>(v.tags().begin(), v.tags().end()));
  // As RabbitMQ's: the metadata has the default queue type only when one
  // was given; the vhost shows what its queues are declared as.
  json metadata = {{"description", v.description()}, {"tags", tags}};
  if (!v.default_queue_type().empty()) metadata["default_queue_type"] = v.default_queue_type();
  return {{"name", v.name()},
          {"description", v.description()},
          {"tags", tags},
          {"metadata", std::move(metadata)},
          {"default_queue_type",
           v.default_queue_type().empty() ? "classic" : v.default_queue_type()},
          {"messages", v.messages()},
          {"tracing", v.tracing()}};
}

json FormatUser(const v1::User& u) {
  json limits = json::object();
  for (const auto& [name, n] : u.limits()) limits[name] = n;
  return {{"name", u.name()},
          {"password_hash", u.password_hash()},
          {"tags", json(std::vector<std::string>(u.tags().begin(), u.tags().end()))},
          {"hashing_algorithm", "rabbit_password_hashing_sha256"},
          {"limits", std::move(limits)}};
}

json FormatPermission(const v1::Permission& p) {
  return {{"user", p.user()},
          {"vhost", p.vhost()},
          {"configure", p.configure()},
          {"write", p.write()},
          {"read", p.read()}};
}

json FormatTopicPermission(const v1::TopicPermission& p) {
  return {{"user", p.user()},
          {"vhost", p.vhost()},
          {"exchange", p.exchange()},
          {"write", p.write()},
          {"read", p.read()}};
}

json FormatPolicy(const v1::Policy& p) {
  return {{"vhost", p.vhost()},
          {"name", p.name()},
          {"pattern", p.pattern()},
          {"apply-to", p.apply_to().empty() ? "all" : p.apply_to()},
          {"definition", ParseJsonField(p.definition())},
          {"priority", p.priority()}};
}

}  // namespace warren::mgmt
