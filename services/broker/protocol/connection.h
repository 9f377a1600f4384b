// One AMQP 0-9-1 client connection: the handshake, connection-level methods,
// heartbeats, and dispatch of channel frames to Channel objects. Pure
// protocol: bytes come in through OnData, frames go out through output(),
// and the transport is reached only through ConnectionIo.
//
// Handshake and close (spec 2.2.4, 4.2.2):
//
//   kAwaitingHeader --"AMQP 0 0 9 1"--> kAwaitingStartOk   (we sent connection.start)
//        |  any other header: reply with ours, close
//   kAwaitingStartOk --start-ok, login ok--> kAwaitingTuneOk (we sent connection.tune)
//        |  login refused: connection.close 403 (if the client can take it), close
//   kAwaitingTuneOk --tune-ok--> kAwaitingOpen
//   kAwaitingOpen --open, vhost allowed--> kOpen              (we sent open-ok)
//   kOpen --client connection.close--> close-ok, kClosed
//   any --error--> kClosing (we sent connection.close; only close/close-ok
//                  are read) --close-ok or timeout--> kClosed
//   kClosed: the transport writes what is queued and closes gracefully
//            (ConnectionIo::CloseAfterFlush); input is no longer read.
//
// Until tune-ok, frames longer than 4096 octets are refused.
//
// Lifecycle: created by the network layer per accepted socket, destroyed
// after OnTransportClosed. Lives on the node's event loop; other connections'
// channels reach it only through the model (queues deliver to its channels).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "amqp/field_table.h"
#include "amqp/frame.h"
#include "amqp/methods.h"
#include "broker/core/broker.h"
#include "common/runtime.h"
#include "common/status.h"


namespace warren::protocol {

class Channel;

// What the connection needs from its transport (net::Session).
class ConnectionIo {
 public:
  virtual ~ConnectionIo() = default;
  // output() has new bytes: write them soon (once per loop iteration).
  virtual void RequestFlush() = 0;
  // Write what is pending, then close the socket without losing it to a
  // reset: input that still arrives is read and dropped until the peer
  // closes (bounded in time).
  virtual void CloseAfterFlush() = 0;
  // Bytes handed to the socket but not yet written, plus output().
  virtual size_t Backlog() const = 0;
  // Stop / resume reading from the socket (connection.blocked).
  virtual void SetReading(bool reading) = 0;
  // Total bytes written to the socket so far (heartbeats are sent only when
  // nothing else went out during an interval).
  virtual uint64_t BytesWritten() const = 0;
  // Socket reads and writes done so far (RabbitMQ's recv_cnt, send_cnt).
  virtual uint64_t Reads() const { return 0; }
  virtual uint64_t Writes() const { return 0; }
};

struct PeerInfo {
  std::string host;
  uint16_t port = 0;
  bool loopback = false;
  std::string local_host;  // the node's side of the socket
  uint16_t local_port = 0;
  // Over TLS (AMQPS, docs/tls.md): what the handshake established.
  bool tls = false;
  std::string tls_protocol;  // "TLSv1.3"
  std::string tls_cipher;
  std::string cert_subject;  // the client's certificate, "" without one
  // The verified certificate's CN: the user EXTERNAL logs in as. Empty
  // without a verified certificate, and then EXTERNAL is not offered.
  std::string cert_login;
};

// Resource alarms (RabbitMQ's flow control): while one is on, a connection
// that publishes gets connection.blocked (if it announced the capability)
// and is no longer read from; one that only consumes carries on.
// connection.unblocked follows when the last alarm clears. Heartbeat
// timeouts are not enforced while blocked.
class Connection : public core::AlarmListener, public core::ClientConnection {
 public:
  enum class State { kAwaitingHeader, kAwaitingStartOk, kAwaitingTuneOk, kAwaitingOpen, kOpen,
                     kClosing, kClosed };

