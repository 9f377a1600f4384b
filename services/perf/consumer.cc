#include "perf/consumer.h"

#include "perf/control.h"

namespace warren::perf {

Consumer::Consumer(const Options& options, std::string queue, LoopStats& stats)
    : options_(options), queue_(std::move(queue)), stats_(stats) {}

void Consumer::OnOpen() {
  std::string& out = connection_->out();
  if (options_.qos > 0) amqp::AppendMethodFrame(out, channel_, amqp::BasicQos{0, options_.qos, false});
  amqp::BasicConsume consume;
  consume.queue = queue_;
  consume.no_ack = options_.autoack;
  amqp::AppendMethodFrame(out, channel_, consume);
  connection_->Flush();
}

void Consumer::OnMethod(const amqp::Method& method) {
  if (const auto* ok = std::get_if<amqp::BasicConsumeOk>(&method)) {
    consumer_tag_ = ok->consumer_tag;
    connection_->control().ConsumerReady();
    return;
  }
  // A basic.cancel from the server: the queue went away under us.
  if (std::holds_alternative<amqp::BasicCancel>(method) && !connection_->control().stopping())
    connection_->control().Fail("the server cancelled the consumer on queue " + queue_);
}

void Consumer::OnDelivery(uint64_t tag, uint64_t sent_ns) {
  std::string& out = connection_->out();
  if (done_) {  // past -D: give it back for the other consumers
    if (!options_.autoack) amqp::AppendMethodFrame(out, channel_, amqp::BasicReject{tag, true});
    return;
  }
  uint64_t now = connection_->read_ns();
  stats_.latency.Record(now > sent_ns ? (now - sent_ns) / 1000 : 0);
  stats_.consumed.Add(1);
  ++received_;
  if (!options_.autoack) {
    if (options_.multi_ack_every == 0) {
      amqp::AppendMethodFrame(out, channel_, amqp::BasicAck{tag, false});
    } else {
      last_tag_ = tag;
      if (++unacked_ >= options_.multi_ack_every) AckPending();
    }
  }
  if (options_.cmessages > 0 && received_ == options_.cmessages) Finish();
}

void Consumer::AckPending() {
  if (unacked_ == 0) return;
  amqp::AppendMethodFrame(connection_->out(), channel_, amqp::BasicAck{last_tag_, true});
  unacked_ = 0;
}

void Consumer::Finish() {
  AckPending();
  done_ = true;
  amqp::AppendMethodFrame(connection_->out(), channel_, amqp::BasicCancel{consumer_tag_, false});
  connection_->control().ConsumerDone();
}

}  // namespace warren::perf
