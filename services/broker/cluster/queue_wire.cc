#include "broker/cluster/queue_wire.h"

#include <utility>

namespace warren::cluster {

void ToWire(const core::Message& message, v1::QueueMessage& out) {
  out.set_exchange(message.exchange);
  out.set_routing_key(message.routing_key);
  out.set_properties(message.raw_properties);
  out.set_body(message.body);
}

bool ShortString(const std::string& s) { return s.size() <= kMaxShortString; }

Result<core::MessagePtr> FromWire(v1::QueueMessage& wire, uint64_t max_body) {
  auto refuse = [](const std::string& why) { return Error{500, "a forwarded message " + why}; };
  if (!ShortString(wire.exchange()) || !ShortString(wire.routing_key()))
    return refuse("has an exchange or routing key over 255 bytes");
  if (wire.body().size() > max_body) return refuse("is larger than amqp.max_message_size");
  amqp::BasicProperties properties;
  if (!amqp::DecodeProperties(wire.properties(), properties))
    return refuse("has properties that do not decode");
  auto message = std::make_shared<core::Message>();
  if (properties.expiration) {
    int64_t ttl = 0;
    if (!core::ParseExpiration(*properties.expiration, ttl))
      return refuse("has an expiration that is not a non-negative integer");
    message->ttl_ms = ttl;
  }
  message->exchange = std::move(*wire.mutable_exchange());
  message->routing_key = std::move(*wire.mutable_routing_key());
  message->SetProperties(std::move(*wire.mutable_properties()), properties);
  message->body = std::move(*wire.mutable_body());
  return core::MessagePtr(std::move(message));
}

bool QueueOutbox::Push(v1::QueueOp op) {
  size_t size = op.ByteSizeLong();  // once, outside the lock
  std::lock_guard lock(mu_);
  if (closed_) return false;
  bytes_ += size;
  ops_.push_back({std::move(op), size});
  return true;
}

std::vector<v1::QueueOp> QueueOutbox::TakeFrame() {
  std::lock_guard lock(mu_);
  std::vector<v1::QueueOp> frame;
  size_t taken = 0, bytes = 0;
  while (taken < ops_.size() && taken < kFrameOps && (taken == 0 || bytes < kFrameBytes)) {
    bytes += ops_[taken].size;
    ++taken;
  }
  frame.reserve(taken);
  for (size_t i = 0; i < taken; ++i) frame.push_back(std::move(ops_[i].op));
  ops_.erase(ops_.begin(), ops_.begin() + static_cast<std::ptrdiff_t>(taken));
  bytes_ -= bytes;
  return frame;
}

size_t QueueOutbox::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t QueueOutbox::size() const {
  std::lock_guard lock(mu_);
  return ops_.size();
}

void QueueOutbox::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  ops_.clear();
  bytes_ = 0;
}

void QueueOutbox::Reopen() {
  std::lock_guard lock(mu_);
  closed_ = false;
  ops_.clear();
  bytes_ = 0;
}

bool QueueOutbox::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

}  // namespace warren::cluster
