// The node as a whole: /api/overview, /api/nodes[/{name}], /api/whoami,
// /api/definitions[/{vhost}], /api/aliveness-test/{vhost}.
#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

#ifndef WARREN_VERSION
#define WARREN_VERSION "0.0.0"
#endif

// The management API version Warren's answers follow.
constexpr const char* kApiVersion = "3.13.7";

// The node's own counts since it started (Overview), as a node object
// carries them.
void PutNodeCounts(const v1::OverviewResponse& o, json& node) {
  node["connection_created"] = o.connections_opened();
  node["connection_closed"] = o.connections_closed();
  node["channel_created"] = o.channels_opened();
  node["channel_closed"] = o.channels_closed();
  node["queue_declared"] = o.queues_declared();
  node["queue_created"] = o.queues_created();
  node["queue_deleted"] = o.queues_deleted();
}

// The SASL mechanisms a client may use; EXTERNAL needs an AMQPS listener.
json AuthMechanisms(const v1::StatusResponse& s) {
  bool tls = false;
  for (const auto& l : s.listeners()) tls = tls || l.protocol() == "amqp/ssl";
  return json::array(
      {{{"name", "PLAIN"}, {"description", "SASL PLAIN authentication mechanism"},
        {"enabled", true}},
       {{"name", "AMQPLAIN"}, {"description", "QPid AMQPLAIN mechanism"}, {"enabled", true}},
       {{"name", "EXTERNAL"}, {"description", "SASL EXTERNAL authentication mechanism"},
        {"enabled", tls}}});
}

json ExchangeTypes();

json FormatNode(const v1::StatusResponse& s) {
  bool mem_alarm = false, disk_alarm = false;
  for (const auto& a : s.alarms()) {
    mem_alarm = mem_alarm || a == "memory";
    disk_alarm = disk_alarm || a == "disk";
  }
  return {{"name", s.node_name()},
          {"type", "disc"},
          {"running", true},
          {"os_pid", std::to_string(s.pid())},
          {"uptime", s.uptime_ms()},
          {"mem_used", s.memory_bytes()},
          {"mem_limit", s.memory_limit()},
          {"mem_alarm", mem_alarm},
          {"disk_free", s.disk_free()},
          {"disk_free_limit", s.disk_free_limit()},
          {"disk_free_alarm", disk_alarm},
          {"fd_used", s.file_descriptors_used()},
          {"fd_total", s.file_descriptors_limit()},
          {"being_drained", false},
          {"partitions", json::array()},
          {"applications",
           json::array({{{"name", "warren"},
                         {"description", "Warren, a RabbitMQ-compatible message broker"},
                         {"version", s.version()}}})},
          {"auth_mechanisms", AuthMechanisms(s)},
          {"exchange_types", ExchangeTypes()},
          {"db_dir", s.data_dir()},
          {"sockets_used", s.sockets_used()},
          {"sockets_total", s.sockets_limit()},
          {"mem_calculation_strategy", "rss"},  // memory_bytes is the resident set
          {"rates_mode", "none"},
          // Warren logs to stderr and is configured by its file, environment
          // and flags, none of which the node reports; it has no plugins.
          {"config_files", json::array()},
          {"log_files", json::array()},
          {"enabled_plugins", json::array()},
          {"cluster_links", json::array()},
          // RabbitMQ's Erlang VM, Mnesia and message store figures: Warren
          // has none of them.
          {"proc_used", 0}, {"proc_total", 0}, {"run_queue", 0}, {"processors", 0},
          {"net_ticktime", 0}, {"context_switches", 0}, {"gc_num", 0},
          {"gc_bytes_reclaimed", 0},
          {"io_read_count", 0}, {"io_read_bytes", 0}, {"io_read_avg_time", 0.0},
          {"io_write_count", 0}, {"io_write_bytes", 0}, {"io_write_avg_time", 0.0},
          {"io_sync_count", 0}, {"io_sync_avg_time", 0.0}, {"io_seek_count", 0},
          {"io_seek_avg_time", 0.0}, {"io_reopen_count", 0},
          {"mnesia_ram_tx_count", 0}, {"mnesia_disk_tx_count", 0},
          {"msg_store_read_count", 0}, {"msg_store_write_count", 0},
          {"queue_index_read_count", 0}, {"queue_index_write_count", 0},
          {"metrics_gc_queue_length",
           {{"connection_closed", 0}, {"channel_closed", 0}, {"consumer_deleted", 0},
            {"exchange_deleted", 0}, {"queue_deleted", 0}, {"vhost_deleted", 0},
            {"node_node_deleted", 0}, {"channel_consumer_deleted", 0}}},
          {"ra_open_file_metrics", json::object()}};
}

