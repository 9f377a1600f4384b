// A channel's side of queues homed on another cluster member (core/remote.h,
// docs/cluster.md "Queues across nodes"): a real node whose broker holds the
// record of a queue homed on member 2, and a fake home (core::QueueRemote)
// that answers from the node's loop a turn later, as a stream would. A client
// speaks AMQP to the node; what reaches the home and what the client gets back
// are checked:
// - a confirm waits for the home, goes out in publish order, and is a nack
//   when the home refuses or cannot be reached;
// - tx.commit-ok waits for the homes too, and a refused message fails the
//   commit as RabbitMQ does (406, partial tx completion);
// - basic.get and basic.consume deliver what the home sends, and acks,
//   rejects, cancels and a closing channel go back to the home by its ids;
// - deliveries give the home credit back;
// - a channel's global prefetch holds the home's deliveries (and their
//   credit) until acks make room, and gives back those held at a cancel;
// - an unreachable home is refused with RabbitMQ's 404 naming it;
// - queue.delete with if-empty asks the home first;
// - a reply to a direct reply-to key of another member goes to that member;
// - a congested link to the home stops the node reading the publisher until
//   it drains (flow control).
// - connection and channel limits count the other members' connections and
//   channels (CENSUS); a member that cannot be asked, or does not answer in
//   time, counts none; without a limit nobody is asked.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <tuple>

#include <gtest/gtest.h>

#include "broker/core/broker.h"
#include "broker/core/command.h"
#include "protocol/frame_harness.h"

namespace warren::protocol_test {
namespace {

using core::SettleKind;

class FakeHome final : public core::QueueRemote {
 public:
  struct Settled {
    uint64_t consumer;
    SettleKind kind;
    std::vector<uint64_t> deliveries;
    bool operator==(const Settled&) const = default;
  };

  void Attach(Runtime& runtime) { runtime_ = &runtime; }

  // What the test sets before the client acts.
  std::atomic<bool> reachable{true};
  std::atomic<bool> refuse_publishes{false};
  std::atomic<uint32_t> messages{0};  // what STAT answers
  // Publishes are answered only when the next STAT comes (on the loop).
  std::atomic<bool> hold_publishes{false};
  // The link to the home holds more than it should (Congested).
  std::atomic<bool> congested{false};
  // What member 2 answers a CENSUS with; `silent`: it never answers.
  std::atomic<uint64_t> far_vhost_connections{0}, far_user_connections{0}, far_user_channels{0};
  std::atomic<bool> silent{false};
  std::atomic<int> censuses{0};  // CENSUS requests seen

  // What the home was sent (read after a reply that follows it).
  std::vector<std::string> Published() {
    std::lock_guard lock(mu_);
    return published_;
  }
  // Waits (at most 5 s) until a caller waits for the link to drain.
  bool WaitForDrainWaiter() {
    std::unique_lock lock(mu_);
    return seen_.wait_for(lock, std::chrono::seconds(5), [&] { return drain_waits_ > 0; });
  }
  // Publishes and STATs, in the order the home got them.
  std::vector<std::string> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<Settled> Settles() {
    std::lock_guard lock(mu_);
    return settles_;
  }
  std::vector<uint64_t> Cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  uint32_t Credit() {
    std::lock_guard lock(mu_);
    return credit_;
  }

