// The home's side of queues across nodes (cluster/queue_home.h), driven
// frame by frame as a caller's Cluster.Queues stream would, with the link's
// outbox read back as the caller would read the home's frames. The model is
// a Broker on a manual clock (no store, no sockets).
//
// What it proves: each op is carried out on the local queue and answered as
// docs/cluster.md says (a consume's answer before its first delivery,
// deliveries within credit and prefetch, gets set aside until settled); when
// the stream ends, what the caller held goes back; a forwarded metadata change
// is answered whenever the gate answers it; and ops a peer could send
// to break a node (names past their bound, properties that do not decode, a
// queue homed elsewhere, unknown delivery ids, a frame of too many ops) are
// refused or ignored without changing a queue.
#include "broker/cluster/queue_home.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/cluster/forwarding.h"
#include "broker/cluster/queue_wire.h"
#include "broker/core/broker.h"
#include "broker/core/command.h"
#include "common/config.h"
#include "../fuzz/queue_home_frames.h"
#include "fuzz_seeds.h"
#include "manual_runtime.h"

namespace warren::cluster {
namespace {

using Op = v1::QueueOp;
using fuzz::Consume;
using fuzz::Publish;
using fuzz::Request;
using fuzz::Settle;
using testkit::ManualRuntime;

class QueueHomeTest : public ::testing::Test {
 protected:
  QueueHomeTest() : broker_(runtime_, config_) {
    EXPECT_TRUE(broker_.AddVHost("/").ok());
    broker_.set_self_member(1);
    link_ = std::make_shared<HomeLink>("warren@caller");
    home_ = std::make_unique<QueueHome>(
        broker_, [this](std::function<void()> fn) { runtime_.ScheduleAfter(0, std::move(fn)); },
        [this](std::string command, std::function<void(ForwardResult)> reply) {
          proposed_.push_back(command);
          replies_.push_back(std::move(reply));
        },
        [this](const std::string& caller) {
          renewals_.push_back(caller);
          return grant_;
        });
  }
  ~QueueHomeTest() override {
    home_.reset();
  }

  void Declare(const std::string& name, uint64_t node = 1) {
    core::cmd::DeclareQueue d;
    d.vhost = "/";
    d.name = name;
    d.node = node;
    ASSERT_TRUE(core::Apply(broker_, d).status.ok());
  }
  std::shared_ptr<core::Queue> Queue(const std::string& name) {
    return broker_.FindVHost("/")->FindQueue(name);
  }
  void PublishHere(const std::string& queue, const std::string& body) {
    broker_.FindVHost("/")->PublishTo({queue}, core::MakeMessage("", queue, {}, body));
  }

  // One frame from the caller.
  void Send(std::vector<Op> ops) {
    v1::QueueFrame frame;
    for (Op& op : ops) *frame.add_ops() = std::move(op);
    home_->Receive(link_, &frame);
    runtime_.Advance(0);
  }
  // What the home sent since the last call.
  std::vector<Op> Sent() {
    std::vector<Op> out;
    for (;;) {
      std::vector<Op> frame = link_->TakeQueued();
      if (frame.empty()) return out;
      for (Op& op : frame) out.push_back(std::move(op));
    }
  }

