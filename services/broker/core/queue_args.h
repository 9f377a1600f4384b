// Queue arguments (the x-... table of queue.declare) parsed and validated as
// RabbitMQ does, plus the equivalence check a redeclare must pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "amqp/field_table.h"
#include "common/status.h"

namespace warren::core {

enum class Overflow { kDropHead, kRejectPublish, kRejectPublishDlx };

struct QueueArgs {
  std::optional<int64_t> message_ttl;       // x-message-ttl, ms
  std::optional<int64_t> expires;           // x-expires, ms
  std::optional<int64_t> max_length;        // x-max-length, messages
  std::optional<int64_t> max_length_bytes;  // x-max-length-bytes, body bytes
  Overflow overflow = Overflow::kDropHead;  // x-overflow
  std::optional<std::string> dead_letter_exchange;     // x-dead-letter-exchange
  std::optional<std::string> dead_letter_routing_key;  // x-dead-letter-routing-key
  uint8_t max_priority = 0;                 // x-max-priority (0: not a priority queue)
  bool single_active_consumer = false;      // x-single-active-consumer
  bool lazy = false;                        // x-queue-mode=lazy: bodies kept on disk
};

// "drop-head" | "reject-publish" | "reject-publish-dlx"; nullopt otherwise.
std::optional<Overflow> ParseOverflow(std::string_view text);

// Validates `args` for queue `queue` in `vhost`; errors are 406 with
// RabbitMQ's "invalid arg" text.
Result<QueueArgs> ParseQueueArgs(const amqp::FieldTable& args, const std::string& queue,
                                 const std::string& vhost);

// 406 "inequivalent arg" when a redeclare's arguments differ from the
// existing queue's in any key RabbitMQ compares.
Status CheckQueueArgsEquivalent(const amqp::FieldTable& existing, const amqp::FieldTable& requested,
                                const std::string& queue, const std::string& vhost);

// Values equal as RabbitMQ's argument comparison sees them: integer types
// compare by value, strings by bytes.
bool ArgValuesEquivalent(const amqp::FieldValue& a, const amqp::FieldValue& b);
// "'5' of type 'signedint'" and "5": the two ways RabbitMQ prints a value.
std::string DescribeArgValue(const amqp::FieldValue& v);
std::string PlainArgValue(const amqp::FieldValue& v);

}  // namespace warren::core
