#include "perf/producer.h"

#include <algorithm>
#include <limits>

#include "amqp/frame.h"
#include "amqp/properties.h"
#include "perf/control.h"

namespace warren::perf {

std::vector<std::string> PublishKeys(const Options& o) {
  if (o.exchange.empty()) return o.queues;  // each message to the next queue in turn
  if (o.topic_bindings > 0) {
    std::vector<std::string> keys;
    for (int j = 0; j < o.topic_bindings; ++j) keys.push_back("perf." + std::to_string(j) + ".x");
    return keys;
  }
  if (o.routing_key_set) return {o.routing_key};
  if (o.exchange_type == "fanout" || o.exchange_type == "headers") return {""};
  return o.queues;  // the keys the queues were bound with
}

PublishTemplate EncodePublish(const Options& o, uint16_t channel, uint32_t frame_max,
                              const std::string& routing_key, uint32_t producer_id) {
  PublishTemplate t;
  amqp::BasicPublish publish;
  publish.exchange = o.exchange;
  publish.routing_key = routing_key;
  publish.mandatory = o.mandatory;
  amqp::AppendMethodFrame(t.bytes, channel, publish);
  amqp::BasicProperties props;
  if (o.persistent) props.delivery_mode = 2;
  std::string raw_props;
  amqp::EncodeProperties(props, raw_props);
  std::string body(o.body_size, '\0');
  for (int i = 0; i < 4; ++i) body[8 + i] = static_cast<char>(producer_id >> (24 - 8 * i));
  size_t header_frame = amqp::kFrameOverhead + 12 + raw_props.size();  // class, weight, size
  t.timestamp_at = t.bytes.size() + header_frame + amqp::kFrameHeaderSize;
  amqp::AppendContent(t.bytes, channel, 60, raw_props, body, frame_max);
  return t;
}

uint64_t ConfirmWindow::Settle(uint64_t tag, bool multiple, uint64_t published) {
  if (tag <= base_ || tag > published) return 0;
  const size_t w = settled_.size();
  uint64_t fresh = 0;
  if (multiple) {
    for (uint64_t t = base_ + 1; t <= tag; ++t) {
      if (!settled_[t % w]) ++fresh;
      settled_[t % w] = 0;
    }
    base_ = tag;
  } else if (!settled_[tag % w]) {
    settled_[tag % w] = 1;
    ++fresh;
  }
  while (base_ < published && settled_[(base_ + 1) % w]) {
    settled_[(base_ + 1) % w] = 0;
    ++base_;
  }
  return fresh;
}

Producer::Producer(const Options& options, uint32_t id, LoopStats& stats)
    : options_(options), id_(id), stats_(stats), random_(0x9E3779B97F4A7C15ull * (id + 1)),
      window_(options.confirm) {}

void Producer::OnOpen() {
  for (const auto& key : PublishKeys(options_))
    templates_.push_back(EncodePublish(options_, channel_, connection_->frame_max(), key, id_));
  next_ = id_ % templates_.size();
  if (options_.confirm == 0) return Begin();
  amqp::AppendMethodFrame(connection_->out(), channel_, amqp::ConfirmSelect{false});
  connection_->Flush();
}

void Producer::OnMethod(const amqp::Method& method) {
  if (std::holds_alternative<amqp::ConfirmSelectOk>(method)) Begin();
}

void Producer::Begin() {
  started_ = true;
  refilled_ns_ = MonotonicNanos();
  tokens_ = 1;
  CheckDone();  // -C 0 never gets here with work to do, but stay exact
  connection_->loop().MakeReady(this);
}

void Producer::OnWritable() {
  if (started_ && !done_) connection_->loop().MakeReady(this);
}

void Producer::OnConfirm(uint64_t tag, bool multiple, bool ack) {
  uint64_t fresh = window_.Settle(tag, multiple, published_);
  (ack ? stats_.confirmed : stats_.nacked).Add(fresh);
  CheckDone();
  if (!done_) connection_->loop().MakeReady(this);
}

void Producer::CheckDone() {
  if (done_ || options_.pmessages == 0 || published_ < options_.pmessages) return;
  if (options_.confirm > 0 && window_.base() < published_) return;
  done_ = true;
  connection_->control().ProducerDone();
}

// How many messages may go now: the count left, the confirm window's room, and
// the rate's tokens.
uint64_t Producer::Allowance(uint64_t now) {
  uint64_t n = std::numeric_limits<uint64_t>::max();
  if (options_.pmessages > 0) n = options_.pmessages - published_;
  if (options_.confirm > 0) n = std::min<uint64_t>(n, options_.confirm - (published_ - window_.base()));
  if (options_.rate > 0) {
    double burst = std::max(1.0, options_.rate / 100);  // 10 ms worth
    tokens_ = std::min(burst, tokens_ + static_cast<double>(now - refilled_ns_) * options_.rate / 1e9);
    refilled_ns_ = now;
    n = std::min(n, static_cast<uint64_t>(tokens_));
  }
  return n;
}

void Producer::Run() {
  if (!started_ || done_ || connection_->control().stopping()) return;
  uint64_t now = MonotonicNanos();
  if (timer_at_ != 0 && now >= timer_at_) timer_at_ = 0;
  if (!connection_->CanPublish()) return;  // OnWritable brings it back
  uint64_t allowed = Allowance(now);
  std::string& out = connection_->out();
  const size_t limit = out.size() + kBatchBytes;
  uint64_t sent = 0;
  // One timestamp per batch: the whole batch leaves in the same write.
  while (sent < allowed && out.size() < limit) {
    size_t pick = next_;
    if (options_.topic_bindings > 0) {
      random_ ^= random_ << 13;
      random_ ^= random_ >> 7;
      random_ ^= random_ << 17;
      pick = random_ % templates_.size();
    } else if (++next_ == templates_.size()) {
      next_ = 0;
    }
    AppendPublish(out, templates_[pick], now);
    ++sent;
  }
  published_ += sent;
  stats_.published.Add(sent);
  if (options_.rate > 0) tokens_ -= static_cast<double>(sent);
  connection_->Flush();
  CheckDone();
  if (done_ || (options_.pmessages > 0 && published_ == options_.pmessages)) return;
  if (options_.confirm > 0 && published_ - window_.base() >= options_.confirm) return;  // OnConfirm
  if (options_.rate > 0 && tokens_ < 1) {
    if (timer_at_ == 0) {
      uint64_t wait = static_cast<uint64_t>((1 - tokens_) / options_.rate * 1e9);
      timer_at_ = now + std::max<uint64_t>(wait, 1'000'000);
      connection_->loop().RunAt(timer_at_, this);
    }
    return;
  }
  if (connection_->CanPublish()) connection_->loop().MakeReady(this);
}

}  // namespace warren::perf