  NodeConfig config_;
  ManualRuntime runtime_;
  core::Broker broker_;
  std::shared_ptr<HomeLink> link_;
  std::vector<std::string> proposed_;  // PROPOSE ops handed to the leader's gate
  std::vector<std::function<void(ForwardResult)>> replies_;
  std::vector<std::string> renewals_;  // LEASE ops, by the caller's proven name
  std::optional<uint64_t> grant_ = 42;  // LEASE: granted, with this commit index
  std::unique_ptr<QueueHome> home_;
};

TEST_F(QueueHomeTest, APublishIsEnqueuedOnTheNamedQueueAndAnswered) {
  Declare("q");
  Send({Publish(7, "q", "hello")});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind(), Op::REPLY);
  EXPECT_EQ(sent[0].id(), 7u);
  EXPECT_TRUE(sent[0].through());
  EXPECT_EQ(sent[0].code(), 0u);
  EXPECT_EQ(Queue("q")->ready_count(), 1u);
}

TEST_F(QueueHomeTest, HeldPublishesAreAnsweredTogetherAndARefusedOneAloneAfterThoseBeforeIt) {
  Declare("q");
  Op bad = Publish(3, "q", "x");
  bad.mutable_message()->set_properties(std::string("\xff\xff", 2));
  Send({Publish(1, "q", "a"), Publish(2, "q", "b"), bad, Publish(4, "q", "c"),
        Publish(5, "q", "d")});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_TRUE(sent[0].through());
  EXPECT_EQ(sent[0].id(), 2u) << "1 and 2, before the refusal of 3";
  EXPECT_FALSE(sent[1].through());
  EXPECT_EQ(sent[1].id(), 3u);
  EXPECT_NE(sent[1].code(), 0u);
  EXPECT_TRUE(sent[2].through());
  EXPECT_EQ(sent[2].id(), 5u);
  EXPECT_EQ(Queue("q")->ready_count(), 4u);
}

TEST_F(QueueHomeTest, APublishWhosePropertiesDoNotDecodeIsRefusedAndEnqueuesNothing) {
  Declare("q");
  Op bad = Publish(1, "q", "x");
  bad.mutable_message()->set_properties(std::string("\xff\xff", 2));  // flags promise more
  Op long_key = Publish(2, "q", "y");
  long_key.mutable_message()->set_routing_key(std::string(256, 'k'));
  Send({bad, long_key});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[0].code(), 0u);
  EXPECT_NE(sent[1].code(), 0u);
  EXPECT_EQ(Queue("q")->ready_count(), 0u);
}

TEST_F(QueueHomeTest, TheMessageCountersAreTheClientsNodesNotTheHomes) {
  // Counted once, by the client's channel on its own node, as RabbitMQ
  // counts its global message stats where the channel is.
  Declare("q");
  Send({Publish(1, "q", "a"), Publish(2, "q", "b"), Consume(5, "q")});
  std::vector<Op> sent = Sent();
  std::vector<uint64_t> deliveries;
  for (const Op& op : sent)
    if (op.kind() == Op::DELIVER) deliveries.push_back(op.delivery());
  ASSERT_EQ(deliveries.size(), 2u);
  Send({Settle(5, Op::ACK, deliveries)});
  const core::BrokerCounters& c = broker_.counters();
  EXPECT_EQ(c.messages_received + c.messages_routed + c.messages_delivered + c.messages_acked,
            0u);
  EXPECT_EQ(Queue("q")->ready_count() + Queue("q")->unacked_count(), 0u);
}

TEST_F(QueueHomeTest, AConsumeIsAnsweredBeforeItsFirstDeliveryAndPrefetchHoldsUntilSettled) {
  Declare("q");
  for (const char* body : {"a", "b", "c"}) PublishHere("q", body);
  Send({Consume(5, "q", /*prefetch=*/1)});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].kind(), Op::REPLY);
  EXPECT_EQ(sent[0].code(), 0u);
  ASSERT_EQ(sent[1].kind(), Op::DELIVER);
  EXPECT_EQ(sent[1].id(), 5u);
  EXPECT_EQ(sent[1].message().body(), "a");
  // Settled: the next one comes.
  Send({Settle(5, Op::ACK, {sent[1].delivery()})});
  sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message().body(), "b");
  EXPECT_EQ(Queue("q")->ready_count(), 1u);
}

TEST_F(QueueHomeTest, DeliveriesStopWhenTheCallersCreditIsSpentAndResumeWithCredit) {
  Declare("q");
  for (uint32_t i = 0; i < kCreditWindow + 10; ++i) PublishHere("q", std::to_string(i));
  Op consume = Consume(9, "q");
  consume.set_no_ack(true);
  Send({consume});
  EXPECT_EQ(Sent().size(), 1u + kCreditWindow) << "the answer, then a window of deliveries";
  Op credit;
  credit.set_kind(Op::CREDIT);
  credit.set_id(9);
  credit.set_count(4);
  Send({credit});
  EXPECT_EQ(Sent().size(), 4u);
  EXPECT_EQ(Queue("q")->ready_count(), 6u);
}

