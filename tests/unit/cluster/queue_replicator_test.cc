// A home's feed (cluster/queue_replicator.h) as its mirror sees it: what the
// mirror is sent, and what comes next once it answers.
#include "broker/cluster/queue_replicator.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "../core/core_fixture.h"
#include "broker/cluster/mirror_link.h"
#include "broker/core/command.h"

namespace warren::cluster {
namespace {

using core::test::CoreTest;

// Keeps what the feed sends; the test answers the entries.
class HeldLink final : public MirrorLink {
 public:
  void MirrorReset(uint64_t, const std::string&, const std::string&, uint64_t) override {
    ++resets;
  }
  void MirrorEnter(uint64_t, const std::string&, const std::string&, uint64_t seq,
                   core::MessagePtr, std::function<void(bool)> held) override {
    seqs.push_back(seq);
    waiting.push_back(std::move(held));
  }
  void MirrorLeave(uint64_t, const std::string&, const std::string&,
                   std::vector<uint64_t>) override {}
  uint64_t Breaks(uint64_t) override { return 0; }
  bool Refusing(uint64_t) override { return false; }

  // Answers the first `n` entries not answered yet.
  void Hold(size_t n) {
    for (; n > 0 && answered < waiting.size(); --n) waiting[answered++](true);
  }

  int resets = 0;
  std::vector<uint64_t> seqs;
  std::vector<std::function<void(bool)>> waiting;
  size_t answered = 0;
};

class QueueReplicatorTest : public CoreTest {
 protected:
  static constexpr size_t kBatch = 10;

  QueueReplicatorTest() {
    broker_.set_self_member(1);
    amqp::FieldTable ha;
    ha.Set("ha-mode", amqp::FieldValue::Str("all"));
    ha.Set("ha-sync-mode", amqp::FieldValue::Str("automatic"));
    ha.Set("ha-sync-batch-size", amqp::FieldValue::Long(kBatch));
    EXPECT_TRUE(vh_->SetPolicy(core::Policy{"/", "ha", "^ha-", core::ApplyTo::kAll, 0, ha, {}})
                    .ok());
  }

  HeldLink link_;
  core::LocalGate gate_{broker_};
};

TEST_F(QueueReplicatorTest, ASyncSendsNoMoreBatchesThanTheMirrorMayOweAnswersFor) {
  constexpr size_t kOwed = QueueReplicator::kSyncBatchesUnheld;
  static_assert(kOwed * kBatch + kBatch < 100, "the backlog outlasts what may be owed");
  auto q = DeclareQueue("ha-q");
  for (int i = 0; i < 100; ++i) Publish("", "ha-q", "m" + std::to_string(i));
  ASSERT_TRUE(vh_->SetMirrors("ha-q", 1, core::Mirrors{{2}, {}, 1}).ok());
  QueueReplicator replicator(broker_, link_, gate_, runtime_, nullptr);
  // Ten ticks of a batch each, with no answer: what may be owed, then it
  // waits (sent on regardless, a mirror this slow would be dropped at 5 s
  // and synced again from the start, for ever).
  runtime_.Advance(1000);
  EXPECT_EQ(link_.resets, 1);
  EXPECT_EQ(link_.seqs.size(), kOwed * kBatch);
  // A batch held: room for one more, at the next tick.
  link_.Hold(kBatch);
  runtime_.Advance(100);
  EXPECT_EQ(link_.seqs.size(), (kOwed + 1) * kBatch);
  // Answered as it goes, the whole backlog goes, in order, and the mirror
  // joins the in-sync set.
  for (int tick = 0; tick < 20 && link_.seqs.size() < 100; ++tick) {
    link_.Hold(link_.waiting.size());
    runtime_.Advance(100);
  }
  link_.Hold(link_.waiting.size());
  runtime_.Advance(200);
  ASSERT_EQ(link_.seqs.size(), 100u);
  for (size_t i = 1; i < link_.seqs.size(); ++i) EXPECT_LT(link_.seqs[i - 1], link_.seqs[i]);
  EXPECT_EQ(link_.resets, 1) << "never dropped and started again";
  EXPECT_EQ(q->mirrors().in_sync, (std::vector<uint64_t>{2}));
}

}  // namespace
}  // namespace warren::cluster
