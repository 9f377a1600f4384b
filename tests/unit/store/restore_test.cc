// A node's restart, in process: what the store gives back to a new broker
// model after a clean stop or after the process died mid-way.
#include "store/store_fixture.h"

namespace warren::store::test {
namespace {

TEST_F(StoreTest, DurableDefinitionsComeBackAndTransientOnesDoNot) {
  OpenNode();
  EXPECT_TRUE(fresh_);
  core::ExchangeDeclare x{"dx", "direct", false, {}};
  x.options.durable = true;
  ASSERT_TRUE(vhost().DeclareExchange(x).ok());
  core::ExchangeDeclare tx{"tx", "fanout", false, {}};
  ASSERT_TRUE(vhost().DeclareExchange(tx).ok());
  amqp::FieldTable args;
  args.Set("x-max-length", amqp::FieldValue::Long(10));
  DeclareQueue("dq", true, args);
  DeclareQueue("tq", false);
  ASSERT_TRUE(vhost().BindQueue("dq", "dx", "k", {}, 1).ok());
  ASSERT_TRUE(vhost().BindQueue("tq", "dx", "k", {}, 1).ok());
  ASSERT_TRUE(broker_->AddUser("admin", "hash", {"administrator"}).ok());
  ASSERT_TRUE(broker_->SetPermissions("admin", "/", ".*", ".*", ".*").ok());
  CloseNode();

  OpenNode();
  EXPECT_FALSE(fresh_);
  EXPECT_NE(vhost().FindExchange("dx"), nullptr);
  EXPECT_EQ(vhost().FindExchange("tx"), nullptr);
  auto dq = vhost().FindQueue("dq");
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq->options().args.max_length, 10);
  EXPECT_EQ(vhost().FindQueue("tq"), nullptr);
  ASSERT_NE(broker_->FindUser("admin"), nullptr);
  EXPECT_TRUE(broker_->Allowed("admin", "/", core::Access::kWrite, "anything"));
  // The binding to the durable queue is back; routing through it works.
  Publish("k", "routed", true, "dx");
  EXPECT_EQ(Drain(*dq), std::vector<std::string>{"routed"});
}

// docs/parameters.md: what a restart gives back takes effect again.
TEST_F(StoreTest, LimitsOperatorPoliciesAndVHostMetadataComeBackInEffect) {
  OpenNode();
  core::VHostMetadata meta{"orders", {"prod"}, "classic", false};
  ASSERT_TRUE(broker_->AddVHost("/", meta, true).ok());
  auto dq = DeclareQueue("dq", true);
  ASSERT_TRUE(broker_->SetParameter({"vhost-limits", "/", "limits", R"({"max-queues":1})"}, false)
                  .ok());
  ASSERT_TRUE(broker_->SetParameter({"", "", "cluster_name", R"("kept")"}, false).ok());
  amqp::FieldTable cap;
  cap.Set("max-length", amqp::FieldValue::Long(2));
  ASSERT_TRUE(vhost().SetOperatorPolicy({"/", "cap", "^dq$", core::ApplyTo::kQueues, 0, cap, {}})
                  .ok());
  EXPECT_EQ(dq->options().args.max_length, 2);
  CloseNode();

  OpenNode();
  EXPECT_EQ(vhost().metadata(), meta);
  EXPECT_EQ(vhost().limits().max_queues, 1);
  EXPECT_EQ(broker_->ClusterName(), "kept");
  auto back = vhost().FindQueue("dq");
  ASSERT_NE(back, nullptr) << "a limit below the queues held refuses none at restore";
  EXPECT_EQ(back->operator_policy_name(), "cap");
  EXPECT_EQ(back->options().args.max_length, 2);
  core::QueueDeclare more;
  more.name = "more";
  EXPECT_FALSE(vhost().DeclareQueue(more, 1).ok());
}

// docs/access.md: topic permissions and user limits are durable definitions.
TEST_F(StoreTest, TopicPermissionsAndUserLimitsComeBackInEffect) {
  OpenNode();
  ASSERT_TRUE(broker_->AddUser("alice", "hash", {}).ok());
  ASSERT_TRUE(broker_->SetTopicPermission({"alice", "/", "amq.topic", "^{username}\\.", ""}).ok());
  ASSERT_TRUE(broker_->SetUserLimits("alice", {{"max-channels", 4}}).ok());
  CloseNode();

  OpenNode();
  EXPECT_TRUE(broker_->TopicAllowed("alice", "/", "amq.topic", core::Access::kWrite, "alice.x"));
  EXPECT_FALSE(broker_->TopicAllowed("alice", "/", "amq.topic", core::Access::kWrite, "bob.x"));
  EXPECT_FALSE(broker_->TopicAllowed("alice", "/", "amq.topic", core::Access::kRead, "x"));
  EXPECT_EQ(broker_->UserLimit("alice", core::kMaxChannels), 4);
}

TEST_F(StoreTest, PersistentMessagesInDurableQueuesComeBackInOrder) {
  OpenNode();
  auto dq = DeclareQueue("dq", true);
  auto tq = DeclareQueue("tq", false);
  for (int i = 0; i < 6; ++i) Publish("dq", "m" + std::to_string(i), i % 2 == 0);
  Publish("tq", "transient-queue", true);
  CloseNode();

  OpenNode();
  auto back = vhost().FindQueue("dq");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->ready_count(), 3u);
  EXPECT_EQ(Drain(*back), (std::vector<std::string>{"m0", "m2", "m4"}));
}