TEST_F(QueueHomeTest, AGetIsSetAsideUntilSettledAndTheStreamsEndRequeuesIt) {
  Declare("q");
  PublishHere("q", "only");
  Send({Request(Op::GET, 3, "q")});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].found());
  EXPECT_EQ(sent[0].message().body(), "only");
  EXPECT_EQ(sent[0].count(), 0u);
  EXPECT_EQ(Queue("q")->ready_count(), 0u);
  EXPECT_EQ(Queue("q")->unacked_count(), 1u);
  home_->Receive(link_, nullptr);  // the stream ended
  runtime_.Advance(0);
  EXPECT_EQ(Queue("q")->ready_count(), 1u) << "what the caller held went back";
  Send({Request(Op::GET, 4, "q")});
  sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].redelivered());
}

TEST_F(QueueHomeTest, TheStreamsEndRemovesItsConsumersAndRequeuesTheirDeliveries) {
  Declare("q");
  PublishHere("q", "m");
  Send({Consume(1, "q")});
  ASSERT_EQ(Sent().size(), 2u);
  EXPECT_EQ(Queue("q")->consumer_count(), 1u);
  home_->Receive(link_, nullptr);
  runtime_.Advance(0);
  EXPECT_EQ(Queue("q")->consumer_count(), 0u);
  EXPECT_EQ(Queue("q")->ready_count(), 1u);
}

TEST_F(QueueHomeTest, ADeletedQueueCancelsItsRemoteConsumers) {
  Declare("q");
  Send({Consume(2, "q")});
  Sent();
  core::cmd::DeleteQueue d{"/", "q", false, false, 0};
  ASSERT_TRUE(core::Apply(broker_, d).status.ok());
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind(), Op::CANCELLED);
  EXPECT_EQ(sent[0].id(), 2u);
}

TEST_F(QueueHomeTest, PurgeAndStatAnswerWithTheQueuesCounts) {
  Declare("q");
  PublishHere("q", "1");
  PublishHere("q", "2");
  Send({Request(Op::STAT, 1, "q"), Request(Op::PURGE, 2, "q"), Request(Op::STAT, 3, "q")});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].count(), 2u);
  EXPECT_EQ(sent[1].count(), 2u);
  EXPECT_EQ(sent[2].count(), 0u);
}

TEST_F(QueueHomeTest, ALeaseIsRenewedWithTheLeadersCommitForTheCallerTheHandshakeNamedOrRefused) {
  Op lease;
  lease.set_kind(Op::LEASE);
  lease.set_id(1);
  Send({lease});
  grant_ = std::nullopt;
  lease.set_id(2);
  Send({lease});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].code(), 0u);
  EXPECT_EQ(sent[0].index(), 42u) << "the leader's commit index, to apply before serving";
  EXPECT_EQ(sent[1].code(), 503u) << "not the leader, or no Raft lease of its own";
  EXPECT_EQ(renewals_, (std::vector<std::string>{"warren@caller", "warren@caller"}));
}

// A client connection of this node, as the census counts it.
class CountedClient final : public core::ClientConnection {
 public:
  CountedClient(std::string user, size_t channels) : user_(std::move(user)), channels_(channels) {}
  core::ConnectionInfo Describe() const override { return {}; }
  const std::string& user_name() const override { return user_; }
  size_t open_channels() const override { return channels_; }
  void ForceClose(const std::string&) override {}

 private:
  std::string user_;
  size_t channels_;
};

TEST_F(QueueHomeTest, ACensusIsAnsweredWithThisNodesConnectionsAndChannels) {
  ASSERT_TRUE(broker_.AddVHost("other").ok());
  CountedClient a("alice", 2), b("alice", 3), c("bob", 1);
  broker_.RegisterClient(1, &a);
  broker_.RegisterClient(2, &b);
  broker_.RegisterClient(3, &c);
  broker_.FindVHost("/")->ConnectionOpened();
  broker_.FindVHost("/")->ConnectionOpened();
  broker_.FindVHost("other")->ConnectionOpened();
  Op census;
  census.set_kind(Op::CENSUS);
  census.set_id(5);
  census.set_vhost("/");
  census.set_user("alice");
  Op unknown = census;
  unknown.set_id(6);
  unknown.set_vhost("nowhere");
  unknown.set_user("nobody");
  Send({census, unknown});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].kind(), Op::REPLY);
  EXPECT_EQ(sent[0].id(), 5u);
  EXPECT_EQ(sent[0].code(), 0u);
  EXPECT_EQ(sent[0].vhost_connections(), 2u);
  EXPECT_EQ(sent[0].user_connections(), 2u);
  EXPECT_EQ(sent[0].user_channels(), 5u);
  EXPECT_EQ(sent[1].id(), 6u);
  EXPECT_EQ(sent[1].code(), 0u) << "nothing of theirs here: none";
  EXPECT_EQ(sent[1].vhost_connections(), 0u);
  EXPECT_EQ(sent[1].user_connections(), 0u);
  for (uint64_t id : {1, 2, 3}) broker_.UnregisterClient(id);
}

