#include "broker/core/queue_args.h"

#include <array>
#include <cstdint>
#include <string_view>

#include "amqp/constants.h"
#include "broker/core/message.h"

namespace warren::core {

namespace {

constexpr std::array<std::string_view, 11> kComparedArgs = {
    "x-expires",           "x-message-ttl",      "x-max-length",
    "x-max-length-bytes",  "x-max-priority",     "x-dead-letter-exchange",
    "x-dead-letter-routing-key", "x-overflow",   "x-single-active-consumer",
    "x-queue-mode",        "x-queue-type"};

Error Invalid(std::string_view arg, const std::string& queue, const std::string& vhost,
              const std::string& why) {
  return Error{static_cast<uint16_t>(amqp::ReplyCode::kPreconditionFailed),
               "PRECONDITION_FAILED - invalid arg '" + std::string(arg) + "' for queue '" + queue +
                   "' in vhost '" + vhost + "': " + why};
}

std::string TypeName(const amqp::FieldValue& v) {
  switch (v.type) {
    case 'S': return "longstr";
    case 'x': return "binary";
    case 't': return "bool";
    case 'b': case 'B': case 's': case 'u': case 'I': case 'i': return "signedint";
    case 'l': return "long";
    case 'f': return "float";
    case 'd': return "double";
    case 'F': return "table";
    case 'A': return "array";
    case 'T': return "timestamp";
    case 'V': return "void";
    default: return "unknown";
  }
}

}  // namespace

std::string PlainArgValue(const amqp::FieldValue& v) {
  if (auto i = v.AsInt()) return std::to_string(*i);
  if (auto* s = v.AsString()) return *s;
  if (auto b = v.AsBool()) return *b ? "true" : "false";
  return TypeName(v);
}

std::string DescribeArgValue(const amqp::FieldValue& v) {
  if (auto i = v.AsInt()) return "'" + std::to_string(*i) + "' of type '" + TypeName(v) + "'";
  if (auto* s = v.AsString()) return "'" + *s + "' of type '" + TypeName(v) + "'";
  if (auto b = v.AsBool()) return std::string("'") + (*b ? "true" : "false") + "' of type 'bool'";
  return "of type '" + TypeName(v) + "'";
}

bool ArgValuesEquivalent(const amqp::FieldValue& a, const amqp::FieldValue& b) {
  auto ai = a.AsInt(), bi = b.AsInt();
  if (ai && bi) return *ai == *bi && (a.type == 'T') == (b.type == 'T');
  auto as = a.AsString(), bs = b.AsString();
  if (as && bs) return *as == *bs;
  return a == b;
}

std::optional<Overflow> ParseOverflow(std::string_view text) {
  if (text == "drop-head") return Overflow::kDropHead;
  if (text == "reject-publish") return Overflow::kRejectPublish;
  if (text == "reject-publish-dlx") return Overflow::kRejectPublishDlx;
  return std::nullopt;
}

Result<QueueArgs> ParseQueueArgs(const amqp::FieldTable& args, const std::string& queue,
                                 const std::string& vhost) {
  QueueArgs out;
  auto int_arg = [&](std::string_view key, int64_t min, std::optional<int64_t>& field,
                     int64_t max = INT64_MAX) -> std::optional<Error> {
    const amqp::FieldValue* v = args.Find(key);
    if (!v) return std::nullopt;
    auto i = v->AsInt();
    if (!i || v->type == 'T') return Invalid(key, queue, vhost, "{unacceptable_type," + TypeName(*v) + "}");
    if (*i < min)
      return Invalid(key, queue, vhost,
                     std::string(*i < 0 ? "{value_negative," : "{value_zero,") +
                         std::to_string(*i) + "}");
    if (*i > max)
      return Invalid(key, queue, vhost, "{value_too_big," + std::to_string(*i) + "}");
    field = *i;
    return std::nullopt;
  };
  if (auto e = int_arg("x-message-ttl", 0, out.message_ttl, kMaxExpiryMs)) return *e;
  if (auto e = int_arg("x-expires", 1, out.expires, kMaxExpiryMs)) return *e;
  if (auto e = int_arg("x-max-length", 0, out.max_length)) return *e;
  if (auto e = int_arg("x-max-length-bytes", 0, out.max_length_bytes)) return *e;
  std::optional<int64_t> prio;
  if (auto e = int_arg("x-max-priority", 0, prio)) return *e;
  if (prio) {
    if (*prio > 255)
      return Invalid("x-max-priority", queue, vhost,
                     "{max_value_exceeded," + std::to_string(*prio) + "}");
    out.max_priority = static_cast<uint8_t>(*prio);
  }
  auto str_arg = [&](std::string_view key,
                     std::optional<std::string>& field) -> std::optional<Error> {
    const amqp::FieldValue* v = args.Find(key);
    if (!v) return std::nullopt;
    const std::string* s = v->AsString();
    if (!s) return Invalid(key, queue, vhost, "{unacceptable_type," + TypeName(*v) + "}");
    field = *s;
    return std::nullopt;
  };
  if (auto e = str_arg("x-dead-letter-exchange", out.dead_letter_exchange)) return *e;
  if (auto e = str_arg("x-dead-letter-routing-key", out.dead_letter_routing_key)) return *e;
  if (out.dead_letter_routing_key && !out.dead_letter_exchange)
    return Invalid("x-dead-letter-routing-key", queue, vhost, "routing_key_but_no_dlx_defined");
  std::optional<std::string> overflow;
  if (auto e = str_arg("x-overflow", overflow)) return *e;
  if (overflow) {
    std::optional<Overflow> o = ParseOverflow(*overflow);
    if (!o) return Invalid("x-overflow", queue, vhost, "invalid_overflow");
    out.overflow = *o;
  }
  if (const amqp::FieldValue* v = args.Find("x-single-active-consumer")) {
    auto b = v->AsBool();
    if (!b) return Invalid("x-single-active-consumer", queue, vhost,
                           "{unacceptable_type," + TypeName(*v) + "}");
    out.single_active_consumer = *b;
  }
  std::optional<std::string> mode;
  if (auto e = str_arg("x-queue-mode", mode)) return *e;
  if (mode && *mode != "default" && *mode != "lazy")
    return Invalid("x-queue-mode", queue, vhost, "{unacceptable_value,<<\"" + *mode + "\">>}");
  out.lazy = mode && *mode == "lazy";
  // Where a cluster places the queue (docs/cluster.md, "Queues across
  // nodes"); "balanced" is the newer name of min-masters.
  std::optional<std::string> locator;
  if (auto e = str_arg("x-queue-master-locator", locator)) return *e;
  if (locator && *locator != "client-local" && *locator != "min-masters" &&
      *locator != "random" && *locator != "balanced")
    return Invalid("x-queue-master-locator", queue, vhost,
                   "{unacceptable_value,<<\"" + *locator + "\">>}");
  std::optional<std::string> type;
  if (auto e = str_arg("x-queue-type", type)) return *e;
  // Quorum queues are served by classic queues until replication exists;
  // streams are a different protocol surface and are refused.
  if (type && *type != "classic" && *type != "quorum")
    return Invalid("x-queue-type", queue, vhost, "{unsupported_queue_type,<<\"" + *type + "\">>}");
  return out;
}

Status CheckQueueArgsEquivalent(const amqp::FieldTable& existing, const amqp::FieldTable& requested,
                                const std::string& queue, const std::string& vhost) {
  for (std::string_view key : kComparedArgs) {
    const amqp::FieldValue* a = existing.Find(key);
    const amqp::FieldValue* b = requested.Find(key);
    if (!a && !b) continue;
    // No x-queue-type is a classic queue, as RabbitMQ 3.13 has it: declaring
    // one again with "classic" (the API's "type", rabbit-hole's and
    // Terraform's) or without it is the same queue.
    if (key == "x-queue-type" && (!a || !b)) {
      const std::string* given = (a ? a : b)->AsString();
      if (given && *given == "classic") continue;
    }
    if (a && b && ArgValuesEquivalent(*a, *b)) continue;
    // RabbitMQ's wording: plain values when both sides have one, typed
    // values against "none" otherwise.
    std::string received, current;
    if (a && b) {
      received = "'" + PlainArgValue(*b) + "'";
      current = "'" + PlainArgValue(*a) + "'";
    } else {
      received = b ? "the value " + DescribeArgValue(*b) : "none";
      current = a ? "the value " + DescribeArgValue(*a) : "none";
    }
    return Error{static_cast<uint16_t>(amqp::ReplyCode::kPreconditionFailed),
                 "PRECONDITION_FAILED - inequivalent arg '" + std::string(key) + "' for queue '" +
                     queue + "' in vhost '" + vhost + "': received " + received +
                     " but current is " + current};
  }
  return Status::Ok();
}

}  // namespace warren::core