// The overview's disk_writes and disk_reads: messages, not records.
TEST_F(StoreTest, MessagesWrittenAndReadBackAreCounted) {
  OpenNode();
  auto dq = DeclareQueue("dq", true);
  for (int i = 0; i < 3; ++i) Publish("dq", "m" + std::to_string(i), true);
  Publish("dq", "transient message", false);
  EXPECT_EQ(store_->disk_counts().writes, 3u);
  EXPECT_EQ(store_->disk_counts().reads, 0u) << "bodies still in memory are not read";
  CloseNode();

  OpenNode();
  EXPECT_EQ(store_->disk_counts().writes, 0u) << "counted since the store opened";
  EXPECT_EQ(Drain(*vhost().FindQueue("dq")).size(), 3u);
  EXPECT_EQ(store_->disk_counts().reads, 3u) << "recovered bodies are read when delivered";
}

TEST_F(StoreTest, DeliveredUnackedMessagesComeBackRedelivered) {
  OpenNode();
  auto q = DeclareQueue("q", true);
  for (int i = 0; i < 4; ++i) Publish("q", "m" + std::to_string(i));
  auto first = q->Get(false);   // delivered, never acked
  auto second = q->Get(false);  // delivered and acked
  ASSERT_TRUE(first && second);
  q->Ack(*second);
  CloseNode();

  OpenNode();
  auto back = vhost().FindQueue("q");
  std::vector<std::pair<std::string, bool>> got;
  while (auto e = back->Get(true)) got.emplace_back(e->message->body, e->redelivered);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, bool>>{
                     {"m0", true}, {"m2", false}, {"m3", false}}));
}

TEST_F(StoreTest, WhatWasWrittenSurvivesWithoutAStop) {
  OpenNode();
  auto q = DeclareQueue("q", true);
  Publish("q", "a");
  Publish("q", "b");
  auto e = q->Get(false);
  q->Ack(*e);
  store_->WriteBuffered();
  // The process dies here: nothing is closed or flushed any further.
  store_.release();
  broker_.release();
  posted_.clear();

  // (The leaked store still holds the lock; a crash would have dropped it.)
  std::filesystem::remove(dir_ / ".lock");
  OpenNode();
  EXPECT_EQ(Drain(*vhost().FindQueue("q")), std::vector<std::string>{"b"});
}

