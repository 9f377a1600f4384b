// Client connections as the model sees them: what an operator lists
// (rabbitmqctl list_connections / list_channels) and may close. The protocol
// layer implements ClientConnection and registers each connection with the
// Broker once it is open; core keeps only the pointer.
//
// Everything runs on the node's event loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "amqp/field_table.h"

namespace warren::core {

struct ChannelInfo {
  uint16_t number = 0;
  bool transactional = false;
  bool confirm = false;
  uint32_t consumers = 0;
  uint64_t unacked = 0;
  uint16_t prefetch = 0;         // per consumer (basic.qos global=false)
  uint16_t global_prefetch = 0;  // whole channel
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
  uint16_t heartbeat = 0;
  uint64_t recv_oct = 0;
  uint64_t send_oct = 0;
  int64_t connected_at_ms = 0;  // wall clock
  std::vector<ChannelInfo> channels;
};

class ClientConnection {
 public:
  virtual ~ClientConnection() = default;
  virtual ConnectionInfo Describe() const = 0;
  // connection.close 320 CONNECTION_FORCED with `reason`; the connection's
  // channels, consumers and exclusive queues are released before it returns.
  virtual void ForceClose(const std::string& reason) = 0;
};

}  // namespace warren::core