  Connection(core::Broker& broker, ConnectionIo& io, PeerInfo peer);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Consumes whole frames from `data`; returns how many bytes it used (the
  // rest is kept by the caller and offered again with more).
  size_t OnData(std::string_view data);
  // The socket is gone (either side): release channels, consumers, unacked
  // messages and exclusive queues. Idempotent.
  void OnTransportClosed();
  // The transport wrote its backlog down: resume paused deliveries.
  void OnDrained();
  // Server-initiated close (node shutdown, admin close): 320 CONNECTION_FORCED.
  void Close(uint16_t code, const std::string& text);

  std::string& output() { return out_; }
  State state() const { return state_; }
  uint64_t id() const { return id_; }
  uint32_t frame_max() const { return frame_max_; }
  // The largest frame read from the client, framing included. Until
  // tune-ok it is the spec's minimum frame size (RabbitMQ's
  // initial_frame_max), so a client that has not logged in cannot make the
  // node buffer more; then frame_max, plus 8 octets of slack as RabbitMQ
  // allows (FRAME_SIZE_FUDGE: many clients count frame_max without framing).
  uint32_t input_frame_max() const {
    return (tuned_ ? frame_max_ : amqp::kFrameMinSize) + amqp::kFrameOverhead;
  }
  const PeerInfo& peer() const { return peer_; }
  // "PEER:PORT -> LOCAL:PORT", as RabbitMQ names a connection.
  std::string name() const;
  const std::string& user() const { return user_; }
  core::VHost* vhost() const { return vhost_; }
  core::Broker& broker() { return broker_; }
  Runtime& runtime();
  // When the batch of input being handled was read (NowMs): every frame's
  // time, without a clock read per frame.
  int64_t batch_read_ms() const { return last_recv_ms_; }
  bool client_has(std::string_view capability) const;
  // Deliveries pause while this many bytes wait for the socket.
  static constexpr size_t kMaxBacklog = 4 << 20;
  // True while the socket backlog is over kMaxBacklog; remembers that a
  // delivery was held back so OnDrained resumes it.
  bool backlogged() const {
    if (io_.Backlog() < kMaxBacklog) return false;
    deliveries_paused_ = true;
    return true;
  }

  // Used by channels.
  void Send() { io_.RequestFlush(); }
  // Turns an error from channel `channel` while handling (class, method) into
  // channel.close or connection.close, per its reply code (the one place;
  // docs/errors.md).
  void Fail(uint16_t channel, const Error& error, uint16_t class_id, uint16_t method_id);
  void CloseChannelDone(uint16_t channel);
  // Channel `channel` owes publisher confirms: they go out, coalesced, when
  // the current batch of input has been handled.
  void OweConfirms(uint16_t channel) { confirms_owed_.push_back(channel); }
  // The model cancelled consumer `tag` of channel `channel` (its queue went
  // away): basic.cancel with no-wait goes out, as RabbitMQ sends it. While a
  // frame of this connection is being handled it waits for that frame's
  // reply, so queue.delete-ok precedes the cancel of a consumer of the
  // deleted queue (RabbitMQ's order).
  void NotifyConsumerCancelled(uint16_t channel, const std::string& tag);
  // A basic.publish arrived: during an alarm, stop reading after this batch.
  void NotePublish() {
    published_ = true;
    if (broker_.alarmed()) block_after_batch_ = true;
  }
  bool blocked() const { return blocked_; }
  // Holds input while one of its channels waits for an answer: a metadata
  // change (core/command.h) or a queue's home (core/remote.h), or while
  // connection.open or channel.open waits for the cluster's count of
  // connections or channels (Broker::ClusterCensus). Until the
  // returned function is called (once) no further frame of this connection
  // is handled (the socket is not read), so the client's next method, on
  // any channel, sees the change, as on RabbitMQ. It runs `reply` as the
  // answer to the frame that asked, at once or later (a cluster answers
  // after commit), unless the connection is gone by then, and reads on.
  using Resume = std::function<void(const std::function<void()>& reply)>;
  Resume Hold();

  // core::AlarmListener
  void OnAlarmChanged(bool on) override;
  // core::ClientConnection (registered with the broker while open)
  core::ConnectionInfo Describe() const override;
  const std::string& user_name() const override { return user_; }
  size_t open_channels() const override { return channels_.size(); }
  void ForceClose(const std::string& reason) override;

 private:
  size_t Consume(std::string_view data);
  bool HandleHeader(std::string_view data);
  void HandleFrame(const amqp::FrameView& frame);
  void SendOwedCancels();
  void HandleConnectionMethod(amqp::Method& method);
  void HandleStartOk(amqp::ConnectionStartOk& m);
  void HandleTuneOk(const amqp::ConnectionTuneOk& m);
  void HandleOpen(const amqp::ConnectionOpen& m);
  // connection.open's checks: the vhost exists and the user may use it, and
  // with `census` (the cluster's counts), its connection limits hold.
  // Refuses (530) and answers null otherwise.
  core::VHost* VHostToOpen(const std::string& name, const core::ConnectionCensus* census);
  void Open(core::VHost* vhost);
  // channel.open once the user's channel limit, if any, is counted.
  void OpenChannel(uint16_t number, const core::ConnectionCensus* census);
  void HandleChannelFrame(const amqp::FrameView& frame);
  void RefuseLogin(const std::string& text);
  void SendClose(uint16_t code, const std::string& text, uint16_t class_id, uint16_t method_id);
  void StartHeartbeats();
  void HeartbeatTick();
  void Teardown();
  void Block();
  void Unblock();
  // Reads again once neither an alarm nor a metadata change holds input.
  void ResumeReading();

  core::Broker& broker_;
  ConnectionIo& io_;
  PeerInfo peer_;
  uint64_t id_;
  State state_ = State::kAwaitingHeader;
  std::string out_;

  uint16_t channel_max_;
  uint32_t frame_max_;
  uint16_t heartbeat_ = 0;
  bool tuned_ = false;  // tune-ok accepted: frame_max_ is negotiated
  int64_t last_recv_ms_ = 0;
  uint64_t written_at_last_tick_ = 0;
  TimerId heartbeat_timer_ = 0;
  TimerId handshake_timer_ = 0;
  TimerId closing_timer_ = 0;

  uint64_t received_ = 0;         // bytes read from the socket
  int64_t connected_at_ms_ = 0;   // wall clock
  amqp::FieldTable client_properties_;
  amqp::FieldTable client_capabilities_;
  std::string user_;
  std::string auth_mechanism_;  // of the login
  core::VHost* vhost_ = nullptr;
  std::unordered_map<uint16_t, std::unique_ptr<Channel>> channels_;
  std::vector<uint16_t> confirms_owed_;
  bool dispatching_ = false;  // inside HandleFrame
  std::vector<std::pair<uint16_t, std::string>> cancels_owed_;  // (channel, consumer tag)
  bool torn_down_ = false;
  bool published_ = false;
  bool blocked_ = false;
  bool sent_blocked_ = false;
  bool block_after_batch_ = false;
  bool input_broken_ = false;
  uint32_t holds_ = 0;  // answers awaited (Hold)
  mutable bool deliveries_paused_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace warren::protocol