TEST_F(StoreTest, AMessageForSeveralDurableQueuesIsWrittenOnce) {
  OpenNode();
  core::ExchangeDeclare x{"fan", "fanout", false, {}};
  x.options.durable = true;
  ASSERT_TRUE(vhost().DeclareExchange(x).ok());
  for (const char* n : {"a", "b", "c"}) {
    DeclareQueue(n, true);
    ASSERT_TRUE(vhost().BindQueue(n, "fan", "", {}, 1).ok());
  }
  uint64_t before = store_->appended();
  Publish("", std::string(1000, 'x'), true, "fan");
  uint64_t written = store_->appended() - before;
  EXPECT_GT(written, 1000u);
  EXPECT_LT(written, 2000u);
  // Each queue settles its own reference: two acks leave the third's copy.
  Drain(*vhost().FindQueue("a"));
  Drain(*vhost().FindQueue("b"));
  CloseNode();
  OpenNode();
  EXPECT_EQ(vhost().FindQueue("a")->ready_count(), 0u);
  EXPECT_EQ(vhost().FindQueue("b")->ready_count(), 0u);
  EXPECT_EQ(vhost().FindQueue("c")->ready_count(), 1u);
}

TEST_F(StoreTest, ADeletedQueueDoesNotLendItsMessagesToANewOneOfTheSameName) {
  OpenNode();
  DeclareQueue("q", true);
  Publish("q", "old");
  ASSERT_TRUE(vhost().DeleteQueue("q", false, false, 1).ok());
  DeclareQueue("q", true);
  Publish("q", "new");
  CloseNode();
  OpenNode();
  EXPECT_EQ(Drain(*vhost().FindQueue("q")), std::vector<std::string>{"new"});
}

TEST_F(StoreTest, PurgedMessagesStayPurged) {
  OpenNode();
  auto q = DeclareQueue("q", true);
  for (int i = 0; i < 3; ++i) Publish("q", "m");
  ASSERT_TRUE(vhost().PurgeQueue("q", 1).ok());
  Publish("q", "after");
  CloseNode();
  OpenNode();
  EXPECT_EQ(Drain(*vhost().FindQueue("q")), std::vector<std::string>{"after"});
}

TEST_F(StoreTest, TtlsCountFromPublishingNotFromTheRestart) {
  OpenNode();
  amqp::FieldTable args;
  args.Set("x-message-ttl", amqp::FieldValue::Long(3'600'000));
  DeclareQueue("q", true, args);
  Publish("q", "lives an hour");
  CloseNode();
  OpenNode();
  auto q = vhost().FindQueue("q");
  EXPECT_EQ(q->ready_count(), 1u);
  runtime_.Advance(3'600'000 + 1000);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(StoreTest, SegmentsWhoseMessagesAreAllGoneAreDeleted) {
  OpenNode(false, 64 << 10);
  auto q = DeclareQueue("q", true);
  for (int i = 0; i < 400; ++i) Publish("q", std::string(1024, 'a' + i % 26));
  RunPosted();
  size_t full = SegmentFiles().size();
  EXPECT_GE(full, 6u);
  Drain(*q);
  Publish("q", "last");  // moves the log on to a fresh segment
  RunPosted();
  EXPECT_LE(SegmentFiles().size(), 2u) << "of " << full;
  CloseNode();
  OpenNode(false, 64 << 10);
  EXPECT_EQ(Drain(*vhost().FindQueue("q")), std::vector<std::string>{"last"});
}

TEST_F(StoreTest, OneLongLivedMessagePinsOnlyItsOwnSegment) {
  OpenNode(false, 64 << 10);
  auto q = DeclareQueue("q", true);
  auto keep = DeclareQueue("keep", true);
  Publish("keep", "pinned");  // segment 1 stays referenced
  // Several segments of traffic, each acked from a later segment.
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 100; ++i) Publish("q", std::string(1024, 'a' + round));
    RunPosted();
    EXPECT_EQ(Drain(*q).size(), 100u);
  }
  for (int i = 0; i < 100; ++i) Publish("q", "tail");
  RunPosted();
  EXPECT_LE(SegmentFiles().size(), 3u);
  CloseNode();
  // The acks that were carried forward still hold: nothing comes back.
  OpenNode(false, 64 << 10);
  EXPECT_EQ(vhost().FindQueue("q")->ready_count(), 100u);
  EXPECT_EQ(Drain(*vhost().FindQueue("keep")), std::vector<std::string>{"pinned"});
}

