// One accepted TCP socket carrying one AMQP connection, in plain text or
// over TLS (AMQPS, docs/tls.md). Reads into a buffer that grows only while
// the peer sends large frames, hands bytes to the protocol::Connection, and
// writes its output batched: all frames produced in one loop iteration go
// out in one write (docs/message-path.md).
//
// TLS runs OpenSSL on the socket itself (no second buffer layer): records
// are decrypted straight into the read buffer and encrypted straight from
// the output batch. The handshake has a deadline; the connection (and the
// AMQP handshake's own timer) exists only once it has succeeded.
//
// Closing (CloseAfterFlush) is graceful, so the peer reads every frame sent
// before it, close-ok included: write what is queued, shut down the write
// side (the peer sees EOF; over TLS a close_notify first), then read and
// discard until the peer closes or kCloseLinger passes, and only then close
// the socket. Closing a socket with unread input makes the kernel send a
// reset instead, which can destroy the close-ok in flight (a client that
// published a burst and then closed would get ECONNRESET/EPIPE). RabbitMQ,
// too, reads after close-ok until the client closes.
//
// Lifecycle: created by Listener, kept alive by its own pending handlers and
// by the Listener's registry until Finish(). Single-threaded (the node loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "broker/protocol/connection.h"
#include "common/tls.h"

namespace warren::core {
class Broker;
}

namespace warren::net {

class Session : public std::enable_shared_from_this<Session>, public protocol::ConnectionIo {
 public:
  using OnFinished = std::function<void(Session*)>;
  // `tls`: the server context for an AMQPS listener, null for plain AMQP.
  Session(asio::ip::tcp::socket socket, core::Broker& broker, tls::Context tls,
          std::chrono::milliseconds handshake_timeout, OnFinished on_finished);
  ~Session() override;

  // How long a graceful close may take (writing the last frames and
  // draining) before the socket is closed anyway.
  static constexpr std::chrono::milliseconds kCloseLinger{5000};

  void Start();
  // Server-side close: connection.close with `code`, then the socket.
  void Close(uint16_t code, const std::string& text);
  // Drops the socket now and releases the connection's model state.
  void Abort() { Finish(); }
  // Only once the connection exists: during a TLS handshake, false.
  bool established() const { return connection_ != nullptr; }

  // protocol::ConnectionIo
  void RequestFlush() override;
  void CloseAfterFlush() override;
  size_t Backlog() const override;
  void SetReading(bool reading) override;
  uint64_t BytesWritten() const override { return bytes_written_; }
  uint64_t Reads() const override { return reads_; }
  uint64_t Writes() const override { return writes_; }

 private:
  // TLS: the handshake, bounded by handshake_timeout_, then Established().
  void Handshake();
  void HandshakeStep();
  void HandshakeFailed(const std::string& why);
  void Established(protocol::PeerInfo peer);
  // Reads into in_ after in_len_ (or drains), completing in OnRead; over
  // TLS it decrypts. Writes writing_ whole, completing in OnWrite.
  void ReadSome();
  void TlsRead();
  void WriteAll();
  // TLS: reads ciphertext for OpenSSL, then calls `then`, or `failed` with
  // the error.
  template <class Then, class Failed>
  void ReadCipher(Then then, Failed failed);
  // TLS: writes what OpenSSL encrypted, one write at a time; the one that
  // carries writing_ completes in OnWrite.
  void FlushCipher();
  // TLS: one try, without waiting, for a last alert or close_notify.
  void SendCipherNow();

  void DoRead();
  void OnRead(const std::error_code& ec, size_t n);
  // Hands the buffered input to the connection, keeps what it did not take,
  // sizes the buffer (`filled`: the last read of `n` bytes filled it), reads on.
  void Offer(bool filled, size_t n);
  void DoWrite();
  void OnWrite(const std::error_code& ec, size_t n);
  // CloseAfterFlush, once the output is written: FIN, then drain.
  void ShutdownWrite();
  void DoDrain();
  void Finish();

  struct Tls;  // session.cc: the OpenSSL connection

  asio::ip::tcp::socket socket_;
  core::Broker& broker_;
  std::unique_ptr<Tls> tls_;
  std::chrono::milliseconds handshake_timeout_;
  std::unique_ptr<protocol::Connection> connection_;
  OnFinished on_finished_;
  std::string in_;
  size_t in_len_ = 0;
  std::string writing_;
  uint64_t bytes_written_ = 0;
  uint64_t reads_ = 0;   // socket reads that returned bytes
  uint64_t writes_ = 0;  // socket writes completed (one per batch of output)
  bool reading_ = true;
  bool read_in_flight_ = false;
  bool offer_posted_ = false;  // buffered input is to be offered again (SetReading)
  bool write_in_flight_ = false;
  bool flush_posted_ = false;
  bool close_after_flush_ = false;
  bool draining_ = false;  // write side shut down; input is discarded
  bool finished_ = false;
  asio::steady_timer close_timer_;  // bounds a graceful close
};

}  // namespace warren::net
