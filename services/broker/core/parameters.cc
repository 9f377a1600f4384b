#include "broker/core/parameters.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "amqp/constants.h"
#include "broker/core/errors.h"
#include "common/json_limits.h"

namespace warren::core {
namespace {

using amqp::ReplyCode;
using nlohmann::json;

Status Failed(const std::string& why) {
  return AmqpError(ReplyCode::kPreconditionFailed, "Validation failed\n\n" + why);
}

// Parses `value` with the bounds every JSON Warren reads gets.
bool Parse(const std::string& value, json& out) {
  if (value.size() > kMaxParameterValue || !JsonDepthWithin(value)) return false;
  out = json::parse(value, nullptr, /*allow_exceptions=*/false);
  return !out.is_discarded();
}

Status ValidateLimits(const std::string& name, const json& v) {
  if (name != "limits") return Failed("vhost-limits are set under the name limits");
  if (!v.is_object()) return Failed(name + " not a list " + v.dump());
  std::string unknown;
  for (const auto& [key, value] : v.items()) {
    if (key != "max-connections" && key != "max-queues") {
      unknown += (unknown.empty() ? "" : ",") + json(key).dump();
      continue;
    }
    if (!value.is_number_integer())
      return Failed(key + " should be a number, actually was " + value.dump());
  }
  if (!unknown.empty()) return Failed("Unrecognised terms [" + unknown + "] in " + name);
  return Status::Ok();
}

}  // namespace

Status ValidateParameter(const std::string& component, const std::string& name,
                         const std::string& value) {
  json v;
  if (value.size() > kMaxParameterValue)
    return Failed("the value is " + std::to_string(value.size()) + " bytes long; at most " +
                  std::to_string(kMaxParameterValue) + " are allowed");
  if (!Parse(value, v)) return Failed("the value is not JSON (or nests too deep)");
  if (name.empty()) return Failed("a parameter needs a name");
  if (component.empty()) {
    if ((name == kClusterNameParameter || name == kClusterIdParameter) &&
        (!v.is_string() || v.get_ref<const std::string&>().empty()))
      return Failed(name + " should be a non-empty string, actually was " + v.dump());
    return Status::Ok();
  }
  if (component == kVHostLimitsComponent) return ValidateLimits(name, v);
  return Failed("component " + component + " not found");
}

VHostLimits ParseVHostLimits(const std::string& value) {
  VHostLimits limits;
  json v;
  if (!Parse(value, v) || !v.is_object()) return limits;
  auto read = [&](const char* key, int64_t& out) {
    auto it = v.find(key);
    if (it != v.end() && it->is_number_integer()) out = it->get<int64_t>();
  };
  read("max-connections", limits.max_connections);
  read("max-queues", limits.max_queues);
  return limits;
}

std::string JsonStringValue(const std::string& value) {
  json v;
  if (!Parse(value, v) || !v.is_string()) return {};
  return v.get<std::string>();
}

std::string RandomToken(size_t chars) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string raw(chars, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(chars));
  for (char& c : raw) c = kAlphabet[static_cast<unsigned char>(c) & 63];
  return raw;
}

Status ValidateDefaultQueueType(const std::string& type) {
  if (type.empty() || type == "classic" || type == "quorum") return Status::Ok();
  return AmqpError(ReplyCode::kPreconditionFailed,
                   "default queue type '" + type + "' is none of classic and quorum");
}

}  // namespace warren::core