  std::string NodeName(uint64_t home) const override {
    return home == 2 ? "warren@far" : "member " + std::to_string(home);
  }
  std::vector<uint64_t> Members() const override { return {1, 2}; }
  void Publish(uint64_t, const std::string&, std::vector<std::string> queues,
               core::MessagePtr message, std::function<void(bool)> done) override {
    {
      std::lock_guard lock(mu_);
      published_.push_back(message->body);
      events_.push_back("publish " + message->body);
    }
    bool ok = reachable && !refuse_publishes && queues == std::vector<std::string>{"far"};
    if (hold_publishes) {
      held_.push_back([done, ok] { done(ok); });
      return;
    }
    Later([done, ok] { done(ok); });
  }
  bool Congested(uint64_t) const override { return congested; }
  // A congested link's waiters are released at the next STAT, as a link's
  // are once its outbox drains.
  void WhenDrained(uint64_t, std::function<void()> drained) override {
    held_.push_back(std::move(drained));
    {
      std::lock_guard lock(mu_);
      ++drain_waits_;
    }
    seen_.notify_all();
  }
  void Consume(uint64_t, core::RemoteConsume c, core::RemoteConsumerSink* sink,
               std::function<void(uint64_t, Status)> done) override {
    if (!reachable) {
      Later([done] { done(0, Status::Ok()); });
      return;
    }
    Later([this, done, sink, tag = c.tag] {
      done(kConsumer, Status::Ok());
      // Two deliveries follow the answer, as on the stream.
      sink->RemoteDeliver(kConsumer, core::MakeMessage("", "far", {}, "d1"), false, 501);
      sink->RemoteDeliver(kConsumer, core::MakeMessage("", "far", {}, "d2"), true, 502);
    });
  }
  void Credit(uint64_t, uint64_t consumer, uint32_t count) override {
    std::lock_guard lock(mu_);
    if (consumer == kConsumer) credit_ += count;
  }
  void Cancel(uint64_t, uint64_t consumer) override {
    std::lock_guard lock(mu_);
    cancelled_.push_back(consumer);
  }
  void Settle(uint64_t, uint64_t consumer, SettleKind kind,
              std::vector<uint64_t> deliveries) override {
    std::lock_guard lock(mu_);
    settles_.push_back({consumer, kind, std::move(deliveries)});
  }
  void Get(uint64_t, const std::string&, const std::string&, bool, uint64_t,
           Reply done) override {
    core::RemoteReply r = Answer();
    if (r.status.ok()) {
      r.message = core::MakeMessage("", "far", {}, "got");
      r.redelivered = true;
      r.delivery = 900;
      r.message_count = 4;
    }
    Later([done, r] { done(r); });
  }
  void Purge(uint64_t, const std::string&, const std::string&, uint64_t, Reply done) override {
    core::RemoteReply r = Answer();
    r.message_count = messages;
    Later([done, r] { done(r); });
  }
  void SyncMirrors(uint64_t, const std::string&, const std::string&, bool, Reply done) override {
    Later([done, r = Answer()] { done(r); });
  }
  void Stat(uint64_t, const std::string&, const std::string&, uint64_t, Reply done) override {
    {
      std::lock_guard lock(mu_);
      events_.push_back("stat");
    }
    for (auto& answer : held_) Later(std::move(answer));  // before this answer
    held_.clear();
    core::RemoteReply r = Answer();
    r.message_count = messages;
    r.consumer_count = 1;
    Later([done, r] { done(r); });
  }

  void Census(uint64_t member, const std::string& vhost, const std::string& user,
              Reply done) override {
    ++censuses;
    EXPECT_EQ(member, 2u);
    EXPECT_EQ(user, "guest");
    if (silent) return;
    core::RemoteReply r = Answer();
    if (r.status.ok() && vhost == "/") r.census.vhost_connections = far_vhost_connections;
    if (r.status.ok()) {
      r.census.user_connections = far_user_connections;
      r.census.user_channels = far_user_channels;
    }
    Later([done, r] { done(r); });
  }

  void DirectReply(uint64_t member, core::MessagePtr message) override {
    std::lock_guard lock(mu_);
    replies_.emplace_back(member, message->routing_key, message->body);
  }
  std::vector<std::tuple<uint64_t, std::string, std::string>> Replies() {
    std::lock_guard lock(mu_);
    return replies_;
  }

  static constexpr uint64_t kConsumer = 77;

 private:
  core::RemoteReply Answer() const {
    core::RemoteReply r;
    if (!reachable) {
      r.unreachable = true;
      r.status = Error{404, ""};
    }
    return r;
  }
  // Answers come a loop turn later, never inside the call.
  void Later(std::function<void()> fn) { runtime_->ScheduleAfter(0, std::move(fn)); }

