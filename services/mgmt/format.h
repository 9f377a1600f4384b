// The Admin service's messages as the management API's JSON objects, with
// RabbitMQ's field names (queue: name, vhost, durable, ..., message_stats
// {publish, deliver_get, ack, redeliver}), for the fields Warren has.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "warren/v1/admin.pb.h"

namespace warren::mgmt {

namespace v1 = ::warren::v1;

// A proto field that holds JSON text, as JSON (an empty object when empty,
// unreadable or nested deeper than kMaxJsonDepth).
nlohmann::json ParseJsonField(const std::string& text);

nlohmann::json FormatQueue(const v1::Queue& q);
nlohmann::json FormatExchange(const v1::Exchange& e);
nlohmann::json FormatBinding(const v1::Binding& b);
nlohmann::json FormatConnection(const v1::Connection& c);
// `node`: the node of the channel's connection.
nlohmann::json FormatChannel(const v1::Channel& c, const std::string& node);
// `user` and `node`: those of the consumer's channel.
nlohmann::json FormatConsumer(const v1::Consumer& c, const std::string& user,
                              const std::string& node);
nlohmann::json FormatVHost(const v1::VHost& v);
// With the user's password_hash ("" for none, as RabbitMQ shows a user
// without a password) and its limits ({} for none).
nlohmann::json FormatUser(const v1::User& u);
nlohmann::json FormatPermission(const v1::Permission& p);
nlohmann::json FormatTopicPermission(const v1::TopicPermission& p);
nlohmann::json FormatPolicy(const v1::Policy& p);

}  // namespace warren::mgmt
