// One published message, parsed once and shared by every queue it is routed
// to (docs/message-path.md). Immutable after construction; queues
// hold QueueEntry values that point at it.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "amqp/properties.h"

namespace warren::core {

// Where a message's record lies in the store's log (store/README.md).
struct DiskRef {
  uint64_t id = 0;  // message id, increasing in log order; 0 = not written
  uint32_t segment = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
  bool valid() const { return id != 0; }
};

struct Message {
  std::string exchange;
  std::string routing_key;
  // The encoded property flags and list: forwarded to consumers untouched,
  // and the only copy of the properties a queued message keeps (decoded
  // they take 456 bytes, more than many bodies). properties() decodes them
  // where a value beyond the summary below is needed.
  std::string raw_properties;
  std::string body;

  // Per-message TTL from the expiration property; nullopt when absent.
  // RabbitMQ accepts only a non-negative integer in decimal.
  std::optional<int64_t> ttl_ms;
  // Set once when the message is first written to the store, so every queue
  // that keeps it on disk shares one record.
  mutable DiskRef disk;
  // What routing and queueing read of the properties on every message.
  uint8_t delivery_mode = 0;
  uint8_t priority_property = 0;
  bool has_headers = false;

  bool persistent() const { return delivery_mode == 2; }
  uint8_t priority() const { return priority_property; }
  // Decodes raw_properties (checked when the message was made).
  amqp::BasicProperties properties() const;
  // Sets raw_properties to encode `p`, and the summary from it.
  void SetProperties(const amqp::BasicProperties& p);
  // Takes raw bytes that decode to `p` as they are, and the summary from `p`.
  void SetProperties(std::string raw, const amqp::BasicProperties& p);
};

using MessagePtr = std::shared_ptr<const Message>;

// Builds a message from decoded properties, encoding raw_properties.
MessagePtr MakeMessage(std::string exchange, std::string routing_key,
                       amqp::BasicProperties properties, std::string body);

// Parses an expiration property: false when it is not a non-negative integer.
bool ParseExpiration(const std::string& text, int64_t& ttl_ms);

// RabbitMQ's ?MAX_EXPIRY_TIMER: the largest TTL, x-expires or expiration
// (rabbit_misc:check_expiry answers {value_too_big, N} above it).
inline constexpr int64_t kMaxExpiryMs = 4294967295;

inline constexpr int64_t kNeverExpires = std::numeric_limits<int64_t>::max();

// A message's place in one queue. `message` is null while the entry is paged
// out: the body then lives only in the store, at `disk`.
struct QueueEntry {
  MessagePtr message;
  DiskRef disk;
  uint64_t seq = 0;                       // queue-local order, kept across requeue
  // Monotonic ms: when the entry joined the queue (the queue's message TTL,
  // which a policy may change, counts from here) and when its own
  // per-message TTL runs out.
  int64_t enqueued_at = 0;
  int64_t expires_at = kNeverExpires;
  uint32_t size = 0;                      // body bytes
  uint8_t priority = 0;
  bool redelivered = false;
  // `disk` is referenced for this entry: logged for a durable queue (settled
  // with an ack record) or a page-out copy (released).
  bool logged = false;
  bool paged_ref = false;
  // Counted among the queue's persistent messages (Queue::persistent_count).
  bool persistent = false;
};

}  // namespace warren::core
