// The input of warren_fuzz_queue_home: the frames a caller sends on one
// Cluster.Queues stream, each as a 2-byte big-endian length and that many
// bytes of an encoded QueueFrame. Shared by the fuzzer, which splits an
// input, the corpus generator, which joins sample frames, and the unit
// tests of the home (tests/unit/cluster/queue_home_test.cc), which build
// their ops as the generator does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/cluster/queue_wire.h"
#include "broker/core/message.h"
#include "warren/v1/cluster.pb.h"

namespace warren::cluster::fuzz {

using Op = v1::QueueOp;

// A caller's request `id` of `kind` on `queue` of vhost "/" (none: no queue).
inline Op Request(Op::Kind kind, uint64_t id, const std::string& queue) {
  Op op;
  op.set_kind(kind);
  op.set_id(id);
  op.set_vhost("/");
  if (!queue.empty()) op.add_queues(queue);
  return op;
}

inline Op Publish(uint64_t id, const std::string& queue, const std::string& body) {
  Op op = Request(Op::PUBLISH, id, queue);
  ToWire(*core::MakeMessage("", queue, {}, body), *op.mutable_message());
  return op;
}

inline Op Consume(uint64_t id, const std::string& queue, uint32_t prefetch = 0,
                  uint64_t connection = 0) {
  Op op = Request(Op::CONSUME, id, queue);
  op.set_tag("ctag-" + std::to_string(id));
  op.set_prefetch(prefetch);
  op.set_connection(connection);
  return op;
}

inline Op Settle(uint64_t consumer, Op::Settle kind, std::vector<uint64_t> deliveries) {
  Op op;
  op.set_kind(Op::SETTLE);
  op.set_id(consumer);
  op.set_settle(kind);
  for (uint64_t d : deliveries) op.add_deliveries(d);
  return op;
}

// A mirrored queue's home feeding this member's copy (docs/mirroring.md).
inline Op MirrorReset(const std::string& queue, uint64_t epoch) {
  Op op = Request(Op::MIRROR_RESET, 0, queue);
  op.set_term(epoch);
  return op;
}
inline Op MirrorEnter(uint64_t id, const std::string& queue, uint64_t seq,
                      const std::string& body) {
  Op op = Request(Op::MIRROR_ENTER, id, queue);
  op.set_delivery(seq);
  ToWire(*core::MakeMessage("", queue, {}, body), *op.mutable_message());
  return op;
}
inline Op MirrorLeave(const std::string& queue, std::vector<uint64_t> seqs) {
  Op op = Request(Op::MIRROR_LEAVE, 0, queue);
  for (uint64_t s : seqs) op.add_deliveries(s);
  return op;
}

inline std::string JoinFrames(const std::vector<std::string>& frames) {
  std::string out;
  for (const std::string& f : frames) {
    size_t n = f.size() > 0xffff ? 0xffff : f.size();
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
    out.append(f, 0, n);
  }
  return out;
}

// The frames of `in`; a last one cut short is taken as it is.
inline std::vector<std::string_view> SplitFrames(std::string_view in) {
  std::vector<std::string_view> frames;
  while (in.size() >= 2) {
    size_t n = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
    in.remove_prefix(2);
    n = n < in.size() ? n : in.size();
    frames.push_back(in.substr(0, n));
    in.remove_prefix(n);
  }
  return frames;
}

}  // namespace warren::cluster::fuzz
