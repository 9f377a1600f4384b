// Queues: /api/queues[/{vhost}[/{name}]] (GET, PUT, DELETE with if-empty /
// if-unused), /contents (DELETE purges), /get (POST), /bindings.
#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

// At most this many messages per get: one answer holds them all in memory
// (the node's, warren-mgmt's and the client's). A larger count gets this
// many, as a queue with fewer messages gives fewer.
constexpr int64_t kMaxGetCount = 10000;

std::string QueueName(const Call& call) {
  return "queue '" + call.arg(1) + "' in vhost '" + call.arg(0) + "'";
}

// One queue as RabbitMQ shows it alone: with its consumers, and its
// per-channel and per-exchange figures (none: Warren keeps no such samples,
// as RabbitMQ's basic rates mode).
Reply OneQueue(Call& call, json queue) {
  v1::ListRequest scope;
  scope.set_vhost(call.arg(0));
  json consumers;
  if (auto e = ConsumerObjects(call, scope, consumers)) return *e;
  queue["consumer_details"] = json::array();
  for (json& c : consumers)
    if (c["queue"]["name"] == call.arg(1)) {
      if (c["exclusive"] == true) queue["exclusive_consumer_tag"] = c["consumer_tag"];
      queue["consumer_details"].push_back(std::move(c));
    }
  queue["deliveries"] = json::array();
  queue["incoming"] = json::array();
  return Json(std::move(queue));
}

Reply Queues(Call& call) {
  v1::ListQueuesResponse r;
  if (auto e = call.Rpc(&Stub::ListQueues, call.ListScope(), r)) return *e;
  json items = json::array();
  for (const auto& q : r.queues()) items.push_back(FormatQueue(q));
  if (call.args.size() < 2) return ListReply(call, std::move(items));
  json* found = nullptr;
  for (json& q : items)
    if (q["name"] == call.arg(1)) found = &q;
  if (!found) return NotFound(QueueName(call) + " not found");
  return OneQueue(call, std::move(*found));
}

// A body's "type" (what rabbit-hole, and so Terraform, sends) is the queue
// type, as x-queue-type in its arguments is: "quorum" becomes that argument
// (the node makes such a queue mirrored); "classic", the type a queue has
// without the argument, and "" (rabbit-hole's unset type) add nothing, so
// the queue stays equivalent to one declared without it. An argument that
// says otherwise than "type" is 400.
std::optional<Reply> ApplyType(json& body) {
  const std::string type = Text(body, "type");
  if (type.empty()) return std::nullopt;
  json args = body.value("arguments", json::object());
  if (!args.is_object()) args = json::object();  // kObject's empty list
  if (auto it = args.find("x-queue-type"); it != args.end()) {
    if (*it == type) return std::nullopt;
    return BadRequest("type '" + type + "' and arguments.x-queue-type " + Dump(*it) +
                      " disagree");
  }
  if (type == "classic") return std::nullopt;
  args["x-queue-type"] = type;
  body["arguments"] = std::move(args);
  return std::nullopt;
}

Reply PutQueue(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"durable", Type::kBool}, {"auto_delete", Type::kBool},
                               {"arguments", Type::kObject}, {"node", Type::kString},
                               {"name", Type::kString}, {"vhost", Type::kString},
                               {"type", Type::kString}},
                        body))
    return *e;
  if (auto e = ApplyType(body)) return *e;
  v1::DeclareQueueRequest d;
  d.set_vhost(call.arg(0));
  d.set_name(call.arg(1));
  d.set_durable(body.value("durable", false));
  d.set_auto_delete(body.value("auto_delete", false));
  d.set_arguments(Text(body, "arguments"));
  v1::DeclareResponse r;
  if (auto e = call.Rpc(&Stub::DeclareQueue, d, r)) return *e;
  return r.created() ? Created() : NoContent();
}

Reply DeleteQueue(Call& call) {
  v1::DeleteQueueRequest d;
  d.set_vhost(call.arg(0));
  d.set_name(call.arg(1));
  d.set_if_empty(call.QueryFlag("if-empty"));
  d.set_if_unused(call.QueryFlag("if-unused"));
  v1::DeleteQueueResponse r;
  if (auto e = call.Rpc(&Stub::DeleteQueue, d, r)) return *e;
  return NoContent();
}

