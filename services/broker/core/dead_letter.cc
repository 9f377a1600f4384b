#include "broker/core/dead_letter.h"

namespace warren::core {

namespace {

using amqp::FieldArray;
using amqp::FieldTable;
using amqp::FieldValue;

bool SameDeath(const FieldValue& v, const std::string& queue, const std::string& reason) {
  const FieldTable* t = v.AsTable();
  if (!t) return false;
  const FieldValue* q = t->Find("queue");
  const FieldValue* r = t->Find("reason");
  return q && r && q->AsString() && r->AsString() && *q->AsString() == queue &&
         *r->AsString() == reason;
}

FieldTable NewDeath(const Message& m, const std::optional<std::string>& expiration,
                    const std::string& queue, const std::string& reason, int64_t now_seconds) {
  FieldTable d;
  d.Set("count", FieldValue::Long(1));
  d.Set("reason", FieldValue::Str(reason));
  d.Set("queue", FieldValue::Str(queue));
  d.Set("time", FieldValue::Timestamp(static_cast<uint64_t>(now_seconds)));
  d.Set("exchange", FieldValue::Str(m.exchange));
  d.Set("routing-keys", FieldValue::Array({FieldValue::Str(m.routing_key)}));
  if (expiration) d.Set("original-expiration", FieldValue::Str(*expiration));
  return d;
}

}  // namespace

MessagePtr MakeDeadLetter(const Message& m, const std::string& queue, const std::string& reason,
                          int64_t now_seconds, const std::string& dead_letter_exchange,
                          const std::optional<std::string>& routing_key) {
  amqp::BasicProperties props = m.properties();
  FieldTable headers = props.headers.value_or(FieldTable{});

  FieldArray deaths;
  if (const FieldValue* existing = headers.Find("x-death"); existing && existing->AsArray())
    deaths = *existing->AsArray();
  FieldValue entry;
  for (auto it = deaths.begin(); it != deaths.end(); ++it) {
    if (!SameDeath(*it, queue, reason)) continue;
    entry = std::move(*it);
    deaths.erase(it);
    FieldTable& t = std::get<FieldTable>(entry.value);
    int64_t count = 0;
    if (const FieldValue* c = t.Find("count"); c && c->AsInt()) count = *c->AsInt();
    // "time" stays the first death's (RabbitMQ's first_time).
    t.Set("count", FieldValue::Long(count + 1));
    break;
  }
  if (entry.type != 'F')
    entry = FieldValue::Table(NewDeath(m, props.expiration, queue, reason, now_seconds));
  deaths.insert(deaths.begin(), std::move(entry));
  headers.Set("x-death", FieldValue::Array(std::move(deaths)));

  if (!headers.Find("x-first-death-reason")) {
    headers.Set("x-first-death-exchange", FieldValue::Str(m.exchange));
    headers.Set("x-first-death-queue", FieldValue::Str(queue));
    headers.Set("x-first-death-reason", FieldValue::Str(reason));
  }
  headers.Set("x-last-death-exchange", FieldValue::Str(m.exchange));
  headers.Set("x-last-death-queue", FieldValue::Str(queue));
  headers.Set("x-last-death-reason", FieldValue::Str(reason));

  props.headers = std::move(headers);
  props.expiration.reset();
  return MakeMessage(dead_letter_exchange, routing_key.value_or(m.routing_key), std::move(props), m.body);
}

bool IsDeadLetterCycle(const Message& m, const std::string& queue) {
  if (!m.has_headers) return false;
  const amqp::BasicProperties props = m.properties();
  const FieldValue* deaths = props.headers->Find("x-death");
  if (!deaths || !deaths->AsArray()) return false;
  // Newest first, back to the latest death in `queue`: a cycle unless a
  // rejection lies on that stretch (rabbit_dead_letter:is_cycle). Rejections
  // older than the queue's own entry do not count.
  for (const FieldValue& d : *deaths->AsArray()) {
    const FieldTable* t = d.AsTable();
    if (!t) continue;
    const FieldValue* r = t->Find("reason");
    if (r && r->AsString() && *r->AsString() == "rejected") return false;
    const FieldValue* q = t->Find("queue");
    if (q && q->AsString() && *q->AsString() == queue) return true;
  }
  return false;
}

}  // namespace warren::core
