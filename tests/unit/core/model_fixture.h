// Shared fixture for the broker-model tests: a manual clock, a recording
// consumer sink, and a Broker with vhost "/" plus small helpers.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "amqp/field_table.h"
#include "amqp/properties.h"
#include "broker/core/broker.h"
#include "broker/core/consumer.h"
#include "broker/core/message.h"
#include "broker/core/queue.h"
#include "broker/core/vhost.h"
#include "common/config.h"
#include "common/runtime.h"
#include "core/core_fixture.h"

namespace warren::core::model_test {

using ManualRuntime = test::ManualRuntime;

// Records deliveries and cancellations; credit is settable per sink.
class RecordingSink : public ConsumerSink {
 public:
  struct Delivery {
    std::string tag;
    QueueEntry entry;
  };

  // Negative: unlimited. Otherwise the number of further deliveries allowed.
  int credit = -1;
  std::vector<Delivery> deliveries;
  std::vector<std::string> cancelled;

  bool HasCredit(const Consumer&) const override { return credit != 0; }
  void Deliver(Consumer& c, QueueEntry entry) override {
    if (credit > 0) --credit;
    deliveries.push_back({c.tag(), std::move(entry)});
  }
  void Cancelled(Consumer& c) override { cancelled.push_back(c.tag()); }

  std::vector<std::string> Bodies() const {
    std::vector<std::string> out;
    for (const auto& d : deliveries) out.push_back(d.entry.message->body);
    return out;
  }
  std::vector<std::string> Tags() const {
    std::vector<std::string> out;
    for (const auto& d : deliveries) out.push_back(d.tag);
    return out;
  }
  // Takes the recorded entries (to requeue, reject, ack).
  std::vector<QueueEntry> TakeEntries() {
    std::vector<QueueEntry> out;
    for (auto& d : deliveries) out.push_back(std::move(d.entry));
    deliveries.clear();
    return out;
  }
};

using Strings = std::vector<std::string>;

inline amqp::FieldTable Args(
    std::initializer_list<std::pair<std::string, amqp::FieldValue>> entries) {
  amqp::FieldTable t;
  for (const auto& [k, v] : entries) t.Set(k, v);
  return t;
}
inline amqp::FieldValue L(int64_t v) { return amqp::FieldValue::Long(v); }
inline amqp::FieldValue S(std::string v) { return amqp::FieldValue::Str(std::move(v)); }
inline amqp::FieldValue B(bool v) { return amqp::FieldValue::Bool(v); }

class ModelTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kConn = 1;
  static constexpr uint64_t kOtherConn = 2;

  ModelTest() : broker_(rt_, NodeConfig{}) {
    EXPECT_TRUE(broker_.AddVHost("/").ok());
    vh_ = broker_.FindVHost("/");
  }

