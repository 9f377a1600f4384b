// The composition root of warren-node: builds the event loop, runtime,
// broker model (vhosts, users, permissions from NodeConfig) and the AMQP
// listener. main() and in-process tests build the same Node.
//
// Lifecycle: Start() binds (throws on a bad address), Run() blocks on the
// loop until Stop() (thread-safe: it posts to the loop) has closed every
// connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/config.h"

namespace asio {
class io_context;
}

namespace warren {

namespace core {
class Broker;
}
namespace net {
class AsioRuntime;
class Listener;
}  // namespace net

class Node {
 public:
  explicit Node(NodeConfig config);
  ~Node();

  void Start();
  void Run();
  void Stop();

  uint16_t amqp_port() const;
  core::Broker& broker() { return *broker_; }
  const NodeConfig& config() const { return config_; }

 private:
  void LoadAccess();

  NodeConfig config_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<net::AsioRuntime> runtime_;
  std::unique_ptr<core::Broker> broker_;
  std::unique_ptr<net::Listener> listener_;
};

// Fills defaults that depend on the machine (node name, data directory).
void ResolveDefaults(NodeConfig& config);
// Raises the open-file limit to the hard limit; returns the new soft limit.
uint64_t RaiseFileLimit();

}  // namespace warren
