#include "perf/setup.h"

#include "perf/control.h"

namespace warren::perf {

std::string TopicPattern(int i) { return "perf." + std::to_string(i) + (i % 2 == 0 ? ".*" : ".#"); }

void Setup::OnOpen() {
  std::string& out = connection_->out();
  const std::string& exchange = options_.exchange;
  if (!exchange.empty() && exchange.rfind("amq.", 0) != 0) {
    amqp::ExchangeDeclare declare;
    declare.exchange = exchange;
    declare.type = options_.exchange_type;
    amqp::AppendMethodFrame(out, channel_, declare);
    ++awaiting_;
  }
  for (const auto& queue : options_.queues) {
    amqp::QueueDeclare declare;
    declare.queue = queue;
    declare.durable = true;
    declare.auto_delete = options_.auto_delete;
    if (options_.quorum) declare.arguments.Set("x-queue-type", amqp::FieldValue::Str("quorum"));
    amqp::AppendMethodFrame(out, channel_, declare);
    ++awaiting_;
  }
  if (!exchange.empty()) {
    for (const auto& queue : options_.queues) {
      std::vector<std::string> keys;
      if (options_.topic_bindings > 0) {
        for (int i = 0; i < options_.topic_bindings; ++i) keys.push_back(TopicPattern(i));
      } else {
        keys.push_back(options_.routing_key_set ? options_.routing_key : queue);
      }
      for (auto& key : keys) {
        amqp::QueueBind bind;
        bind.queue = queue;
        bind.exchange = exchange;
        bind.routing_key = std::move(key);
        amqp::AppendMethodFrame(out, channel_, bind);
        ++awaiting_;
      }
    }
  }
  connection_->Flush();
}

void Setup::OnMethod(const amqp::Method& method) {
  if (!std::holds_alternative<amqp::ExchangeDeclareOk>(method) &&
      !std::holds_alternative<amqp::QueueDeclareOk>(method) && !std::holds_alternative<amqp::QueueBindOk>(method))
    return;
  if (--awaiting_ > 0) return;
  connection_->control().SetupDone();
  connection_->Close();
}

}  // namespace warren::perf