  std::shared_ptr<Queue> Declare(const std::string& name, amqp::FieldTable args = {},
                                 bool auto_delete = false, bool exclusive = false) {
    QueueDeclare d;
    d.name = name;
    d.auto_delete = auto_delete;
    d.exclusive = exclusive;
    d.arguments = std::move(args);
    auto r = vh_->DeclareQueue(d, kConn);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().text);
    return vh_->FindQueue(name);
  }

  Result<QueueDeclared> TryDeclare(const std::string& name, amqp::FieldTable args = {},
                                   uint64_t conn = kConn, bool passive = false,
                                   bool exclusive = false) {
    QueueDeclare d;
    d.name = name;
    d.passive = passive;
    d.exclusive = exclusive;
    d.arguments = std::move(args);
    return vh_->DeclareQueue(d, conn);
  }

  Status DeclareExchange(const std::string& name, const std::string& type,
                         amqp::FieldTable args = {}, bool auto_delete = false) {
    ExchangeDeclare d;
    d.name = name;
    d.type = type;
    d.options.auto_delete = auto_delete;
    d.options.arguments = std::move(args);
    return vh_->DeclareExchange(d);
  }

  void Bind(const std::string& queue, const std::string& exchange, const std::string& key) {
    Status s = vh_->BindQueue(queue, exchange, key, {}, kConn);
    ASSERT_TRUE(s.ok()) << s.error().text;
  }

  static MessagePtr Msg(const std::string& body, const std::string& exchange = "",
                        const std::string& routing_key = "",
                        std::optional<std::string> expiration = std::nullopt,
                        std::optional<uint8_t> priority = std::nullopt) {
    amqp::BasicProperties p;
    p.expiration = std::move(expiration);
    p.priority = priority;
    return MakeMessage(exchange, routing_key, std::move(p), body);
  }

  // Publishes `body` to the default exchange, addressed to `queue`.
  PublishOutcome ToQueue(const std::string& queue, const std::string& body,
                         std::optional<std::string> expiration = std::nullopt,
                         std::optional<uint8_t> priority = std::nullopt) {
    return vh_->Publish(nullptr, Msg(body, "", queue, std::move(expiration), priority));
  }

  PublishOutcome ToExchange(const std::string& exchange, const std::string& key,
                            const std::string& body) {
    Exchange* e = vh_->FindExchange(exchange);
    EXPECT_NE(e, nullptr) << exchange;
    return vh_->Publish(e, Msg(body, exchange, key));
  }

  std::shared_ptr<Consumer> Consume(const std::shared_ptr<Queue>& q, RecordingSink& sink,
                                    const std::string& tag, bool no_ack = false,
                                    bool exclusive = false, int priority = 0) {
    auto c = std::make_shared<Consumer>(sink, tag, no_ack, exclusive, priority);
    c->queue = q;
    Status s = q->CanAddConsumer(exclusive);
    EXPECT_TRUE(s.ok()) << s.error().text;
    if (s.ok()) q->AddConsumer(c.get());
    consumers_.push_back(c);
    return c;
  }

  // Drains the queue with basic.get (no_ack), returning the bodies.
  static Strings Drain(Queue& q) {
    Strings out;
    while (auto e = q.Get(true)) out.push_back(e->message->body);
    return out;
  }

  // A sink that outlives the broker (queues call Cancelled on their
  // consumers when the vhost goes away at the end of a test).
  RecordingSink& Sink() { return sinks_.emplace_back(); }

  ManualRuntime rt_;
  // Declared before broker_ so they are destroyed after it.
  std::list<RecordingSink> sinks_;
  std::vector<std::shared_ptr<Consumer>> consumers_;
  Broker broker_;
  VHost* vh_ = nullptr;
};

// Helpers to read dead-letter headers. A Message keeps its properties
// encoded; the decoded headers are kept here, by their bytes, for the whole
// test run so that the pointers the helpers below hand out stay valid.
inline const amqp::FieldTable& Headers(const Message& m) {
  static std::map<std::string, amqp::FieldTable> decoded;
  auto [it, fresh] = decoded.try_emplace(m.raw_properties);
  if (fresh) it->second = m.properties().headers.value_or(amqp::FieldTable{});
  return it->second;
}
inline std::string HeaderStr(const Message& m, const std::string& key) {
  const amqp::FieldValue* v = Headers(m).Find(key);
  return v && v->AsString() ? *v->AsString() : std::string("<missing>");
}
inline const amqp::FieldArray* Deaths(const Message& m) {
  const amqp::FieldValue* v = Headers(m).Find("x-death");
  return v ? v->AsArray() : nullptr;
}
inline const amqp::FieldTable* Death(const Message& m, size_t i) {
  const amqp::FieldArray* a = Deaths(m);
  return a && i < a->size() ? (*a)[i].AsTable() : nullptr;
}
inline std::string TableStr(const amqp::FieldTable& t, const std::string& key) {
  const amqp::FieldValue* v = t.Find(key);
  return v && v->AsString() ? *v->AsString() : std::string("<missing>");
}
inline std::optional<int64_t> TableInt(const amqp::FieldTable& t, const std::string& key) {
  const amqp::FieldValue* v = t.Find(key);
  return v ? v->AsInt() : std::nullopt;
}

}  // namespace warren::core::model_test