TEST_F(QueueHomeTest, SyncRequestsGoToTheFeedsOfQueuesHomedHere) {
  Declare("q");
  Send({Request(Op::SYNC_MIRRORS, 1, "q")});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].code(), 406u) << "no feeds here: not mirrored";

  struct Feeds final : core::MirrorSync {
    std::vector<std::string> asked;
    Status SyncMirrors(const std::string& vhost, const std::string& queue, bool cancel) override {
      asked.push_back((cancel ? "cancel " : "sync ") + vhost + " " + queue);
      return {};
    }
  } feeds;
  broker_.set_mirror_sync(&feeds);
  Declare("elsewhere", /*node=*/2);
  Send({Request(Op::SYNC_MIRRORS, 2, "q"), Request(Op::CANCEL_SYNC, 3, "q"),
        Request(Op::SYNC_MIRRORS, 4, "elsewhere")});
  sent = Sent();
  broker_.set_mirror_sync(nullptr);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].code(), 0u);
  EXPECT_EQ(sent[1].code(), 0u);
  EXPECT_EQ(sent[2].code(), 404u) << "not homed here";
  EXPECT_EQ(feeds.asked, (std::vector<std::string>{"sync / q", "cancel / q"}));
}

TEST_F(QueueHomeTest, RequestsForQueuesItDoesNotHomeAreRefusedWithTheirCode) {
  Declare("elsewhere", /*node=*/2);  // a record: homed on member 2
  Op long_name = Request(Op::STAT, 2, std::string(256, 'q'));
  Op two_queues = Request(Op::GET, 3, "elsewhere");
  two_queues.add_queues("x");
  Send({Request(Op::STAT, 1, "elsewhere"), long_name, two_queues, Request(Op::PURGE, 4, "gone"),
        Consume(5, "elsewhere")});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 5u);
  EXPECT_EQ(sent[0].code(), 404u);
  EXPECT_EQ(sent[1].code(), 502u) << "a name past 255 bytes is a syntax error";
  EXPECT_EQ(sent[2].code(), 502u);
  EXPECT_EQ(sent[3].code(), 404u);
  EXPECT_EQ(sent[4].code(), 404u);
}

// Applies commands at once; barriers wait until the test releases them.
class HeldBarrierGate final : public core::MetadataGate {
 public:
  explicit HeldBarrierGate(core::Broker& broker) : local_(broker) {}
  void Submit(core::Command command, Done done) override {
    local_.Submit(std::move(command), std::move(done));
  }
  void Barrier(std::function<void()> done) override { held.push_back(std::move(done)); }
  std::vector<std::function<void()>> held;

 private:
  core::LocalGate local_;
};

TEST_F(QueueHomeTest, AStatForAQueueNotAppliedHereYetIsAnsweredAfterABarrier) {
  // The caller's node applied the declare; this member has not yet.
  HeldBarrierGate gate(broker_);
  broker_.set_metadata_gate(&gate);
  Send({Request(Op::STAT, 1, "new-q")});
  EXPECT_TRUE(Sent().empty()) << "no 404 before this member caught up";
  ASSERT_EQ(gate.held.size(), 1u);
  Declare("new-q");
  PublishHere("new-q", "a");
  gate.held[0]();
  runtime_.Advance(0);
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].code(), 0u);
  EXPECT_EQ(sent[0].count(), 1u);
  // Still unknown after the barrier: 404, with no second barrier.
  Send({Request(Op::STAT, 2, "never")});
  ASSERT_EQ(gate.held.size(), 2u);
  gate.held[1]();
  runtime_.Advance(0);
  sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].code(), 404u);
  EXPECT_EQ(gate.held.size(), 2u);
  broker_.set_metadata_gate(nullptr);
}

