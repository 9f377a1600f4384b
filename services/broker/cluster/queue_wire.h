// What both ends of a Cluster.Queues stream share (docs/cluster.md, "Queues
// across nodes"): messages on the wire and back, with the bounds a node
// checks before it believes a peer, and the outbox that carries ops from the
// node's loop to the thread or reactor writing the stream.
//
// Internal to the cluster module: included by .cc files only (it pulls in
// the generated protobuf header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "broker/core/message.h"
#include "common/status.h"
#include "warren/v1/cluster.pb.h"

namespace grpc {
template <class Request, class Response>
class ServerBidiReactor;
class Status;
}  // namespace grpc

namespace warren::cluster {

namespace v1 = ::warren::v1;

// A frame carries at most this many ops, and stops taking more past
// kFrameBytes (a single larger message goes alone).
inline constexpr size_t kFrameOps = 512;
inline constexpr size_t kFrameBytes = 1 << 20;
// A caller's publishes wait in its outbox; past kCongestedBytes its clients
// are read no further until the outbox is below kDrainedBytes again.
inline constexpr size_t kCongestedBytes = 16 << 20;
inline constexpr size_t kDrainedBytes = 4 << 20;
// How many deliveries a home sends a remote consumer ahead of the caller's
// credit (the window), and how much a home's outbox to one caller may hold
// before its consumers wait.
inline constexpr uint32_t kCreditWindow = 256;
inline constexpr size_t kHomeOutboxBytes = 16 << 20;
// Bounds on what a peer sends: AMQP short strings, and a frame's ops.
inline constexpr size_t kMaxShortString = 255;
inline constexpr size_t kMaxOpsPerFrame = 65536;
// A frame is one gRPC message, which the gRPC port takes up to 64 MiB of
// (admin_server.cc): a larger message cannot reach a queue on another node.
inline constexpr size_t kMaxForwardedMessage = 63 << 20;

void ToWire(const core::Message& message, v1::QueueMessage& out);
// The message a peer sent, checked as the AMQP reader checks a client's:
// exchange and routing key short strings, properties that decode, a body
// within `max_body`, an expiration RabbitMQ accepts.
Result<core::MessagePtr> FromWire(v1::QueueMessage& wire, uint64_t max_body);
// A vhost, queue or tag name: at most 255 bytes.
bool ShortString(const std::string& s);

// Ops waiting to be written on one stream. The node's loop pushes; the
// stream's writer takes them in frames. Thread-safe.
class QueueOutbox {
 public:
  // False (the op is dropped) once the outbox was closed.
  bool Push(v1::QueueOp op);
  // Takes up to a frame's worth; empty when none wait.
  std::vector<v1::QueueOp> TakeFrame();
  size_t bytes() const;
  size_t size() const;
  // Drops what waits and refuses every later Push.
  void Close();
  // Drops what waits, and takes ops again (a new stream).
  void Reopen();
  bool closed() const;

 private:
  struct Queued {
    v1::QueueOp op;
    size_t size;  // its encoded bytes, counted once
  };
  mutable std::mutex mu_;
  std::vector<Queued> ops_;
  size_t bytes_ = 0;  // the sum of ops_'s sizes
  bool closed_ = false;
};

// One caller's Queues stream at the home (cluster_service.cc serves it):
// what the stream's reactor, on gRPC's threads, and the node's loop share.
// The loop sends ops with Send and asks for the next frame with ReadNext once
// it has handled one, so a caller faster than the home is held back by the
// stream's own flow control instead of growing the loop's queue.
class HomeLink {
 public:
  using Reactor = grpc::ServerBidiReactor<v1::QueueFrame, v1::QueueFrame>;
  explicit HomeLink(std::string caller) : caller_(std::move(caller)) {}
  const std::string& caller() const { return caller_; }
  // From the loop: queues an op (dropped once the stream ended); Flush
  // starts writing what is queued.
  void Send(v1::QueueOp op);
  void Flush();
  void ReadNext();
  size_t queued_bytes() const { return outbox_.bytes(); }
  bool ended() const { return outbox_.closed(); }
  // What waits to be written, taken: for a link no reactor writes (tests).
  std::vector<v1::QueueOp> TakeQueued() { return outbox_.TakeFrame(); }

  // From the reactor.
  void Attach(Reactor* reactor, v1::QueueFrame* in);
  void WriteDone(bool ok);
  void End();      // the read side ended: finish the call once writes are done
  void Detach();   // the reactor is done

 private:
  void StartWriteLocked();
  void FinishLocked();

  const std::string caller_;
  QueueOutbox outbox_;
  std::mutex mu_;
  Reactor* reactor_ = nullptr;
  v1::QueueFrame* in_ = nullptr;
  v1::QueueFrame out_;
  bool writing_ = false;
  bool ending_ = false;
  bool finished_ = false;
};

}  // namespace warren::cluster
