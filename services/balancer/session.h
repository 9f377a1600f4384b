// One client connection forwarded to one server: connect (retrying the next
// server on failure, up to `retries` times, before the client has been
// answered at all), then two pumps, client->server and server->client, each
// reading into its own 64 KiB buffer and writing all of it before reading
// again. When one side ends its stream (FIN) the other side's write half is
// shut down and the opposite direction keeps flowing; the session ends when
// both directions have ended, on a reset, or when a side stays silent longer
// than its idle timeout (timeout_client for the client, timeout_server for
// the server).
//
// Lifecycle: created by a Frontend for an accepted socket and kept alive by
// its own pending handlers; the Frontend's registry holds it for Close().
// SessionEnded() is called exactly once. Single-threaded on the loop.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "balancer/dial.h"
#include "balancer/server.h"

namespace warren::balancer {

class Session;

// What a session needs from the listener that accepted it.
class SessionOwner {
 public:
  virtual ~SessionOwner() = default;
  virtual std::shared_ptr<Server> PickServer(const std::string& client_ip,
                                             const std::vector<const Server*>& tried) = 0;
  virtual void SessionEnded(Session* session) = 0;
  virtual Counters& counters() = 0;
  virtual const std::string& name() const = 0;
};

struct Timeouts {
  Millis connect{5000};
  Millis client{120000};  // 0: no idle limit
  Millis server{120000};
  int retries = 3;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, asio::ip::tcp::socket client, std::shared_ptr<SessionOwner> owner,
          Timeouts timeouts);
  // Connects to `first` (already picked, so that an all-DOWN listener can
  // refuse before creating a session).
  void Start(std::shared_ptr<Server> first);
  // Ends the session now (balancer stopping).
  void Close(const std::string& reason);

 private:
  using Clock = std::chrono::steady_clock;
  struct Direction {
    asio::ip::tcp::socket* from;
    asio::ip::tcp::socket* to;
    std::vector<char> buffer;
    bool ended = false;
    Clock::time_point last_activity;
    bool from_client;
  };

  void Connect();
  void OnConnected(std::error_code ec, asio::ip::tcp::socket socket);
  void Pump(Direction& d);
  void OnRead(Direction& d, std::error_code ec, size_t n);
  void ArmIdleTimer();
  void Finish(const std::string& reason);

  asio::io_context& io_;
  asio::ip::tcp::socket client_;
  asio::ip::tcp::socket server_socket_;
  std::shared_ptr<SessionOwner> owner_;
  Timeouts timeouts_;
  std::string peer_;  // client "ip:port"
  std::string client_ip_;
  std::string first_end_;  // "client" or "server": who sent FIN first
  Dialer dialer_;
  asio::steady_timer idle_timer_;
  std::shared_ptr<Server> server_;
  std::vector<const Server*> tried_;
  std::array<Direction, 2> dirs_;  // [0] client->server, [1] server->client
  Clock::time_point started_;
  int64_t in_ = 0, out_ = 0;
  bool connected_ = false;
  bool finished_ = false;
};

}  // namespace warren::balancer
