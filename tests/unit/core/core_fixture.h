// The broker model's unit-test fixture: a manual clock and timer wheel
// (ManualRuntime), a consumer sink that records what it is given and lets the
// test set credit (RecordingSink), helpers to build field tables and read
// dead-letter headers, and CoreTest, a Broker with the vhost "/" plus helpers
// to declare, publish, consume and inspect.
//
// Everything is synchronous: time moves only when a test calls Advance (or
// SetNowMs), and Advance runs due timers in deadline order, including timers
// that callbacks schedule inside the window (ScheduleAfter(0) is how the
// vhost defers a queue deletion, so Advance(0) runs those).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "amqp/constants.h"
#include "amqp/field_table.h"
#include "amqp/properties.h"
#include "broker/core/broker.h"
#include "broker/core/consumer.h"
#include "broker/core/message.h"
#include "broker/core/queue.h"
#include "broker/core/vhost.h"
#include "common/config.h"
#include "common/runtime.h"
#include "manual_runtime.h"

namespace warren::core::test {

using warren::testkit::ManualRuntime;

class RecordingSink final : public ConsumerSink {
 public:
  struct Delivery {
    std::string tag;
    QueueEntry entry;
  };

  bool HasCredit(const Consumer& c) const override {
    auto it = credit_.find(&c);
    return it == credit_.end() || it->second > 0;
  }
  void Deliver(Consumer& c, QueueEntry entry) override {
    if (auto it = credit_.find(&c); it != credit_.end() && it->second > 0) --it->second;
    deliveries.push_back({c.tag(), std::move(entry)});
  }
  void Cancelled(Consumer& c) override { cancelled.push_back(c.tag()); }

  // Limits `c` to `n` more deliveries (unset: unlimited).
  void SetCredit(const Consumer& c, int n) { credit_[&c] = n; }
  void Unlimit(const Consumer& c) { credit_.erase(&c); }

  // "tag:body" for every delivery so far, in order.
  std::vector<std::string> Log() const {
    std::vector<std::string> out;
    for (const auto& d : deliveries) out.push_back(d.tag + ":" + d.entry.message->body);
    return out;
  }
  std::vector<std::string> BodiesFor(const std::string& tag) const {
    std::vector<std::string> out;
    for (const auto& d : deliveries)
      if (d.tag == tag) out.push_back(d.entry.message->body);
    return out;
  }

  std::vector<Delivery> deliveries;
  std::vector<std::string> cancelled;

 private:
  std::map<const Consumer*, int> credit_;
};

using Names = std::vector<std::string>;

inline amqp::FieldTable Table(
    std::initializer_list<std::pair<std::string, amqp::FieldValue>> entries) {
  amqp::FieldTable t;
  for (const auto& [k, v] : entries) t.Set(k, v);
  return t;
}

inline amqp::FieldValue Long(int64_t v) { return amqp::FieldValue::Long(v); }
inline amqp::FieldValue Str(std::string s) { return amqp::FieldValue::Str(std::move(s)); }
inline amqp::FieldValue Bool(bool b) { return amqp::FieldValue::Bool(b); }

// Header `key` as a string, or "<missing>" / "<not a string>".
inline std::string HeaderStr(const amqp::FieldTable& t, std::string_view key) {
  const amqp::FieldValue* v = t.Find(key);
  if (!v) return "<missing>";
  const std::string* s = v->AsString();
  return s ? *s : "<not a string>";
}

inline uint16_t Code(amqp::ReplyCode c) { return static_cast<uint16_t>(c); }

// The x-death array of `m`, newest death first (empty when absent).
inline amqp::FieldArray Deaths(const Message& m) {
  const amqp::BasicProperties props = m.properties();
  if (!props.headers) return {};
  const amqp::FieldValue* v = props.headers->Find("x-death");
  return v && v->AsArray() ? *v->AsArray() : amqp::FieldArray{};
}

// Entry `i` of an x-death array (fails the test when there is none).
inline const amqp::FieldTable& Entry(const amqp::FieldArray& deaths, size_t i) {
  static const amqp::FieldTable kEmpty;
  if (i >= deaths.size() || !deaths[i].AsTable()) {
    ADD_FAILURE() << "no x-death entry " << i;
    return kEmpty;
  }
  return *deaths[i].AsTable();
}

// The "count" of an x-death entry, or -1.
inline int64_t Count(const amqp::FieldTable& death) {
  const amqp::FieldValue* c = death.Find("count");
  return c && c->AsInt() ? *c->AsInt() : -1;
}

class CoreTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kConn = 1;

