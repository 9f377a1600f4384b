// Runtime parameters, vhost limits and vhost metadata (docs/parameters.md).
//
// A runtime parameter is a JSON value named by (component, vhost, name), or
// a global one (component and vhost empty), as RabbitMQ keeps them. Of the
// vhost components, Warren knows "vhost-limits" (the plugins that add the
// others, federation and shovel, are not part of it): a parameter of any
// other component is refused, as RabbitMQ refuses one whose plugin is not
// enabled. Global parameters are free-form; two of them mean something to
// the node: cluster_name and internal_cluster_id (the cluster's permanent id,
// set once when the cluster first has a leader).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/status.h"

namespace warren::core {

inline constexpr std::string_view kVHostLimitsComponent = "vhost-limits";
inline constexpr std::string_view kClusterNameParameter = "cluster_name";
inline constexpr std::string_view kClusterIdParameter = "internal_cluster_id";

// The largest parameter value accepted, in bytes of JSON, and the largest
// vhost description (written by hand: a line or a paragraph).
inline constexpr size_t kMaxParameterValue = size_t{64} << 10;
inline constexpr size_t kMaxVHostDescription = size_t{64} << 10;

// (component, vhost, name); a global parameter's component and vhost are "".
using ParameterKey = std::tuple<std::string, std::string, std::string>;

// A vhost's limits (RabbitMQ's vhost-limits parameter "limits"); a
// negative value, or a key absent, is no limit.
struct VHostLimits {
  int64_t max_connections = -1;
  int64_t max_queues = -1;
  bool operator==(const VHostLimits&) const = default;
};

// What a vhost says of itself; stored with it, changed by update.
struct VHostMetadata {
  std::string description;
  std::vector<std::string> tags;
  std::string default_queue_type;  // "" (none given), "classic" or "quorum"
  bool tracing = false;
  bool operator==(const VHostMetadata&) const = default;
};

// 400-style refusals in RabbitMQ's words (406 PRECONDITION_FAILED as a
// Status): "Validation failed\n\ncomponent shovel not found", "Validation
// failed\n\nmax-queues should be a number, actually was \"x\"". `value` is
// JSON text.
Status ValidateParameter(const std::string& component, const std::string& name,
                         const std::string& value);
// The limits a validated vhost-limits value sets.
VHostLimits ParseVHostLimits(const std::string& value);
// 406 unless `type` is "", "classic" or "quorum" (what Warren declares).
Status ValidateDefaultQueueType(const std::string& type);

// `chars` random characters of the URL-safe base64 alphabet (server-named
// queues, the cluster id).
std::string RandomToken(size_t chars);
// The string a JSON value holds; "" when it holds none.
std::string JsonStringValue(const std::string& value);

// A new permanent cluster id (the global parameter internal_cluster_id).
inline std::string NewClusterId() { return "rabbitmq-cluster-id-" + RandomToken(22); }

}  // namespace warren::core
