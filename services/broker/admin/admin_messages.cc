// Publishing and getting messages, as the management API does
// (POST /api/exchanges/{vhost}/{name}/publish, POST /api/queues/{vhost}/{name}/get).
// A publish goes through VHost::Publish like an AMQP one (without waiting
// for the store's fsync); a get takes messages as basic.get would, then
// acks, rejects or requeues them as the ackmode says.
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "broker/admin/admin_service.h"
#include "broker/admin/json_values.h"
#include "broker/admin/message_json.h"
#include "broker/core/broker.h"
#include "broker/core/limits.h"
#include "common/text.h"

namespace warren::admin {

namespace {

using core::Access;

bool DecodeBase64(const std::string& in, std::string& out) {
  std::string b64;
  for (char c : in)
    if (c != '\n' && c != '\r') b64.push_back(c);
  if (b64.size() % 4 != 0) return false;
  out.assign(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return false;
  size_t len = static_cast<size_t>(n);
  if (!b64.empty() && b64.back() == '=') --len;
  if (b64.size() >= 2 && b64[b64.size() - 2] == '=') --len;
  out.resize(len);
  return true;
}

std::string EncodeBase64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// The message as RabbitMQ's HTTP publish builds it; an error says why not.
grpc::Status BuildMessage(const v1::PublishRequest& r, const std::string& exchange,
                          core::MessagePtr& out) {
  std::string body;
  if (r.payload_encoding() == "base64") {
    if (!DecodeBase64(r.payload(), body)) return Invalid("payload is not valid base64");
  } else if (r.payload_encoding() == "string" || r.payload_encoding().empty()) {
    body = r.payload();
  } else {
    return Invalid("payload_encoding must be \"string\" or \"base64\"");
  }
  amqp::BasicProperties props;
  if (!r.properties().empty()) {
    nlohmann::json j;
    std::string error;
    if (!ParseJson(r.properties(), "properties", j, error) ||
        !PropertiesFromJson(j, props, error))
      return Invalid(error);
  }
  // What the message log keeps must decode again after a restart.
  if (Status s = core::CheckShortString("exchange name", exchange); !s.ok()) return ToGrpc(s);
  if (Status s = core::CheckShortString("routing key", r.routing_key()); !s.ok())
    return ToGrpc(s);
  if (props.headers)
    if (Status s = core::CheckTable("headers", *props.headers); !s.ok()) return ToGrpc(s);
  int64_t ttl = 0;
  if (props.expiration && !core::ParseExpiration(*props.expiration, ttl))
    return Invalid("invalid expiration '" + *props.expiration + "'");
  out = core::MakeMessage(exchange, r.routing_key(), std::move(props), std::move(body));
  return grpc::Status::OK;
}

}  // namespace

grpc::Status AdminService::Publish(grpc::ServerContext* call, const v1::PublishRequest* r,
                                   v1::PublishResponse* out) {
  const std::string exchange = r->exchange() == "amq.default" ? "" : r->exchange();
  core::MessagePtr message;
  std::string vhost = VHostOf(r->vhost());
  auto parse = [&] { return BuildMessage(*r, exchange, message); };
  return Run(call, Need::kManagement, vhost, parse, [&, vhost](const Caller& c) {
    const std::string resource = exchange.empty() ? "amq.default" : exchange;
    if (grpc::Status s = Permit(c, vhost, Access::kWrite, "exchange", resource); !s.ok())
      return s;
    const std::optional<std::string> user_id = message->properties().user_id;
    if (user_id && *user_id != c.user)
      return Invalid("user_id property set to '" + *user_id + "' but authenticated user was '" +
                     c.user + "'");
    core::VHost& v = *broker().FindVHost(vhost);
    core::Exchange* e = nullptr;
    if (!exchange.empty()) {
      e = v.FindExchange(exchange);
      if (!e) return NotFound("no exchange '" + exchange + "' in vhost '" + vhost + "'");
      if (e->internal())
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                            "cannot publish to internal exchange '" + exchange + "' in vhost '" +
                                vhost + "'");
    }
    core::BrokerCounters& counters = broker().counters();
    ++counters.messages_received;
    core::PublishOutcome outcome = v.Publish(e, message);
    if (outcome.routed > 0) ++counters.messages_routed;
    else if (!outcome.rejected) ++counters.messages_unroutable_dropped;
    out->set_routed(outcome.routed > 0);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::GetMessages(grpc::ServerContext* call,
                                       const v1::GetMessagesRequest* r,
                                       v1::GetMessagesResponse* out) {
  const std::string& mode = r->ackmode();
  if (mode != "ack_requeue_true" && mode != "ack_requeue_false" &&
      mode != "reject_requeue_true" && mode != "reject_requeue_false")
    return Invalid("ackmode must be ack_requeue_true, ack_requeue_false, reject_requeue_true "
                   "or reject_requeue_false");
  if (r->encoding() != "auto" && r->encoding() != "base64")
    return Invalid("encoding must be \"auto\" or \"base64\"");
  const bool requeue = mode.ends_with("requeue_true");
  const bool reject = mode.starts_with("reject");
  std::string vhost = VHostOf(r->vhost());
  return Run(call, Need::kManagement, vhost, [&, vhost](const Caller& c) {
    if (grpc::Status s = Permit(c, vhost, Access::kRead, "queue", r->queue()); !s.ok()) return s;
    std::shared_ptr<core::Queue> q = broker().FindVHost(vhost)->FindQueue(r->queue());
    if (!q) return NoQueue(r->queue(), vhost);
    if (q->remote())
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "queue '" + r->queue() + "' in vhost '" + vhost +
                              "' is homed on another node: get its messages through that node");
    std::vector<core::QueueEntry> taken;
    for (uint32_t i = 0; i < r->count(); ++i) {
      std::optional<core::QueueEntry> entry = q->Get(false);
      if (!entry) break;
      const core::Message& m = *entry->message;
      v1::GotMessage* o = out->add_messages();
      o->set_payload_bytes(m.body.size());
      o->set_redelivered(entry->redelivered);
      o->set_exchange(m.exchange);
      o->set_routing_key(m.routing_key);
      o->set_message_count(q->ready_count());
      o->set_properties(Dump(PropertiesToJson(m.properties())));
      std::string body = r->truncate() > 0 && m.body.size() > r->truncate()
                             ? m.body.substr(0, r->truncate())
                             : m.body;
      bool text = r->encoding() == "auto" && IsUtf8(body);
      o->set_payload_encoding(text ? "string" : "base64");
      o->set_payload(text ? body : EncodeBase64(body));
      if (requeue) taken.push_back(std::move(*entry));
      else if (reject) q->Reject(std::move(*entry));
      else q->Ack(*entry);
    }
    // Requeued together, after the get, so one call never sees a message twice.
    if (!taken.empty()) q->Requeue(std::move(taken));
    return grpc::Status::OK;
  });
}

}  // namespace warren::admin