  Runtime* runtime_ = nullptr;
  std::mutex mu_;
  std::vector<std::string> published_;
  std::vector<std::string> events_;
  int drain_waits_ = 0;
  std::condition_variable seen_;
  std::vector<Settled> settles_;
  std::vector<uint64_t> cancelled_;
  uint32_t credit_ = 0;
  std::vector<std::function<void()>> held_;  // the loop's alone
  std::vector<std::tuple<uint64_t, std::string, std::string>> replies_;
};

// A node that is member 1 of a cluster, with the durable queue "far" homed
// on member 2 and "near" homed here.
struct MemberNode {
  // `more` runs on the broker before the loop starts (limits).
  explicit MemberNode(std::function<void(core::Broker&)> more = {}) : more_(std::move(more)) {}
  std::function<void(core::Broker&)> more_;
  FakeHome home;
  TestNode node{{}, [this](Node& n) {
                  core::Broker& b = n.broker();
                  if (more_) more_(b);
                  home.Attach(b.runtime());
                  b.set_self_member(1);
                  b.set_remote(&home);
                  core::cmd::DeclareQueue far;
                  far.vhost = "/";
                  far.name = "far";
                  far.durable = true;
                  far.node = 2;
                  EXPECT_TRUE(core::Apply(b, far).status.ok());
                  core::cmd::DeclareQueue near = far;
                  near.name = "near";
                  near.node = 1;
                  EXPECT_TRUE(core::Apply(b, near).status.ok());
                }};
  ~MemberNode() { node.Stop(); }
};

class RemoteQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.Handshake());
    ASSERT_TRUE(c_.OpenChannel(1));
  }
  // A round trip on the connection: what the client sent before it has
  // been handled (and what it caused on the loop has had its turn).
  void Sync() {
    c_.SendMethod(1, amqp::BasicQos{0, 0, false});
    ASSERT_TRUE(c_.Expect<amqp::BasicQosOk>(1));
  }
  std::optional<amqp::ChannelClose> Refusal() { return c_.Expect<amqp::ChannelClose>(1); }
  // A passive queue.declare of "far": the node asks the home (STAT).
  static amqp::QueueDeclare PassiveFar() {
    amqp::QueueDeclare passive;
    passive.queue = "far";
    passive.passive = true;
    return passive;
  }
  // tx.select, a publish of each (queue, body), tx.commit; false when the
  // channel did not become transactional.
  bool Commit(const std::vector<std::pair<std::string, std::string>>& publishes) {
    c_.SendMethod(1, amqp::TxSelect{});
    if (!c_.Expect<amqp::TxSelectOk>(1)) return false;
    for (const auto& [queue, body] : publishes) c_.Send(PublishFrames(1, "", queue, body));
    c_.SendMethod(1, amqp::TxCommit{});
    return true;
  }
  // basic.qos global 1, then a consumer `tag` of "far": its first delivery
  // (d1), once the home's second (d2) has reached the channel and waits.
  std::optional<amqp::BasicDeliver> ConsumeFarOneAtATime(const std::string& tag) {
    c_.SendMethod(1, amqp::BasicQos{0, 1, true});
    if (!c_.Expect<amqp::BasicQosOk>(1)) return std::nullopt;
    amqp::BasicConsume consume;
    consume.queue = "far";
    consume.consumer_tag = tag;
    c_.SendMethod(1, consume);
    if (!c_.Expect<amqp::BasicConsumeOk>(1)) return std::nullopt;
    auto first = c_.Expect<amqp::BasicDeliver>(1);
    std::string header;
    std::vector<std::string> body;
    if (!first || !ReadContent(c_, 1, header, body)) return std::nullopt;
    EXPECT_EQ(body, std::vector<std::string>{"d1"});
    Sync();  // qos-ok before any second delivery: the home sent d2, the channel holds it
    return first;
  }

  MemberNode n_;
  RawClient c_{n_.node.port()};
};

TEST_F(RemoteQueueTest, AConfirmWaitsForTheHomeAndConfirmsGoOutInPublishOrder) {
  c_.SendMethod(1, amqp::ConfirmSelect{});
  ASSERT_TRUE(c_.Expect<amqp::ConfirmSelectOk>(1));
  // 1 goes to the home (answered a turn later), 2 stays here (at once).
  c_.Send(PublishFrames(1, "", "far", "one"));
  c_.Send(PublishFrames(1, "", "near", "two"));
  uint64_t acked = 0;
  while (acked < 2) {
    auto ack = c_.Expect<amqp::BasicAck>(1);
    ASSERT_TRUE(ack);
    ASSERT_GT(ack->delivery_tag, acked);
    // Publish 2 may not be confirmed alone before publish 1.
    if (acked == 0 && ack->delivery_tag == 2) {
      EXPECT_TRUE(ack->multiple);
    }
    acked = ack->delivery_tag;
  }
  EXPECT_EQ(n_.home.Published(), std::vector<std::string>{"one"});
}

