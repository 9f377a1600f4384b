// Client connections as the model sees them: what an operator lists
// (rabbitmqctl list_connections / list_channels) and may close. The protocol
// layer implements ClientConnection and registers each connection with the
// Broker once it is open; core keeps only the pointer.
//
// Everything runs on the node's event loop.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "amqp/field_table.h"

namespace warren::core {

// Message counters as RabbitMQ's global and per-channel counters keep them
// (the exporter's rabbitmq_global_* and rabbitmq_channel_* families): each
// channel keeps its own and adds to the node's (protocol::Channel::Count).
struct MessageCounters {
  uint64_t messages_received = 0;          // basic.publish
  uint64_t messages_received_confirm = 0;  // of those, on a channel in confirm mode
  uint64_t messages_routed = 0;
  uint64_t messages_unroutable_returned = 0;
  uint64_t messages_unroutable_dropped = 0;
  uint64_t messages_confirmed = 0;
  uint64_t messages_delivered = 0;    // to consumers and basic.get
  uint64_t messages_delivered_consume_manual_ack = 0;
  uint64_t messages_delivered_consume_auto_ack = 0;
  uint64_t messages_delivered_get_manual_ack = 0;
  uint64_t messages_delivered_get_auto_ack = 0;
  uint64_t messages_get_empty = 0;    // basic.get answered get-empty
  uint64_t messages_redelivered = 0;  // of those delivered, with redelivered set
  uint64_t messages_acked = 0;        // acknowledged by clients
};

// Sizes of the message bodies received (RabbitMQ's rabbitmq_message_size_bytes
// histogram): counts[i] is how many were at most kMessageSizeBounds[i]
// bytes and above the bound before; the last, above every bound.
inline constexpr uint64_t kMessageSizeBounds[] = {100,        1'000,      10'000,
                                                  100'000,    1'000'000,  10'000'000,
                                                  50'000'000, 100'000'000};
struct MessageSizes {
  uint64_t counts[std::size(kMessageSizeBounds) + 1] = {};
  uint64_t sum = 0;
  void Add(uint64_t size) {
    size_t i = 0;
    while (i < std::size(kMessageSizeBounds) && size > kMessageSizeBounds[i]) ++i;
    ++counts[i];
    sum += size;
  }
};

struct ChannelInfo {
  uint16_t number = 0;
  bool transactional = false;
  bool confirm = false;
  uint32_t consumers = 0;
  uint64_t unacked = 0;
  uint16_t prefetch = 0;         // per consumer (basic.qos global=false)
  uint16_t global_prefetch = 0;  // whole channel
  uint64_t unconfirmed = 0;          // published in confirm mode, not yet confirmed
  uint64_t uncommitted_messages = 0;  // published in the open transaction
  uint64_t uncommitted_acks = 0;      // acknowledgements in the open transaction
  MessageCounters counters;           // since the channel opened
  // How long it has had no method and no delivery, once that is at least
  // Queue::kIdleAfterMs (RabbitMQ shows a channel's idle_since only while
  // it is idle); 0 while it is active.
  int64_t idle_ms = 0;
};

struct ConnectionInfo {
  uint64_t id = 0;
  std::string name;  // "127.0.0.1:50000 -> 127.0.0.1:5672", as RabbitMQ names it
  std::string user;
  std::string vhost;
  std::string peer_host;
  uint16_t peer_port = 0;
  bool ssl = false;  // AMQPS
  std::string ssl_protocol;
  std::string ssl_cipher;
  std::string peer_cert_subject;
  std::string auth_mechanism;  // "PLAIN", "AMQPLAIN", "EXTERNAL"
  std::string state;  // "running" | "blocked" | "closing"
  amqp::FieldTable client_properties;
  uint32_t frame_max = 0;
  uint16_t channel_max = 0;
  uint16_t heartbeat = 0;
  uint64_t recv_oct = 0;
  uint64_t send_oct = 0;
  uint64_t recv_cnt = 0;   // socket reads
  uint64_t send_cnt = 0;   // socket writes
  uint64_t send_pend = 0;  // bytes waiting to be written
  int64_t connected_at_ms = 0;  // wall clock
  std::vector<ChannelInfo> channels;
};

class ClientConnection {
 public:
  virtual ~ClientConnection() = default;
  virtual ConnectionInfo Describe() const = 0;
  // Cheap parts of Describe(), for user limits.
  virtual const std::string& user_name() const = 0;
  virtual size_t open_channels() const = 0;
  // connection.close 320 CONNECTION_FORCED with `reason`; the connection's
  // channels, consumers and exclusive queues are released before it returns.
  virtual void ForceClose(const std::string& reason) = 0;
};

}  // namespace warren::core