// RabbitMQ's web contexts: where its management API listens, on the node
// the plugin runs on. warren-mgmt's listeners, on the node it asks.
json Contexts(const Call& call, const std::string& node) {
  json out = json::array();
  if (!call.contexts) return out;
  for (const http::Bound& b : *call.contexts) {
    json c = {{"node", node},
              {"description", "Warren management"},
              {"path", "/"},
              {"ip", b.host},
              {"port", std::to_string(b.port)},
              {"cowboy_opts", "[]"},
              {"ssl_opts", json::array()}};
    if (b.https) c["ssl"] = true;
    out.push_back(std::move(c));
  }
  return out;
}

json Listeners(const v1::StatusResponse& s) {
  json out = json::array();
  for (const auto& l : s.listeners())
    out.push_back({{"node", s.node_name()},
                   {"protocol", l.protocol()},
                   {"ip_address", l.address()},
                   {"port", l.port()},
                   {"socket_opts", json::array()}});
  return out;
}

// The exchange types Warren routes with, as RabbitMQ describes them.
json ExchangeTypes() {
  json out = json::array();
  for (const auto& [name, what] :
       {std::pair{"direct", "AMQP direct exchange, as per the AMQP specification"},
        {"fanout", "AMQP fanout exchange, as per the AMQP specification"},
        {"headers", "AMQP headers exchange, as per the AMQP specification"},
        {"topic", "AMQP topic exchange, as per the AMQP specification"}})
    out.push_back({{"name", name}, {"description", what}, {"enabled", true}});
  return out;
}

Reply Overview(Call& call) {
  v1::OverviewResponse o;
  v1::StatusResponse s;
  if (auto e = call.Rpc(&Stub::Overview, v1::Empty{}, o)) return *e;
  // The node's status needs the monitoring tag; without it, no listeners.
  grpc::Status status = call.nodes.Call(call.caller, &Stub::Status, v1::Empty{}, s);
  if (!status.ok() && status.error_code() != grpc::StatusCode::PERMISSION_DENIED)
    return FromGrpc(status);
  return Json({
      {"management_version", kApiVersion},
      {"rabbitmq_version", kApiVersion},
      {"product_name", "Warren"},
      {"product_version", WARREN_VERSION},
      {"cluster_name", o.cluster_name().empty() ? o.node_name() : o.cluster_name()},
      {"node", o.node_name()},
      {"object_totals",
       {{"connections", o.connections()},
        {"channels", o.channels()},
        {"consumers", o.consumers()},
        {"queues", o.queues()},
        {"exchanges", o.exchanges()}}},
      {"queue_totals",
       {{"messages", o.messages()},
        {"messages_ready", o.messages_ready()},
        {"messages_unacknowledged", o.messages_unacknowledged()}}},
      {"message_stats",
       {{"publish", o.messages_published()},
        {"confirm", o.messages_confirmed()},
        {"deliver_get", o.messages_delivered()},
        {"deliver", o.messages_delivered_consume_manual_ack()},
        {"deliver_no_ack", o.messages_delivered_consume_auto_ack()},
        {"get", o.messages_delivered_get_manual_ack()},
        {"get_no_ack", o.messages_delivered_get_auto_ack()},
        {"get_empty", o.messages_get_empty()},
        {"redeliver", o.messages_redelivered()},
        {"ack", o.messages_acked()},
        {"return_unroutable", o.messages_unroutable_returned()},
        {"drop_unroutable", o.messages_unroutable_dropped()},
        {"disk_reads", o.disk_reads()},
        {"disk_writes", o.disk_writes()}}},
      // RabbitMQ's statistics settings and Erlang release, as a node with
      // statistics on and no Erlang: neutral values.
      {"disable_stats", false},
      {"enable_queue_totals", false},
      {"erlang_version", ""},
      {"erlang_full_version", ""},
      {"release_series_support_status", "supported"},
      {"statistics_db_event_queue", 0},
      {"churn_rates",
       {{"connection_created", o.connections_opened()},
        {"connection_closed", o.connections_closed()},
        {"channel_created", o.channels_opened()},
        {"channel_closed", o.channels_closed()},
        {"queue_declared", o.queues_declared()},
        {"queue_created", o.queues_created()},
        {"queue_deleted", o.queues_deleted()}}},
      {"listeners", Listeners(s)},
      {"contexts", Contexts(call, o.node_name())},
      {"exchange_types", ExchangeTypes()},
      // warren-mgmt samples the node's counts for their rates (rates.h),
      // keeping ten minutes of samples.
      {"rates_mode", "basic"},
      {"sample_retention_policies",
       {{"global", {600}}, {"basic", {600}}, {"detailed", {600}}}},
  });
}