TEST_F(RemoteQueueTest, APublishTheHomeRefusesIsNacked) {
  n_.home.refuse_publishes = true;
  c_.SendMethod(1, amqp::ConfirmSelect{});
  ASSERT_TRUE(c_.Expect<amqp::ConfirmSelectOk>(1));
  c_.Send(PublishFrames(1, "", "far", "lost?"));
  auto nack = c_.Expect<amqp::BasicNack>(1);
  ASSERT_TRUE(nack);
  EXPECT_EQ(nack->delivery_tag, 1u);
}

TEST_F(RemoteQueueTest, TxCommitOkWaitsUntilTheHomeHoldsTheCommittedMessages) {
  n_.home.hold_publishes = true;
  ASSERT_TRUE(Commit({{"far", "one"}, {"near", "two"}, {"far", "three"}}));
  Sync();  // basic.qos-ok comes first: the home has not answered
  EXPECT_EQ(n_.home.Published(), (std::vector<std::string>{"one", "three"}));
  // A passive declare of "far" asks the home, which answers the publishes first.
  c_.SendMethod(1, PassiveFar());
  ASSERT_TRUE(c_.Expect<amqp::TxCommitOk>(1));
  ASSERT_TRUE(c_.Expect<amqp::QueueDeclareOk>(1));
}

TEST_F(RemoteQueueTest, ACommitWhoseMessageTheHomeRefusedFailsAsPartial) {
  n_.home.refuse_publishes = true;
  ASSERT_TRUE(Commit({{"near", "kept"}, {"far", "refused"}}));
  auto close = Refusal();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->reply_code, 406);
  EXPECT_EQ(close->reply_text, "PRECONDITION_FAILED - partial tx completion");
  EXPECT_EQ(close->class_id, 90);
  EXPECT_EQ(close->method_id, 20);
}

TEST_F(RemoteQueueTest, ACongestedLinkStopsReadingThePublisherUntilItDrains) {
  n_.home.congested = true;
  // One write: the node has the second publish in hand when the first
  // finds the link congested, and must leave it unread.
  c_.Send(PublishFrames(1, "", "far", "first") + PublishFrames(1, "", "far", "second"));
  ASSERT_TRUE(n_.home.WaitForDrainWaiter()) << "the congested link was not waited for";
  ASSERT_EQ(n_.home.Published(), std::vector<std::string>{"first"});
  n_.home.congested = false;
  // Another client's passive declare asks the home, which drains the link.
  RawClient other{n_.node.port()};
  ASSERT_TRUE(other.Handshake() && other.OpenChannel(1));
  other.SendMethod(1, PassiveFar());
  ASSERT_TRUE(other.Expect<amqp::QueueDeclareOk>(1));
  Sync();  // the publisher's connection reads on
  EXPECT_EQ(n_.home.Events(),
            (std::vector<std::string>{"publish first", "stat", "publish second"}))
      << "the second publish waited for the link to drain";
}

TEST_F(RemoteQueueTest, GetDeliversWhatTheHomeSentAndTheAckGoesBackByTheHomesId) {
  amqp::BasicGet get;
  get.queue = "far";
  c_.SendMethod(1, get);
  auto ok = c_.Expect<amqp::BasicGetOk>(1);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->redelivered);
  EXPECT_EQ(ok->message_count, 4u);
  std::string header;
  std::vector<std::string> body;
  ASSERT_TRUE(ReadContent(c_, 1, header, body));
  EXPECT_EQ(body, std::vector<std::string>{"got"});
  c_.SendMethod(1, amqp::BasicAck{ok->delivery_tag, false});
  Sync();
  EXPECT_EQ(n_.home.Settles(),
            (std::vector<FakeHome::Settled>{{0, SettleKind::kAck, {900}}}));
}