TEST_F(QueueHomeTest, SettlementsOfUnknownDeliveriesAndUnknownOpsChangeNothing) {
  Declare("q");
  PublishHere("q", "m");
  Op unknown;
  unknown.set_kind(Op::DELIVER);  // a home's op, sent to the home
  Op credit;
  credit.set_kind(Op::CREDIT);
  credit.set_id(99);
  credit.set_count(4000000000u);
  Send({Settle(0, Op::ACK, {1, 2, 3}), Settle(77, Op::REJECT, {9}), unknown, credit});
  EXPECT_TRUE(Sent().empty());
  EXPECT_EQ(Queue("q")->ready_count(), 1u);
}

TEST_F(QueueHomeTest, AForwardedChangeIsAnsweredWhenTheGateAnswersEvenAfterTheStreamEnded) {
  Op propose;
  propose.set_kind(Op::PROPOSE);
  propose.set_id(11);
  propose.set_command("encoded");
  Op second = propose;
  second.set_id(12);
  Send({propose, second});
  ASSERT_EQ(proposed_, (std::vector<std::string>{"encoded", "encoded"}));
  EXPECT_TRUE(Sent().empty()) << "nothing until the gate answers";
  ForwardResult committed;
  committed.index = 42;
  committed.term = 3;
  committed.outcome.message_count = 7;
  replies_[0](committed);
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].id(), 11u);
  EXPECT_EQ(sent[0].index(), 42u);
  EXPECT_EQ(sent[0].term(), 3u);
  EXPECT_EQ(sent[0].code(), 0u);
  EXPECT_EQ(sent[0].count(), 7u);
  link_->End();  // the caller went (as the stream's reactor sees it first)
  home_->Receive(link_, nullptr);
  home_.reset();
  ForwardResult refused;
  refused.outcome.status = Error{406, "PRECONDITION_FAILED - no"};
  replies_[1](refused);  // the gate answers later all the same
  EXPECT_TRUE(Sent().empty()) << "dropped: the stream ended";
}

