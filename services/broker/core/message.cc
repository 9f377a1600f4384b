#include "broker/core/message.h"

#include <charconv>

namespace warren::core {

bool ParseExpiration(const std::string& text, int64_t& ttl_ms) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || v > kMaxExpiryMs) return false;
  ttl_ms = v;
  return true;
}

MessagePtr MakeMessage(std::string exchange, std::string routing_key,
                       amqp::BasicProperties properties, std::string body) {
  auto m = std::make_shared<Message>();
  m->exchange = std::move(exchange);
  m->routing_key = std::move(routing_key);
  m->SetProperties(properties);
  if (properties.expiration) {
    int64_t ttl = 0;
    if (ParseExpiration(*properties.expiration, ttl)) m->ttl_ms = ttl;
  }
  m->body = std::move(body);
  return m;
}

amqp::BasicProperties Message::properties() const {
  amqp::BasicProperties p;
  amqp::DecodeProperties(raw_properties, p);
  return p;
}

void Message::SetProperties(const amqp::BasicProperties& p) {
  std::string raw;
  amqp::EncodeProperties(p, raw);
  SetProperties(std::move(raw), p);
}

void Message::SetProperties(std::string raw, const amqp::BasicProperties& p) {
  raw_properties = std::move(raw);
  delivery_mode = p.delivery_mode.value_or(0);
  priority_property = p.priority.value_or(0);
  has_headers = p.headers.has_value();
}

}  // namespace warren::core
