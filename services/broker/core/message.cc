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
  amqp::EncodeProperties(properties, m->raw_properties);
  if (properties.expiration) {
    int64_t ttl = 0;
    if (ParseExpiration(*properties.expiration, ttl)) m->ttl_ms = ttl;
  }
  m->properties = std::move(properties);
  m->body = std::move(body);
  return m;
}

}  // namespace warren::core