Reply Purge(Call& call) {
  v1::QueueRef q;
  q.set_vhost(call.arg(0));
  q.set_name(call.arg(1));
  v1::PurgeQueueResponse r;
  if (auto e = call.Rpc(&Stub::PurgeQueue, q, r)) return *e;
  return NoContent();
}

// RabbitMQ's queue actions: {"action": "sync"} starts a mirrored queue's
// synchronisation, "cancel_sync" stops it (docs/mirroring.md); 204.
Reply Actions(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"action", Type::kString, true}}, body)) return *e;
  std::string action = body["action"].get<std::string>();
  if (action != "sync" && action != "cancel_sync")
    return BadRequest("unknown action " + Dump(body["action"]) +
                      "; a queue's actions are sync and cancel_sync");
  v1::SyncQueueRequest r;
  r.set_vhost(call.arg(0));
  r.set_name(call.arg(1));
  r.set_cancel(action == "cancel_sync");
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::SyncQueue, r, done)) return *e;
  return NoContent();
}

Reply Get(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"count", Type::kInteger, true}, {"ackmode", Type::kString, true},
                               {"encoding", Type::kString, true}, {"truncate", Type::kInteger},
                               {"name", Type::kString}, {"vhost", Type::kString}},
                        body))
    return *e;
  int64_t count = body["count"].get<int64_t>();
  int64_t truncate = body.value("truncate", int64_t{0});
  if (count < 0 || truncate < 0) return BadRequest("count and truncate must not be negative");
  v1::GetMessagesRequest g;
  g.set_vhost(call.arg(0));
  g.set_queue(call.arg(1));
  g.set_count(static_cast<uint32_t>(std::min(count, kMaxGetCount)));
  g.set_ackmode(Text(body, "ackmode"));
  g.set_encoding(Text(body, "encoding"));
  g.set_truncate(static_cast<uint64_t>(truncate));
  v1::GetMessagesResponse r;
  if (auto e = call.Rpc(&Stub::GetMessages, g, r)) return *e;
  json out = json::array();
  for (const auto& m : r.messages()) {
    json props = ParseJsonField(m.properties());
    out.push_back({{"payload_bytes", m.payload_bytes()},
                   {"redelivered", m.redelivered()},
                   {"exchange", m.exchange()},
                   {"routing_key", m.routing_key()},
                   {"message_count", m.message_count()},
                   // RabbitMQ shows no properties as an empty list.
                   {"properties", props.empty() ? json::array() : props},
                   {"payload", m.payload()},
                   {"payload_encoding", m.payload_encoding()}});
  }
  return Json(out);
}

Reply QueueBindings(Call& call) {
  v1::ListQueuesResponse queues;
  if (auto e = call.Rpc(&Stub::ListQueues, call.ListScope(), queues)) return *e;
  bool found = false;
  for (const auto& q : queues.queues()) found = found || q.name() == call.arg(1);
  if (!found) return NotFound(QueueName(call) + " not found");
  v1::ListBindingsResponse r;
  if (auto e = call.Rpc(&Stub::ListBindings, call.ListScope(), r)) return *e;
  json items = json::array();
  for (const auto& b : r.bindings())
    if (b.destination_kind() == "queue" && b.destination() == call.arg(1))
      items.push_back(FormatBinding(b));
  return ListReply(call, std::move(items));
}

}  // namespace

void AddQueueRoutes(Router& r) {
  r.Add("GET", "/api/queues", Queues);
  r.Add("GET", "/api/queues/{}", Queues);
  r.Add("GET", "/api/queues/{}/{}", Queues);
  r.Add("PUT", "/api/queues/{}/{}", PutQueue);
  r.Add("DELETE", "/api/queues/{}/{}", DeleteQueue);
  r.Add("DELETE", "/api/queues/{}/{}/contents", Purge);
  r.Add("POST", "/api/queues/{}/{}/get", Get);
  r.Add("POST", "/api/queues/{}/{}/actions", Actions);
  r.Add("GET", "/api/queues/{}/{}/bindings", QueueBindings);
}

}  // namespace warren::mgmt
