// The durability ticket (core/durability.h) against a real store: a ticket
// is done once the store synced past its position and every wait answered,
// refused when a wait said no, and tickets come out in position order.
#include "broker/core/durability.h"

#include <gtest/gtest.h>

#include "store_fixture.h"

namespace warren::store::test {
namespace {

class DurabilityTest : public StoreTest {
 protected:
  void SetUp() override {
    OpenNode(/*fsync=*/true);
    DeclareQueue("q", true);
  }
  core::Durability& durability() { return broker_->durability(); }

  // A ticket for one persistent publish to "q".
  core::Ticket Written(const std::string& body) {
    core::Ticket t = core::NewTicket();
    amqp::BasicProperties p;
    p.delivery_mode = 2;
    vhost().Publish(nullptr, core::MakeMessage("", "q", p, body), t);
    return t;
  }
  // Runs the loop until the store synced all it wrote.
  void SyncAll() {
    store_->WriteBuffered();
    ASSERT_TRUE(WaitSyncedOrFatal(store_->appended()));
    ASSERT_TRUE(fatal().empty());
  }
};

TEST_F(DurabilityTest, ATicketWithNothingToWaitForIsDoneAtOnce) {
  core::Ticket t = core::NewTicket();
  bool called = false;
  EXPECT_TRUE(durability().Await(t, [&](bool) { called = true; }));
  EXPECT_TRUE(t->ok());
  EXPECT_FALSE(called) << "done at once: the caller reads ok(), no callback";
}

TEST_F(DurabilityTest, APersistentPublishIsDoneOnlyOnceSynced) {
  core::Ticket t = Written("m");
  ASSERT_GT(t->durable_at(), 0u);
  std::optional<bool> done;
  ASSERT_FALSE(durability().Await(t, [&](bool ok) { done = ok; }));
  EXPECT_FALSE(done.has_value());
  SyncAll();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(*done);
}

TEST_F(DurabilityTest, AWaitKeepsATicketOpenPastTheSyncAndARefusalFailsIt) {
  core::Ticket t = Written("m");
  t->AddWait();
  t->AddWait();
  std::optional<bool> done;
  ASSERT_FALSE(durability().Await(t, [&](bool ok) { done = ok; }));
  SyncAll();
  EXPECT_FALSE(done.has_value()) << "two copies have not answered";
  durability().Answer(t, true);
  EXPECT_FALSE(done.has_value());
  durability().Answer(t, false);
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(*done);
  durability().Answer(t, true);  // one answer too many changes nothing
  EXPECT_FALSE(t->ok());
}

TEST_F(DurabilityTest, AnswersBeforeTheSyncStillWaitForIt) {
  core::Ticket t = Written("m");
  t->AddWait();
  std::optional<bool> done;
  ASSERT_FALSE(durability().Await(t, [&](bool ok) { done = ok; }));
  durability().Answer(t, true);
  EXPECT_FALSE(done.has_value()) << "the local copy is not on disk yet";
  SyncAll();
  EXPECT_EQ(done, std::optional<bool>(true));
}

TEST_F(DurabilityTest, TicketsOfOneSyncAreDoneInTheOrderWritten) {
  std::vector<int> order;
  std::vector<core::Ticket> tickets;
  for (int i = 0; i < 5; ++i) tickets.push_back(Written("m" + std::to_string(i)));
  // Awaited out of order: done in position order all the same.
  for (int i : {3, 0, 4, 1, 2})
    ASSERT_FALSE(durability().Await(tickets[i], [&order, i](bool) { order.push_back(i); }));
  SyncAll();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(DurabilityTest, AReplacedStoreDropsWhatWaitedOnTheOldOne) {
  core::Ticket t = Written("m");
  bool called = false;
  ASSERT_FALSE(durability().Await(t, [&](bool) { called = true; }));
  broker_->set_persistence(nullptr);
  broker_->set_persistence(store_.get());
  SyncAll();
  EXPECT_FALSE(called);
}

TEST(InOrderTest, AnswersLeaveInTheOrderAddedEachOnceDone) {
  core::InOrder<int> q;
  uint64_t a = q.Add(1);
  uint64_t b = q.Add(2);
  uint64_t c = q.Add(3, /*done=*/true, /*ok=*/false);
  std::vector<std::pair<int, bool>> out;
  auto drain = [&] {
    q.Drain([&](int v, bool ok) {
      out.emplace_back(v, ok);
      return true;
    });
  };
  EXPECT_TRUE(q.Done(b, true));
  drain();
  EXPECT_TRUE(out.empty()) << "1 is not done";
  EXPECT_TRUE(q.Done(a, true));
  drain();
  EXPECT_EQ(out, (std::vector<std::pair<int, bool>>{{1, true}, {2, true}, {3, false}}));
  EXPECT_FALSE(q.Done(c, true)) << "gone already";
  uint64_t d = q.Add(4);
  q.Clear();
  EXPECT_FALSE(q.Done(d, true));
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace warren::store::test