TEST_F(RemoteQueueTest, ConsumeOkComesFromTheHomeAndCancelAndCloseGoBackToIt) {
  amqp::BasicConsume consume;
  consume.queue = "far";
  consume.consumer_tag = "mine";
  c_.SendMethod(1, consume);
  auto ok = c_.Expect<amqp::BasicConsumeOk>(1);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->consumer_tag, "mine");
  std::vector<uint64_t> tags;
  for (const char* want : {"d1", "d2"}) {
    auto d = c_.Expect<amqp::BasicDeliver>(1);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->consumer_tag, "mine");
    EXPECT_EQ(d->redelivered, std::string(want) == "d2");
    std::string header;
    std::vector<std::string> body;
    ASSERT_TRUE(ReadContent(c_, 1, header, body));
    EXPECT_EQ(body, std::vector<std::string>{want});
    tags.push_back(d->delivery_tag);
  }
  // Reject the first without requeue; cancel; the second goes back on close.
  c_.SendMethod(1, amqp::BasicReject{tags[0], false});
  c_.SendMethod(1, amqp::BasicCancel{"mine", false});
  ASSERT_TRUE(c_.Expect<amqp::BasicCancelOk>(1));
  EXPECT_EQ(n_.home.Cancelled(), std::vector<uint64_t>{FakeHome::kConsumer});
  EXPECT_EQ(n_.home.Credit(), 2u) << "each delivery taken gives the home one credit";
  c_.SendMethod(1, amqp::ChannelClose{200, "bye", 0, 0});
  ASSERT_TRUE(c_.Expect<amqp::ChannelCloseOk>(1));
  ASSERT_TRUE(c_.OpenChannel(1));
  Sync();
  EXPECT_EQ(n_.home.Settles(),
            (std::vector<FakeHome::Settled>{{FakeHome::kConsumer, SettleKind::kReject, {501}},
                                            {FakeHome::kConsumer, SettleKind::kRequeue, {502}}}));
}

TEST_F(RemoteQueueTest, AChannelsGlobalPrefetchHoldsTheHomesDeliveriesUntilAcked) {
  auto first = ConsumeFarOneAtATime("one-at-a-time");
  ASSERT_TRUE(first);
  EXPECT_EQ(n_.home.Credit(), 1u) << "no credit for a delivery the client has not had";
  c_.SendMethod(1, amqp::BasicAck{first->delivery_tag, false});
  auto second = c_.Expect<amqp::BasicDeliver>(1);
  ASSERT_TRUE(second);
  std::string header;
  std::vector<std::string> body;
  ASSERT_TRUE(ReadContent(c_, 1, header, body));
  EXPECT_EQ(body, std::vector<std::string>{"d2"});
  EXPECT_TRUE(second->redelivered);
  Sync();
  EXPECT_EQ(n_.home.Credit(), 2u);
}

TEST_F(RemoteQueueTest, ARecoverMakesRoomForADeliveryTheGlobalPrefetchHeld) {
  ASSERT_TRUE(ConsumeFarOneAtATime("recovering"));
  c_.SendMethod(1, amqp::BasicRecover{true});
  auto held = c_.Expect<amqp::BasicDeliver>(1);
  ASSERT_TRUE(held) << "d2 comes once d1 went back, with no ack";
  std::string header;
  std::vector<std::string> body;
  ASSERT_TRUE(ReadContent(c_, 1, header, body));
  EXPECT_EQ(body, std::vector<std::string>{"d2"});
  ASSERT_TRUE(c_.Expect<amqp::BasicRecoverOk>(1));
  EXPECT_EQ(n_.home.Settles(),
            (std::vector<FakeHome::Settled>{{FakeHome::kConsumer, SettleKind::kRequeue, {501}}}));
}

TEST_F(RemoteQueueTest, DeliveriesHeldByTheGlobalPrefetchGoBackToTheHomeOnCancel) {
  ASSERT_TRUE(ConsumeFarOneAtATime("leaving"));
  c_.SendMethod(1, amqp::BasicCancel{"leaving", false});
  ASSERT_TRUE(c_.Expect<amqp::BasicCancelOk>(1));
  // d2 never reached the client: the home has it back; d1 stays unacked.
  EXPECT_EQ(n_.home.Settles(),
            (std::vector<FakeHome::Settled>{{FakeHome::kConsumer, SettleKind::kRequeue, {502}}}));
}