// Every member of the cluster (ClusterStatus): the node warren-mgmt talks
// to in full, the others by name (their gRPC address while the node asked
// has not reached them), type and whether they run; their own figures are
// theirs to report (docs/cluster.md, "cluster_status").
Reply Nodes(Call& call) {
  v1::ClusterStatusResponse c;
  if (auto e = call.Rpc(&Stub::ClusterStatus, v1::Empty{}, c)) return *e;
  json nodes = json::array();
  v1::OverviewResponse o;
  if (auto e = call.Rpc(&Stub::Overview, v1::Empty{}, o)) return *e;
  for (const auto& m : c.members()) {
    json node;
    if (m.id() == c.self_id()) {
      node = FormatNode(c.node());
      PutNodeCounts(o, node);
      node["contexts"] = Contexts(call, c.node().node_name());
    } else {
      node = {{"name", m.node_name().empty() ? m.address() : m.node_name()},
              {"type", "disc"},
              {"partitions", json::array()},
              {"contexts", json::array()}};
    }
    node["running"] = m.running();
    nodes.push_back(std::move(node));
  }
  if (call.args.empty()) return Json(nodes);
  for (const auto& node : nodes)
    if (node["name"] == call.arg(0)) return Json(node);
  return NotFound("node '" + call.arg(0) + "' not found");
}

Reply WhoAmI(Call& call) {
  v1::User u;
  if (auto e = call.Rpc(&Stub::WhoAmI, v1::Empty{}, u)) return *e;
  return Json({{"name", u.name()},
               {"tags", json(std::vector<std::string>(u.tags().begin(), u.tags().end()))}});
}

Reply ExportDefinitions(Call& call) {
  v1::Definitions d;
  if (auto e = call.Rpc(&Stub::ExportDefinitions, v1::Empty{}, d)) return *e;
  return Json(ParseJsonField(d.json()));
}

Reply ImportDefinitions(Call& call) {
  std::string why;
  std::optional<json> body = ParseUntrusted(call.http.body, why);
  if (!body) return BadRequest("the definitions are " + why);
  if (!body->is_object()) return BadRequest("the definitions must be a JSON object");
  v1::Definitions d;
  d.set_json(call.http.body);
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::ImportDefinitions, d, done)) return *e;
  return NoContent();
}

// The kinds of object one vhost's definitions hold (RabbitMQ's vhost
// export: no users, vhosts or permissions, and no "vhost" fields).
constexpr const char* kVHostKinds[] = {"queues", "exchanges", "bindings", "policies"};

