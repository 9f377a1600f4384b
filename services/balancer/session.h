// One client connection forwarded to one server: connect (retrying the next
// server on failure, up to `retries` times, before the client has been
// answered at all), then forward both directions, client->server and
// server->client.
//
// Memory: an idle session holds no buffer. A direction waits for its source
// to become readable, reads into the loop's one scratch buffer and writes
// that on at once; only what the destination does not take is copied into
// the direction's own buffer (at most one read, 64 KiB), and the source is not
// read again until it has gone out. So a fast side against a slow one holds
// at most 64 KiB per direction, and the buffer is freed as soon as it drains.
//
// Timeouts, as haproxy applies `timeout client` and `timeout server`: each
// side (client, server) has an inactivity limit while the session waits to
// read from it, and a byte read from it or written to it is activity, so a
// consumer that only receives, or a publisher whose server never answers,
// stays open. A side that has not taken a waiting byte for its limit ends
// the session, however much the other direction moves (and the side whose
// bytes wait is not idle meanwhile). When one side ends its stream (FIN)
// the other side's write half is shut down, the opposite direction keeps
// flowing, and both sides switch to the *_fin limits from then on; the
// session ends when both directions have ended, on a reset, or on a timeout.
//
// Lifecycle: created by a Frontend for an accepted socket and kept alive by
// its own pending handlers; the Frontend's registry holds it for Close().
// SessionEnded() is called exactly once. Single-threaded on the loop.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
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

// The [defaults] limits a session runs under (every duration above 0).
struct Timeouts {
  Millis connect{5000};
  Millis client{120000};
  Millis server{120000};
  Millis client_fin{5000};  // once one direction has ended
  Millis server_fin{5000};
  int retries = 3;
};

// Process-wide gauges, for the stats page: Session objects alive (ended ones
// included until their last handler has run) and the forwarding buffers
// held by them. Both return to 0 when every client has gone.
struct LiveGauges {
  int64_t sessions = 0;
  int64_t buffers = 0;
  int64_t buffered_bytes = 0;  // capacity of those buffers
};
const LiveGauges& Live();

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, asio::ip::tcp::socket client, std::shared_ptr<SessionOwner> owner,
          Timeouts timeouts);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects to `first` (already picked, so that an all-DOWN listener can
  // refuse before creating a session).
  void Start(std::shared_ptr<Server> first);
  // Ends the session now (balancer stopping).
  void Close(const std::string& reason);
  const std::string& client_ip() const { return client_ip_; }

 private:
  using Clock = std::chrono::steady_clock;
  // One side of the session and when it last showed life.
  struct Side {
    explicit Side(asio::io_context& io) : socket(io) {}
    asio::ip::tcp::socket socket;
    const char* name = "";            // "client" or "server"
    Clock::time_point last_io;        // a read from it, a write to it that progressed, or
                                      // reading from it resumed after a wait
    Clock::time_point write_stalled;  // when bytes for it last started to wait or moved
  };
  // Bytes read from `from` and written to `to`; `pending` holds what `to`
  // has not taken yet (`offset` of it has gone), empty when nothing waits.
  struct Direction {
    Side* from = nullptr;
    Side* to = nullptr;
    std::vector<char> pending;
    size_t offset = 0;
    bool ended = false;  // `from` sent FIN, and it was passed on to `to`
  };

  void Connect();
  void OnConnected(std::error_code ec, asio::ip::tcp::socket socket);
  void Forward(Direction& d);
  bool WriteNow(Direction& d, const char* data, size_t n, size_t& written);
  void WaitReadable(Direction& d);
  void WaitWritable(Direction& d);
  void OnWritable(Direction& d, std::error_code ec);
  void Hold(Direction& d, const char* data, size_t n);
  void Release(Direction& d);
  void EndDirection(Direction& d);
  void Count(Direction& d, size_t n);
  Clock::time_point Deadline(const Side& side) const;
  Clock::time_point Earliest() const;
  void ArmIdleTimer();
  void RearmIfEarlier();
  void OnIdleTimer();
  void Finish(const std::string& reason);

  asio::io_context& io_;
  Side client_;
  Side server_side_;
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