TEST_F(RemoteQueueTest, AReplyToAConsumerOfAnotherMemberGoesToThatMember) {
  // Member 2's key goes there; a key of this member (1) that no consumer
  // holds, and one naming no member, are unroutable here: returned.
  c_.Send(PublishFrames(1, "", "amq.rabbitmq.reply-to.2.00ff.7", "answer", NoProperties(),
                        131072, true));
  c_.Send(PublishFrames(1, "", "amq.rabbitmq.reply-to.1.00ff.8", "lost", NoProperties(),
                        131072, true));
  c_.Send(PublishFrames(1, "", "amq.rabbitmq.reply-to.x.00ff.9", "junk", NoProperties(),
                        131072, true));
  std::vector<std::string> returned;
  for (int i = 0; i < 2; ++i) {
    auto r = c_.Expect<amqp::BasicReturn>(1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->reply_code, 312);
    std::string header;
    std::vector<std::string> body;
    ASSERT_TRUE(ReadContent(c_, 1, header, body));
    returned.push_back(body.empty() ? "" : body[0]);
  }
  Sync();  // no third return
  EXPECT_EQ(returned, (std::vector<std::string>{"lost", "junk"}));
  EXPECT_EQ(n_.home.Replies(), (std::vector<std::tuple<uint64_t, std::string, std::string>>{
                                   {2, "amq.rabbitmq.reply-to.2.00ff.7", "answer"}}));
}

TEST_F(RemoteQueueTest, AnUnreachableHomeIsRefusedWith404NamingIt) {
  n_.home.reachable = false;
  c_.SendMethod(1, PassiveFar());
  auto close = Refusal();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->reply_code, 404);
  EXPECT_EQ(close->reply_text,
            "NOT_FOUND - home node 'warren@far' of durable queue 'far' in vhost '/' is down or "
            "inaccessible");
  EXPECT_EQ(close->class_id, 50);
  EXPECT_EQ(close->method_id, 10);
  c_.SendMethod(1, amqp::ChannelCloseOk{});
  ASSERT_TRUE(c_.OpenChannel(1));
  amqp::BasicConsume consume;
  consume.queue = "far";
  c_.SendMethod(1, consume);
  EXPECT_TRUE(c_.ExpectChannelClose(1, 404, 60, 20));
  c_.SendMethod(1, amqp::ChannelCloseOk{});
  ASSERT_TRUE(c_.OpenChannel(1));
  c_.SendMethod(1, amqp::ConfirmSelect{});
  ASSERT_TRUE(c_.Expect<amqp::ConfirmSelectOk>(1));
  c_.Send(PublishFrames(1, "", "far", "nowhere"));
  EXPECT_TRUE(c_.Expect<amqp::BasicNack>(1));
}

TEST_F(RemoteQueueTest, DeleteIfEmptyAsksTheHomeFirst) {
  n_.home.messages = 3;
  amqp::QueueDelete del;
  del.queue = "far";
  del.if_empty = true;
  c_.SendMethod(1, del);
  EXPECT_TRUE(c_.ExpectChannelClose(1, 406, 50, 40));
  c_.SendMethod(1, amqp::ChannelCloseOk{});
  ASSERT_TRUE(c_.OpenChannel(1));
  amqp::QueuePurge purge;
  purge.queue = "far";
  c_.SendMethod(1, purge);
  auto purged = c_.Expect<amqp::QueuePurgeOk>(1);
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged->message_count, 3u);
  del.if_empty = false;
  c_.SendMethod(1, del);
  auto deleted = c_.Expect<amqp::QueueDeleteOk>(1);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->message_count, 3u) << "what the home held";
  c_.SendMethod(1, PassiveFar());
  EXPECT_TRUE(c_.ExpectChannelClose(1, 404, 50, 10)) << "the record is gone";
}