Reply ExportVHostDefinitions(Call& call) {
  v1::Definitions d;
  if (auto e = call.Rpc(&Stub::ExportDefinitions, v1::Empty{}, d)) return *e;
  json all = ParseJsonField(d.json());
  json out = json::object();
  for (const char* key : {"rabbit_version", "rabbitmq_version", "product_name", "product_version"})
    if (all.contains(key)) out[key] = all[key];
  out["parameters"] = json::array();
  for (const char* kind : kVHostKinds) {
    out[kind] = json::array();
    if (!all.contains(kind) || !all[kind].is_array()) continue;
    for (json& item : all[kind]) {
      if (!item.is_object() || item.value("vhost", json()) != call.arg(0)) continue;
      item.erase("vhost");
      out[kind].push_back(std::move(item));
    }
  }
  return Json(out);
}

// Another vhost's (or the same one's) definitions into args[0]: its
// queues, exchanges, bindings and policies, whatever vhost they named.
Reply ImportVHostDefinitions(Call& call) {
  std::string why;
  std::optional<json> body = ParseUntrusted(call.http.body, why);
  if (!body) return BadRequest("the definitions are " + why);
  if (!body->is_object()) return BadRequest("the definitions must be a JSON object");
  json defs = json::object();
  for (const char* kind : kVHostKinds) {
    if (!body->contains(kind)) continue;
    if (!(*body)[kind].is_array()) return BadRequest(std::string(kind) + " must be a list");
    for (json& item : (*body)[kind]) {
      if (!item.is_object()) return BadRequest(std::string(kind) + " must hold objects");
      item["vhost"] = call.arg(0);
    }
    defs[kind] = std::move((*body)[kind]);
  }
  v1::Definitions d;
  d.set_json(Dump(defs));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::ImportDefinitions, d, done)) return *e;
  return NoContent();
}

// Declares aliveness-test, publishes to it and gets the message back.
Reply Aliveness(Call& call) {
  const std::string& vhost = call.arg(0);
  v1::DeclareQueueRequest q;
  q.set_vhost(vhost);
  q.set_name("aliveness-test");
  v1::DeclareResponse declared;
  if (auto e = call.Rpc(&Stub::DeclareQueue, q, declared)) return *e;
  v1::PublishRequest p;
  p.set_vhost(vhost);
  p.set_routing_key("aliveness-test");
  p.set_payload("test_message");
  p.set_payload_encoding("string");
  v1::PublishResponse published;
  if (auto e = call.Rpc(&Stub::Publish, p, published)) return *e;
  v1::GetMessagesRequest g;
  g.set_vhost(vhost);
  g.set_queue("aliveness-test");
  g.set_count(1);
  g.set_ackmode("ack_requeue_false");
  g.set_encoding("auto");
  v1::GetMessagesResponse got;
  if (auto e = call.Rpc(&Stub::GetMessages, g, got)) return *e;
  if (got.messages_size() != 1 || got.messages(0).payload() != "test_message")
    return Json({{"status", "failed"}, {"reason", "the test message did not come back"}}, 503);
  return Json({{"status", "ok"}});
}

}  // namespace

void AddNodeRoutes(Router& r) {
  r.Add("GET", "/api/overview", Overview);
  r.Add("GET", "/api/nodes", Nodes);
  r.Add("GET", "/api/nodes/{}", Nodes);
  r.Add("GET", "/api/whoami", WhoAmI);
  r.Add("GET", "/api/definitions", ExportDefinitions);
  r.Add("POST", "/api/definitions", ImportDefinitions);
  r.Add("GET", "/api/definitions/{}", ExportVHostDefinitions);
  r.Add("POST", "/api/definitions/{}", ImportVHostDefinitions);
  r.Add("GET", "/api/aliveness-test/{}", Aliveness);
}

}  // namespace warren::mgmt