// A member holding a mirror keeps what the queue's home feeds it, answers
// each entry in order with publishes, and refuses to start a copy of a queue
// whose record does not name it a mirror.
TEST_F(QueueHomeTest, AMirrorKeepsWhatTheHomeFeedsItAndNothingElse) {
  // Member 2 is the node at the other end of the stream.
  struct Names final : core::QueueRemote {
    std::string NodeName(uint64_t id) const override {
      return id == 2 ? "warren@caller" : "warren@other";
    }
    std::vector<uint64_t> Members() const override { return {1, 2, 3}; }
    void Publish(uint64_t, const std::string&, std::vector<std::string>, core::MessagePtr,
                 std::function<void(bool)>) override {}
    bool Congested(uint64_t) const override { return false; }
    void WhenDrained(uint64_t, std::function<void()>) override {}
    void Consume(uint64_t, core::RemoteConsume, core::RemoteConsumerSink*,
                 std::function<void(uint64_t, Status)>) override {}
    void Credit(uint64_t, uint64_t, uint32_t) override {}
    void Cancel(uint64_t, uint64_t) override {}
    void Settle(uint64_t, uint64_t, core::SettleKind, std::vector<uint64_t>) override {}
    void Get(uint64_t, const std::string&, const std::string&, bool, uint64_t, Reply) override {}
    void Purge(uint64_t, const std::string&, const std::string&, uint64_t, Reply) override {}
    void Stat(uint64_t, const std::string&, const std::string&, uint64_t, Reply) override {}
    void SyncMirrors(uint64_t, const std::string&, const std::string&, bool, Reply) override {}
    void Census(uint64_t, const std::string&, const std::string&, Reply) override {}
    void DirectReply(uint64_t, core::MessagePtr) override {}
  } names;
  broker_.set_remote(&names);
  Declare("elsewhere", 2);
  ASSERT_TRUE(core::Apply(broker_, core::cmd::SetMirrors{"/", "elsewhere", 2, {{1, 3}, {}, 1}})
                  .status.ok());
  Declare("plain", 2);
  Send({fuzz::MirrorReset("elsewhere", 1), fuzz::MirrorEnter(1, "elsewhere", 10, "a"),
        fuzz::MirrorEnter(2, "elsewhere", 11, "b"), Publish(3, "q-none", "x"),
        fuzz::MirrorEnter(4, "elsewhere", 12, "c"), fuzz::MirrorLeave("elsewhere", {11, 99})});
  std::vector<Op> sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].through());
  EXPECT_EQ(sent[0].id(), 4u) << "entries and publishes answered together, in order";
  const MirrorCopies::Copy* copy = home_->copies().Find("/", "elsewhere");
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->epoch, 1u);
  ASSERT_EQ(copy->entries.size(), 2u);
  EXPECT_EQ(copy->entries.at(10)->body, "a");
  EXPECT_EQ(copy->entries.at(12)->body, "c");
  EXPECT_EQ(copy->bytes, 2u);
  EXPECT_TRUE(Queue("elsewhere")->remote()) << "the record stays a record";

  // Not a mirror here: no copy is started, and its entries are refused.
  Send({fuzz::MirrorReset("plain", 1), fuzz::MirrorEnter(5, "plain", 1, "x")});
  sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].id(), 5u);
  EXPECT_NE(sent[0].code(), 0u);
  EXPECT_EQ(home_->copies().Find("/", "plain"), nullptr);

  // Only the home feeds the copy: a queue homed on member 3 is not this
  // caller's to touch.
  Declare("third", 3);
  ASSERT_TRUE(core::Apply(broker_, core::cmd::SetMirrors{"/", "third", 3, {{1}, {}, 1}})
                  .status.ok());
  Send({fuzz::MirrorReset("third", 1), fuzz::MirrorEnter(6, "third", 1, "x")});
  sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].code(), 0u);
  EXPECT_EQ(home_->copies().Find("/", "third"), nullptr);

  // A reset starts the copy again, empty.
  Send({fuzz::MirrorReset("elsewhere", 2)});
  EXPECT_TRUE(home_->copies().Find("/", "elsewhere")->entries.empty());
  // The record no longer names this member: the copy is pruned.
  ASSERT_TRUE(core::Apply(broker_, core::cmd::SetMirrors{"/", "elsewhere", 2, {{3}, {}, 2}})
                  .status.ok());
  home_->copies().Prune();
  EXPECT_EQ(home_->copies().Find("/", "elsewhere"), nullptr);
  broker_.set_remote(nullptr);
}

TEST_F(QueueHomeTest, AFrameOfTooManyOpsEndsTheStream) {
  Declare("q");
  std::vector<Op> ops(kMaxOpsPerFrame + 1, Request(Op::STAT, 1, "q"));
  Send(std::move(ops));
  EXPECT_TRUE(link_->ended());
  EXPECT_TRUE(Sent().empty());
}

// The seeds of warren_fuzz_queue_home (tests/fuzz/corpus-queue_home) are
// streams of frames that parse, carried out by a home like this one; when
// each stream ends, the caller holds nothing.
TEST_F(QueueHomeTest, TheFuzzersSeedsAreStreamsAHomeCarriesOut) {
  Declare("q");
  Declare("limited");
  Declare("mine");
  Declare("elsewhere", 2);
  auto seeds = testkit::FuzzSeeds("corpus-queue_home");
  for (const auto& [path, bytes] : seeds) {
    auto link = std::make_shared<HomeLink>("warren@seed");
    for (std::string_view f : fuzz::SplitFrames(bytes)) {
      v1::QueueFrame frame;
      ASSERT_TRUE(frame.ParseFromArray(f.data(), static_cast<int>(f.size()))) << path;
      home_->Receive(link, &frame);
      runtime_.Advance(0);
      EXPECT_FALSE(link->ended()) << path;
    }
    home_->Receive(link, nullptr);
    for (const char* name : {"q", "limited", "mine"}) EXPECT_EQ(Queue(name)->unacked_count(), 0u);
  }
  EXPECT_GE(seeds.size(), 3u);
}

}  // namespace
}  // namespace warren::cluster
