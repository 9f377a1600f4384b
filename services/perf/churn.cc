#include "perf/churn.h"

#include "perf/control.h"
#include "perf/producer.h"

namespace warren::perf {

class ChurnProducer::Channel : public ChannelRole {
 public:
  explicit Channel(ChurnProducer& owner) : owner_(owner) {}
  void OnOpen() override {
    amqp::AppendMethodFrame(connection_->out(), channel_, amqp::ConfirmSelect{false});
    connection_->Flush();
  }
  void OnMethod(const amqp::Method& method) override {
    if (std::holds_alternative<amqp::ConfirmSelectOk>(method)) owner_.Publish(*this);
  }
  void OnConfirm(uint64_t, bool, bool ack) override { owner_.Settled(ack); }
  void OnReturn() override { owner_.stats_.returned.Add(1); }
  Connection& connection() { return *connection_; }
  uint16_t channel() const { return channel_; }

 private:
  ChurnProducer& owner_;
};

ChurnProducer::ChurnProducer(Loop& loop, RunControl& control, const Endpoint& endpoint,
                             const Options& options, uint32_t id, LoopStats& stats)
    : loop_(loop), control_(control), endpoint_(endpoint), options_(options), id_(id), stats_(stats),
      keys_(PublishKeys(options)), next_key_(id % keys_.size()) {}

void ChurnProducer::Run() {
  finished_.reset();
  if (stopped_ || control_.stopping() || control_.failed()) return;
  connection_ = std::make_unique<Connection>(loop_, control_, endpoint_,
                                             "warren-perf churn " + std::to_string(id_));
  connection_->AddChannel(std::make_unique<Channel>(*this));
  connection_->set_on_closed([this] { Closed(); });
  connection_->Start();
}

void ChurnProducer::Publish(Channel& channel) {
  const std::string& key = keys_[next_key_];
  next_key_ = (next_key_ + 1) % keys_.size();
  PublishTemplate t = EncodePublish(options_, channel.channel(), channel.connection().frame_max(), key, id_);
  AppendPublish(channel.connection().out(), t, MonotonicNanos());
  channel.connection().Flush();
  stats_.published.Add(1);
}

void ChurnProducer::Settled(bool ack) {
  (ack ? stats_.confirmed : stats_.nacked).Add(1);
  settled_ = true;
  connection_->Close();
}

// Runs inside the connection's own call stack: keep it alive until Run().
void ChurnProducer::Closed() {
  bool complete = settled_;
  settled_ = false;
  finished_ = std::move(connection_);
  if (!complete || control_.failed()) return;  // stopped or failed mid-cycle
  stats_.connections.Add(1);
  ++cycles_;
  if (options_.pmessages > 0 && cycles_ == options_.pmessages) {
    stopped_ = true;
    control_.ProducerDone();
    return;
  }
  loop_.MakeReady(this);
}

void ChurnProducer::Stop() {
  stopped_ = true;
  if (connection_) connection_->Close();
}

}  // namespace warren::perf