TEST_F(StoreTest, ConfirmsWaitForAGroupCommittedSync) {
  OpenNode(/*fsync=*/true);
  DeclareQueue("q", true);
  struct Waiter : core::SyncWaiter {
    int calls = 0;
    void OnSynced() override { ++calls; }
  } waiter;
  Published o = Publish("q", "durable");
  ASSERT_GT(o.durable_at, 0u);
  EXPECT_LT(store_->synced(), o.durable_at);
  store_->WaitForSync(&waiter);
  store_->WriteBuffered();
  while (store_->synced() < o.durable_at) {
    ASSERT_TRUE(WaitPosted()) << "the sync thread never reported";
    RunPosted();
  }
  EXPECT_EQ(waiter.calls, 1);
}

TEST_F(StoreTest, PublishersWaitingInOneWindowShareOneSync) {
  OpenNode(/*fsync=*/true);
  DeclareQueue("q", true);
  std::vector<uint64_t> positions;
  for (int i = 0; i < 500; ++i) positions.push_back(Publish("q", "m").durable_at);
  store_->WriteBuffered();  // what the loop does before it next writes to a socket
  while (store_->synced() < positions.back()) {
    ASSERT_TRUE(WaitPosted()) << "the sync thread never reported";
    RunPosted();
  }
  EXPECT_EQ(store_->log().sync_rounds(), 1u);
  for (uint64_t p : positions) EXPECT_LE(p, store_->synced());
}

TEST_F(StoreTest, AcksAloneAskForNoSyncRoundUntilThePoll) {
  OpenNode(/*fsync=*/true);
  std::shared_ptr<core::Queue> q = DeclareQueue("q", true);
  Published o = Publish("q", "m");
  store_->WriteBuffered();
  ASSERT_TRUE(WaitSyncedOrFatal(o.durable_at));
  ASSERT_TRUE(fatal().empty());
  const uint64_t asked = store_->log().requested();
  ASSERT_EQ(Drain(*q), std::vector<std::string>{"m"});  // auto-ack: deliver and settle marks
  store_->WriteBuffered();
  RunPosted();
  ASSERT_GT(store_->appended(), asked);
  // Nothing waits for the marks: written, but no round is asked for them.
  EXPECT_EQ(store_->log().requested(), asked);
  EXPECT_LT(store_->synced(), store_->appended());
  // The store's poll asks for it, so they are on disk within a poll interval.
  store_->Poll();
  EXPECT_EQ(store_->log().requested(), store_->appended());
  ASSERT_TRUE(WaitSyncedOrFatal(store_->appended()));
  EXPECT_EQ(store_->synced(), store_->appended());
}

TEST_F(StoreTest, PagedOutMessagesReadBackIntact) {
  OpenNode();
  broker_->set_page_above(1);
  broker_->SampleMemory(1 << 30);
  ASSERT_TRUE(broker_->ShouldPage());
  auto q = DeclareQueue("tq", false);
  amqp::BasicProperties p;
  p.content_type = "text/plain";
  p.headers = amqp::FieldTable{};
  p.headers->Set("h", amqp::FieldValue::Long(7));
  for (int i = 0; i < 50; ++i)
    vhost().Publish(nullptr, core::MakeMessage("", "tq", p, "body" + std::to_string(i)));
  EXPECT_EQ(broker_->resident_bytes(), 0);
  EXPECT_EQ(q->ready_count(), 50u);
  for (int i = 0; i < 50; ++i) {
    auto e = q->Get(true);
    ASSERT_TRUE(e && e->message);
    EXPECT_EQ(e->message->body, "body" + std::to_string(i));
    EXPECT_EQ(e->message->properties().content_type, "text/plain");
    EXPECT_EQ(e->message->properties().headers->Find("h")->AsInt(), 7);
  }
  // Transient copies are not restored.
  CloseNode();
  OpenNode();
  EXPECT_EQ(vhost().FindQueue("tq"), nullptr);
}

}  // namespace
}  // namespace warren::store::test
