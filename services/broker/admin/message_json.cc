#include "broker/admin/message_json.h"

#include <nlohmann/json.hpp>

#include "broker/admin/json_values.h"

namespace warren::admin {

using nlohmann::json;

namespace {

using Props = amqp::BasicProperties;
using Text = std::optional<std::string> Props::*;

// The short-string properties, by their names in the spec.
constexpr std::pair<const char*, Text> kTexts[] = {
    {"content_type", &Props::content_type}, {"content_encoding", &Props::content_encoding},
    {"correlation_id", &Props::correlation_id}, {"reply_to", &Props::reply_to},
    {"expiration", &Props::expiration}, {"message_id", &Props::message_id},
    {"type", &Props::type}, {"user_id", &Props::user_id},
    {"app_id", &Props::app_id}, {"cluster_id", &Props::cluster_id},
};

bool Octet(const json& v, std::optional<uint8_t>& out) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 255) return false;
  out = static_cast<uint8_t>(v.get<int64_t>());
  return true;
}

}  // namespace

bool PropertiesFromJson(const json& j, amqp::BasicProperties& out, std::string& error) {
  if (j.is_null()) return true;
  // RabbitMQ's own UI sends an empty properties list as [].
  if (j.is_array() && j.empty()) return true;
  if (!j.is_object()) {
    error = "properties must be a JSON object";
    return false;
  }
  for (const auto& [key, v] : j.items()) {
    bool ok = true;
    bool known = false;
    for (const auto& [name, member] : kTexts)
      if (key == name) {
        known = true;
        ok = v.is_string();
        if (ok) out.*member = v.get<std::string>();
      }
    if (key == "delivery_mode" || key == "priority") {
      known = true;
      ok = Octet(v, key == "priority" ? out.priority : out.delivery_mode);
    } else if (key == "timestamp") {
      known = true;
      ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
      if (ok) out.timestamp = v.get<uint64_t>();
    } else if (key == "headers") {
      known = true;
      amqp::FieldTable headers;
      ok = TableFromJson(v, headers, error);
      if (ok) out.headers = std::move(headers);
    }
    if (!known) {
      error = "unknown property '" + key + "'";
      return false;
    }
    if (!ok) {
      error = "invalid value for property '" + key + "'";
      return false;
    }
  }
  return true;
}

json PropertiesToJson(const amqp::BasicProperties& p) {
  json out = json::object();
  for (const auto& [name, member] : kTexts)
    if (p.*member) out[name] = JsonText(*(p.*member));
  if (p.delivery_mode) out["delivery_mode"] = *p.delivery_mode;
  if (p.priority) out["priority"] = *p.priority;
  if (p.timestamp) out["timestamp"] = *p.timestamp;
  if (p.headers) out["headers"] = ToJson(*p.headers);
  return out;
}

}  // namespace warren::admin