  CoreTest() : broker_(runtime_, config_) {
    EXPECT_TRUE(broker_.AddVHost("/").ok());
    vh_ = broker_.FindVHost("/");
  }

  // Consumers are owned here so TearDown can detach them before the queue
  // (which keeps raw pointers to them) is destroyed with the vhost.
  void TearDown() override {
    for (auto& c : consumers_)
      if (c->queue && !c->queue->deleted()) c->queue->RemoveConsumer(c.get());
    consumers_.clear();
  }

  Result<QueueDeclared> TryDeclare(const std::string& name, amqp::FieldTable args = {},
                                   bool durable = false, bool exclusive = false,
                                   bool auto_delete = false, uint64_t conn = kConn) {
    QueueDeclare d;
    d.name = name;
    d.durable = durable;
    d.exclusive = exclusive;
    d.auto_delete = auto_delete;
    d.arguments = std::move(args);
    return vh_->DeclareQueue(d, conn);
  }

  // Declares and returns the queue; fails the test when refused.
  std::shared_ptr<Queue> DeclareQueue(const std::string& name, amqp::FieldTable args = {},
                                      bool auto_delete = false) {
    auto r = TryDeclare(name, std::move(args), false, false, auto_delete);
    EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().text);
    return r.ok() ? vh_->FindQueue(r.value().name) : nullptr;
  }

  Status DeclareExchange(const std::string& name, const std::string& type,
                         amqp::FieldTable args = {}, bool auto_delete = false,
                         bool durable = false) {
    ExchangeDeclare d;
    d.name = name;
    d.type = type;
    d.options.durable = durable;
    d.options.auto_delete = auto_delete;
    d.options.arguments = std::move(args);
    return vh_->DeclareExchange(d);
  }

  void Bind(const std::string& queue, const std::string& exchange, const std::string& key) {
    Status s = vh_->BindQueue(queue, exchange, key, {}, kConn);
    EXPECT_TRUE(s.ok()) << queue << "<-" << exchange << ": " << s.error().text;
  }

  static MessagePtr Msg(const std::string& exchange, const std::string& key,
                        const std::string& body, amqp::BasicProperties props = {}) {
    return MakeMessage(exchange, key, std::move(props), body);
  }

  // Publishes through `exchange` ("" = the default exchange).
  PublishOutcome Publish(const std::string& exchange, const std::string& key,
                         const std::string& body, amqp::BasicProperties props = {}) {
    Exchange* e = nullptr;
    if (!exchange.empty()) {
      e = vh_->FindExchange(exchange);
      EXPECT_NE(e, nullptr) << "no exchange " << exchange;
    }
    return vh_->Publish(e, Msg(exchange, key, body, std::move(props)));
  }

  static amqp::BasicProperties Expiring(const std::string& ms) {
    amqp::BasicProperties p;
    p.expiration = ms;
    return p;
  }
  static amqp::BasicProperties WithPriority(uint8_t prio) {
    amqp::BasicProperties p;
    p.priority = prio;
    return p;
  }

  std::shared_ptr<Consumer> Consume(const std::shared_ptr<Queue>& q, const std::string& tag,
                                    bool no_ack = true, bool exclusive = false,
                                    int priority = 0) {
    auto c = std::make_shared<Consumer>(sink_, tag, no_ack, exclusive, priority);
    c->queue = q;
    Status s = q->CanAddConsumer(exclusive);
    EXPECT_TRUE(s.ok()) << tag << ": " << s.error().text;
    if (s.ok()) {
      q->AddConsumer(c.get());
      consumers_.push_back(c);
    }
    return c;
  }

  void Cancel(const std::shared_ptr<Consumer>& c) {
    c->queue->RemoveConsumer(c.get());
    std::erase(consumers_, c);
  }

  // Takes every ready message with basic.get (no-ack) and returns the bodies.
  static Names Drain(Queue& q) {
    Names out;
    while (auto e = q.Get(true)) out.push_back(e->message->body);
    return out;
  }

  // The one ready message of `q` (fails the test unless there is one).
  static MessagePtr Only(Queue& q) {
    EXPECT_EQ(q.ready_count(), 1u) << q.name();
    auto e = q.Get(true);
    return e ? e->message : nullptr;
  }

  ManualRuntime runtime_;
  RecordingSink sink_;
  NodeConfig config_;
  Broker broker_;
  VHost* vh_ = nullptr;
  std::vector<std::shared_ptr<Consumer>> consumers_;
};

}  // namespace warren::core::test
