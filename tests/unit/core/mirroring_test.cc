// Where a mirrored queue's copies go (core/mirroring.h), and the committed
// change that moves them (cmd::SetMirrors, VHost::SetMirrors): the policy's
// ha-mode and ha-params, quorum queues, exclusive queues, and stale changes.
#include "broker/core/mirroring.h"

#include <gtest/gtest.h>

#include "broker/core/command.h"
#include "core_fixture.h"

namespace warren::core::test {
namespace {

using amqp::FieldValue;

class MirroringTest : public CoreTest {
 protected:
  MirroringTest() { broker_.set_self_member(1); }

  std::vector<MemberName> members_{{1, "warren@a"}, {2, "warren@b"}, {3, "warren@c"},
                                   {4, "warren@d"}};

  // The mirrors `definition` wants for queue `name` homed on `home`.
  std::vector<uint64_t> Wanted(const std::string& name, amqp::FieldTable definition,
                               uint64_t home = 1) {
    Policy p{"/", "p", ".*", ApplyTo::kAll, 0, std::move(definition), {}};
    return WantedMirrors(*vh_->FindQueue(name), &p, home, members_);
  }
  static amqp::FieldTable Mode(const std::string& mode, std::optional<FieldValue> params = {}) {
    amqp::FieldTable t;
    t.Set("ha-mode", FieldValue::Str(mode));
    if (params) t.Set("ha-params", *params);
    return t;
  }
  Outcome SetMirrors(const std::string& name, uint64_t home, Mirrors m) {
    return Apply(broker_, cmd::SetMirrors{"/", name, home, std::move(m)});
  }
};

TEST_F(MirroringTest, HaModeAllMirrorsOnEveryOtherMember) {
  DeclareQueue("q");
  EXPECT_EQ(Wanted("q", Mode("all")), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(Wanted("q", Mode("all"), 3), (std::vector<uint64_t>{1, 2, 4}));
}

TEST_F(MirroringTest, NoHaModeAndNoPolicyMeanNoMirrors) {
  DeclareQueue("q");
  EXPECT_TRUE(Wanted("q", {}).empty());
  EXPECT_TRUE(WantedMirrors(*vh_->FindQueue("q"), nullptr, 1, members_).empty());
}

TEST_F(MirroringTest, HaModeExactlyCountsTheHomeAndSpreadsAfterIt) {
  DeclareQueue("q");
  EXPECT_EQ(Wanted("q", Mode("exactly", FieldValue::Long(2))), (std::vector<uint64_t>{2}));
  EXPECT_EQ(Wanted("q", Mode("exactly", FieldValue::Long(2)), 3), (std::vector<uint64_t>{4}));
  EXPECT_EQ(Wanted("q", Mode("exactly", FieldValue::Long(2)), 4), (std::vector<uint64_t>{1}));
  EXPECT_EQ(Wanted("q", Mode("exactly", FieldValue::Long(3)), 4), (std::vector<uint64_t>{1, 2}));
  // More copies than members: every member.
  EXPECT_EQ(Wanted("q", Mode("exactly", FieldValue::Long(9))), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_TRUE(Wanted("q", Mode("exactly", FieldValue::Long(1))).empty());
}

TEST_F(MirroringTest, HaModeExactlyKeepsTheMirrorsItHas) {
  DeclareQueue("q");
  ASSERT_TRUE(SetMirrors("q", 1, {{4}, {4}, 1}).status.ok());
  // Two copies: member 4 stays, rather than moving to member 2.
  EXPECT_EQ(Wanted("q", Mode("exactly", FieldValue::Long(2))), (std::vector<uint64_t>{4}));
  EXPECT_EQ(Wanted("q", Mode("exactly", FieldValue::Long(3))), (std::vector<uint64_t>{2, 4}));
}

TEST_F(MirroringTest, HaModeNodesNamesTheMembers) {
  DeclareQueue("q");
  auto names = [](std::vector<std::string> list) {
    amqp::FieldArray a;
    for (auto& n : list) a.push_back(FieldValue::Str(n));
    return FieldValue::Array(std::move(a));
  };
  EXPECT_EQ(Wanted("q", Mode("nodes", names({"warren@c", "warren@a", "warren@zz"}))),
            (std::vector<uint64_t>{3}))
      << "the home is no mirror of itself; unknown names are left out";
  EXPECT_EQ(Wanted("q", Mode("nodes", names({"warren@d", "warren@b"}))),
            (std::vector<uint64_t>{2, 4}));
}

TEST_F(MirroringTest, AQuorumQueueHasThreeCopiesAndAnExclusiveQueueNone) {
  amqp::FieldTable quorum;
  quorum.Set("x-queue-type", FieldValue::Str("quorum"));
  DeclareQueue("qq", quorum);
  EXPECT_EQ(WantedMirrors(*vh_->FindQueue("qq"), nullptr, 1, members_),
            (std::vector<uint64_t>{2, 3}));
  std::vector<MemberName> two{{1, "a"}, {2, "b"}};
  EXPECT_EQ(WantedMirrors(*vh_->FindQueue("qq"), nullptr, 1, two), (std::vector<uint64_t>{2}));

  ASSERT_TRUE(TryDeclare("mine", {}, false, true).ok());
  EXPECT_TRUE(Wanted("mine", Mode("all")).empty());
}

TEST_F(MirroringTest, OnlyAutomaticSyncModeAndQuorumQueuesCopyTheBacklogByThemselves) {
  DeclareQueue("q");
  amqp::FieldTable quorum;
  quorum.Set("x-queue-type", FieldValue::Str("quorum"));
  DeclareQueue("qq", quorum);
  auto syncs = [&](const std::string& name, amqp::FieldTable definition) {
    Policy p{"/", "p", ".*", ApplyTo::kAll, 0, std::move(definition), {}};
    return SyncsByItself(*vh_->FindQueue(name), &p);
  };
  amqp::FieldTable automatic = Mode("all"), manual = Mode("all");
  automatic.Set("ha-sync-mode", FieldValue::Str("automatic"));
  manual.Set("ha-sync-mode", FieldValue::Str("manual"));
  EXPECT_TRUE(syncs("q", automatic));
  EXPECT_FALSE(syncs("q", manual));
  EXPECT_FALSE(syncs("q", Mode("all"))) << "RabbitMQ's default is manual";
  EXPECT_FALSE(SyncsByItself(*vh_->FindQueue("q"), nullptr));
  EXPECT_TRUE(SyncsByItself(*vh_->FindQueue("qq"), nullptr));
  EXPECT_TRUE(syncs("qq", manual)) << "a quorum queue replicates everything";
}

TEST_F(MirroringTest, NextMirrorsRaisesTheEpochAndKeepsOnlyMirrorsStillThereInSync) {
  Mirrors now{{2, 3}, {2, 3}, 4};
  Mirrors next = NextMirrors(now, {3, 4});
  EXPECT_EQ(next.members, (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(next.in_sync, (std::vector<uint64_t>{3})) << "a new mirror is not in sync";
  EXPECT_EQ(next.epoch, 5u);
}

TEST_F(MirroringTest, AChangeFromAnOlderRecordOrForAnotherHomeIsStale) {
  DeclareQueue("q");
  ASSERT_TRUE(SetMirrors("q", 1, {{2, 3}, {}, 1}).status.ok());
  EXPECT_EQ(vh_->FindQueue("q")->mirrors(), (Mirrors{{2, 3}, {}, 1}));
  Outcome same_epoch = SetMirrors("q", 1, {{2}, {}, 1});
  EXPECT_EQ(same_epoch.status.error().code, 406);
  EXPECT_EQ(same_epoch.status.error().text,
            "PRECONDITION_FAILED - stale mirror change for queue 'q' in vhost '/': home 1, "
            "epoch 1");
  EXPECT_EQ(SetMirrors("q", 2, {{3}, {}, 2}).status.error().code, 406) << "not its home";
  EXPECT_EQ(vh_->FindQueue("q")->mirrors(), (Mirrors{{2, 3}, {}, 1}));
  EXPECT_TRUE(SetMirrors("q", 1, {{}, {}, 2}).status.ok()) << "a policy cleared: no mirrors";
  EXPECT_TRUE(vh_->FindQueue("q")->mirrors().members.empty());
  EXPECT_EQ(SetMirrors("gone", 1, {{2}, {}, 1}).status.error().code, 404);
}

// What a mirrored queue's home replicates (core::QueueReplica): every entry
// that joins, each delivered one that comes back, each that leaves for good.
TEST_F(MirroringTest, TheReplicaIsToldOfEveryEntryThatJoinsComesBackOrLeaves) {
  struct Recorder final : QueueReplica {
    std::vector<std::string> events;
    void Entered(const QueueEntry& e, const Ticket& t) override {
      events.push_back("enter " + std::to_string(e.seq) + (t ? " ticket" : ""));
    }
    void Requeued(const QueueEntry& e) override {
      events.push_back("back " + std::to_string(e.seq));
    }
    void Left(uint64_t seq) override { events.push_back("left " + std::to_string(seq)); }
  } r;
  amqp::FieldTable max;
  max.Set("x-max-length", FieldValue::Long(2));
  std::shared_ptr<Queue> q = DeclareQueue("q", max);
  q->set_replica(&r);
  uint64_t first = q->next_seq();
  auto seq = [&](int i) { return std::to_string(first + i); };
  Ticket t = NewTicket();
  vh_->Publish(nullptr, Msg("", "q", "a"), t);
  Publish("", "q", "b");
  Publish("", "q", "c");  // over x-max-length 2: "a" is dropped from the head
  std::optional<QueueEntry> b = q->Get(false);
  ASSERT_TRUE(b.has_value());
  q->Requeue({std::move(*b)});
  std::optional<QueueEntry> again = q->Get(false);
  q->Ack(*again);
  q->Purge();
  EXPECT_EQ(r.events, (std::vector<std::string>{
                          "enter " + seq(0) + " ticket", "enter " + seq(1), "enter " + seq(2),
                          "left " + seq(0), "back " + seq(1), "left " + seq(1),
                          "left " + seq(2)}));
  q->set_replica(nullptr);
}

TEST_F(MirroringTest, TheLowestMirrorInSyncThatAnswersTakesOverAndAlwaysAllowsAnyOther) {
  DeclareQueue("q");
  ASSERT_TRUE(SetMirrors("q", 1, {{2, 3, 4}, {3, 4}, 1}).status.ok());
  const Queue& q = *vh_->FindQueue("q");
  EXPECT_EQ(PromotionCandidate(q, nullptr, {2, 3, 4}), 3u);
  EXPECT_EQ(PromotionCandidate(q, nullptr, {2, 4}), 4u) << "3 does not answer";
  EXPECT_EQ(PromotionCandidate(q, nullptr, {2}), 0u) << "when-synced: none in sync answers";
  amqp::FieldTable always;
  always.Set("ha-mode", FieldValue::Str("all"));
  always.Set("ha-promote-on-failure", FieldValue::Str("always"));
  Policy p{"/", "p", ".*", ApplyTo::kAll, 0, always, {}};
  EXPECT_EQ(PromotionCandidate(q, &p, {2}), 2u) << "always: a mirror out of sync";
  EXPECT_EQ(PromotionCandidate(q, &p, {5}), 0u) << "never a member that is no mirror";

  Mirrors after = AfterFailover(q.mirrors(), 1, 3);
  EXPECT_EQ(after, (Mirrors{{1, 2, 4}, {}, 2}))
      << "the old home is a mirror; none in sync with the new home yet";
}

// A failover applied on each kind of member (VHost::MoveHome): the new home
// fills the queue from its copy, marked redelivered; the old home drops what
// it held and cancels its consumers; bindings stay.
TEST_F(MirroringTest, AMoveFillsTheNewHomeFromItsCopyAndEmptiesTheOldOne) {
  struct Copies final : MirrorSource {
    std::vector<MessagePtr> copy;
    std::vector<MessagePtr> TakeCopy(const std::string& vhost, const std::string& queue) override {
      EXPECT_EQ(vhost, "/");
      EXPECT_EQ(queue, "far");
      return std::move(copy);
    }
  } copies;
  copies.copy = {Msg("", "far", "a"), Msg("", "far", "b")};
  broker_.set_mirror_source(&copies);
  // Homed on member 2, mirrored here (member 1) and on 3.
  ASSERT_TRUE(Apply(broker_, cmd::DeclareQueue{"/", "far", true, false, false, {}, 0, false, 2})
                  .status.ok());
  ASSERT_TRUE(DeclareExchange("x", "fanout").ok());
  ASSERT_TRUE(vh_->BindQueue("far", "x", "", {}, kConn).ok());
  ASSERT_TRUE(SetMirrors("far", 2, {{1, 3}, {1, 3}, 1}).status.ok());
  ASSERT_TRUE(vh_->FindQueue("far")->remote());

  ASSERT_TRUE(Apply(broker_, cmd::SetMirrors{"/", "far", 2, {{2, 3}, {3}, 2}, 1}).status.ok());
  std::shared_ptr<Queue> q = vh_->FindQueue("far");
  ASSERT_FALSE(q->remote()) << "homed here now";
  EXPECT_EQ(q->mirrors(), (Mirrors{{2, 3}, {3}, 2}));
  Publish("x", "", "c");  // its bindings route to it here
  std::vector<std::pair<std::string, bool>> got;
  while (auto e = q->Get(true)) got.emplace_back(e->message->body, e->redelivered);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, bool>>{
                     {"a", true}, {"b", true}, {"c", false}}));

  // Back to member 3 while this member serves it: it is a record again.
  Publish("x", "", "d");
  std::shared_ptr<Consumer> c = Consume(q, "ctag", /*no_ack=*/false);
  ASSERT_TRUE(Apply(broker_, cmd::SetMirrors{"/", "far", 1, {{1, 2}, {2}, 3}, 3}).status.ok());
  EXPECT_TRUE(q->deleted()) << "the old object: its consumers cancelled, what it held dropped";
  EXPECT_EQ(sink_.cancelled, std::vector<std::string>{"ctag"});
  std::shared_ptr<Queue> record = vh_->FindQueue("far");
  EXPECT_TRUE(record->remote());
  EXPECT_EQ(record->home(), 3u);
  EXPECT_EQ(record->ready_count(), 0u);
  broker_.set_mirror_source(nullptr);
}

}  // namespace
}  // namespace warren::core::test