// Limits that count the whole cluster's connections and channels
// (docs/access.md, "Limits in a cluster"): member 2 answers CENSUS with
// what the test sets.
std::function<void(core::Broker&)> Limits(core::UserLimits user, int64_t vhost_connections = -1) {
  return [user, vhost_connections](core::Broker& b) {
    EXPECT_TRUE(core::Apply(b, core::cmd::SetUserLimits{"guest", user}).status.ok());
    if (vhost_connections >= 0)
      EXPECT_TRUE(core::Apply(b, core::cmd::SetParameter{"vhost-limits", "/", "limits",
                                                          "{\"max-connections\": " +
                                                              std::to_string(vhost_connections) +
                                                              "}"})
                      .status.ok());
  };
}

// Logs in and sends connection.open of "/": the code and text of the
// connection.close refusing it ("" when none came).
std::string OpenRefusal(RawClient& c) {
  c.SendHeader();
  if (!c.ExpectStart()) return "";
  c.SendStartOk("PLAIN", RawClient::Plain("guest", "guest"));
  auto tune = c.ExpectTune();
  if (!tune) return "";
  c.SendTuneOk(tune->channel_max, tune->frame_max, 0);
  c.SendOpen("/");
  auto close = c.Expect<amqp::ConnectionClose>(0);
  return close ? std::to_string(close->reply_code) + " " + close->reply_text : "";
}

TEST(ClusterLimitTest, AUserConnectionLimitCountsTheOtherMembersConnections) {
  MemberNode n(Limits({{"max-connections", 3}}));
  n.home.far_user_connections = 2;
  RawClient first(n.node.port());
  ASSERT_TRUE(first.Handshake()) << "2 elsewhere + 0 here < 3";
  RawClient second(n.node.port());
  EXPECT_EQ(OpenRefusal(second),
            "530 NOT_ALLOWED - connection refused for user 'guest': user connection limit (3) "
            "is reached");
  EXPECT_EQ(n.home.censuses, 2);
  // The first connection still works.
  EXPECT_TRUE(first.OpenChannel(1));
}

TEST(ClusterLimitTest, AVHostConnectionLimitCountsTheOtherMembersConnections) {
  MemberNode n(Limits({}, 2));
  n.home.far_vhost_connections = 2;
  RawClient c(n.node.port());
  EXPECT_EQ(OpenRefusal(c),
            "530 NOT_ALLOWED - access to vhost '/' refused for user 'guest': connection limit "
            "(2) is reached");
  // Fewer elsewhere: admitted.
  n.home.far_vhost_connections = 1;
  RawClient again(n.node.port());
  EXPECT_TRUE(again.Handshake());
}

TEST(ClusterLimitTest, AUserChannelLimitCountsTheOtherMembersChannels) {
  MemberNode n(Limits({{"max-channels", 3}}));
  n.home.far_user_channels = 2;
  RawClient c(n.node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1)) << "2 elsewhere + 0 here < 3";
  c.SendMethod(2, amqp::ChannelOpen{});
  EXPECT_TRUE(c.ExpectConnectionClose(530, 20, 10));
}

TEST(ClusterLimitTest, AMemberThatCannotBeAskedCountsNone) {
  // As RabbitMQ: a node that does not answer adds nothing (and is logged).
  MemberNode n(Limits({{"max-connections", 1}, {"max-channels", 1}}));
  n.home.reachable = false;
  n.home.far_user_connections = 5;
  n.home.far_user_channels = 5;
  RawClient c(n.node.port());
  ASSERT_TRUE(c.Handshake());
  EXPECT_TRUE(c.OpenChannel(1));
  EXPECT_EQ(n.home.censuses, 2);
}

TEST(ClusterLimitTest, AMemberThatDoesNotAnswerCountsNoneOnceTheDeadlinePasses) {
  MemberNode n(Limits({{"max-connections", 1}}));
  n.home.silent = true;
  n.home.far_user_connections = 5;
  RawClient c(n.node.port());
  // connection.open-ok comes after Broker::kCensusTimeoutMs, not never.
  EXPECT_TRUE(c.Handshake());
  EXPECT_EQ(n.home.censuses, 1);
}

TEST(ClusterLimitTest, WithoutALimitNoMemberIsAsked) {
  MemberNode n;
  n.home.far_user_connections = 5;
  RawClient c(n.node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  EXPECT_EQ(n.home.censuses, 0);
}

}  // namespace
}  // namespace warren::protocol_test
