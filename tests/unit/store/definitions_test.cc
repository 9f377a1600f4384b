// The definitions log: what is put survives a reopen, deletes cascade as the
// model's do, and a damaged tail costs only the damaged records.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "broker/store/definitions.h"

namespace warren::store {
namespace {

class DefinitionsTest : public ::testing::Test {
 protected:
  DefinitionsTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("warren-defs-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~DefinitionsTest() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<DefinitionsLog> Open(bool* fresh_out = nullptr) {
    auto log = std::make_unique<DefinitionsLog>();
    bool fresh = false;
    Status s = log->Open(dir_.string(), (dir_ / "damaged").string(), fresh);
    EXPECT_TRUE(s.ok()) << s.error().text;
    if (fresh_out) *fresh_out = fresh;
    return log;
  }

  static core::BindingDef Binding(const std::string& source, const std::string& queue) {
    return core::BindingDef{"/", source, true, queue, "key", {}};
  }

  std::filesystem::path dir_;
};

TEST_F(DefinitionsTest, FirstOpenIsFreshAndLaterOnesAreNot) {
  bool fresh = false;
  Open(&fresh);
  EXPECT_TRUE(fresh);
  Open(&fresh);
  EXPECT_FALSE(fresh);
}

TEST_F(DefinitionsTest, EverythingPutSurvivesAReopen) {
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutUser({"admin", "hash", {"administrator"}});
    log->PutPermissions({"admin", "/", ".*", "w", "r"});
    amqp::FieldTable args;
    args.Set("alternate-exchange", amqp::FieldValue::Str("ae"));
    log->PutExchange({"/", "x", "topic", true, false, args});
    log->PutQueue({"/", "q", log->NewQueueId(), false, {}});
    log->PutBinding(Binding("x", "q"));
  }
  auto log = Open();
  const Definitions& d = log->model();
  EXPECT_EQ(d.vhosts.count("/"), 1u);
  ASSERT_EQ(d.users.count("admin"), 1u);
  EXPECT_EQ(d.users.at("admin").tags, std::vector<std::string>{"administrator"});
  ASSERT_EQ(d.permissions.count({"admin", "/"}), 1u);
  EXPECT_EQ(d.permissions.at({"admin", "/"}).write, "w");
  ASSERT_EQ(d.exchanges.count({"/", "x"}), 1u);
  EXPECT_EQ(d.exchanges.at({"/", "x"}).type, "topic");
  EXPECT_TRUE(d.exchanges.at({"/", "x"}).auto_delete);
  EXPECT_NE(d.exchanges.at({"/", "x"}).arguments.Find("alternate-exchange"), nullptr);
  ASSERT_EQ(d.queues.count({"/", "q"}), 1u);
  EXPECT_EQ(d.queues.at({"/", "q"}).id, 1u);
  ASSERT_EQ(d.bindings.size(), 1u);
  EXPECT_EQ(d.bindings.begin()->second, Binding("x", "q"));
}

// A cluster member keeps the record of a queue homed on another member
// (docs/cluster.md, "Queues across nodes") with that home; records written
// before clustering, which end at their arguments, are this node's own.
TEST_F(DefinitionsTest, AQueueKeepsItsHomeAndRecordsWithoutOneAreThisNodes) {
  {
    auto log = Open();
    log->PutVHost("/");
    amqp::FieldTable args;
    args.Set("x-max-length", amqp::FieldValue::Long(5));
    log->PutQueue({"/", "far", log->NewQueueId(), true, args, 3});
    log->PutQueue({"/", "near", log->NewQueueId(), false, args, 0});
  }
  auto log = Open();
  const Definitions& d = log->model();
  ASSERT_EQ(d.queues.count({"/", "far"}), 1u);
  EXPECT_EQ(d.queues.at({"/", "far"}).home, 3u);
  EXPECT_TRUE(d.queues.at({"/", "far"}).auto_delete);
  EXPECT_NE(d.queues.at({"/", "far"}).arguments.Find("x-max-length"), nullptr);
  ASSERT_EQ(d.queues.count({"/", "near"}), 1u);
  EXPECT_EQ(d.queues.at({"/", "near"}).home, 0u);
}

// A mirrored queue's record keeps its mirrors, in-sync set and epoch
// (core/mirroring.h), whether it is homed here (home 0) or elsewhere.
TEST_F(DefinitionsTest, AQueueKeepsItsMirrors) {
  core::Mirrors here{{2, 3}, {3}, 7};
  core::Mirrors far{{1}, {}, 1};
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutQueue({"/", "here", log->NewQueueId(), false, {}, 0, here});
    log->PutQueue({"/", "far", log->NewQueueId(), false, {}, 2, far});
    log->PutQueue({"/", "plain", log->NewQueueId(), false, {}, 0, {}});
  }
  auto log = Open();
  const Definitions& d = log->model();
  EXPECT_EQ(d.queues.at({"/", "here"}).mirrors, here);
  EXPECT_EQ(d.queues.at({"/", "here"}).home, 0u);
  EXPECT_EQ(d.queues.at({"/", "far"}).mirrors, far);
  EXPECT_EQ(d.queues.at({"/", "far"}).home, 2u);
  EXPECT_EQ(d.queues.at({"/", "plain"}).mirrors, core::Mirrors{});
}

TEST_F(DefinitionsTest, DeletesCascadeToBindingsAndPermissions) {
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutVHost("v");
    log->PutUser({"u", "h", {}});
    log->PutPermissions({"u", "v", ".*", ".*", ".*"});
    log->PutExchange({"/", "x", "direct", false, false, {}});
    log->PutQueue({"/", "q1", log->NewQueueId(), false, {}});
    log->PutQueue({"/", "q2", log->NewQueueId(), false, {}});
    log->PutBinding(Binding("x", "q1"));
    log->PutBinding(Binding("x", "q2"));
    log->DeleteQueue("/", "q1");
    log->DeleteVHost("v");
  }
  auto log = Open();
  const Definitions& d = log->model();
  EXPECT_EQ(d.vhost_names(), (std::set<std::string>{"/"}));
  EXPECT_TRUE(d.permissions.empty());
  EXPECT_EQ(d.queues.count({"/", "q1"}), 0u);
  ASSERT_EQ(d.bindings.size(), 1u);
  EXPECT_EQ(d.bindings.begin()->second.destination, "q2");
  log->DeleteExchange("/", "x");
  EXPECT_TRUE(log->model().bindings.empty());
}

TEST_F(DefinitionsTest, PoliciesSurviveAReopenAndGoWithTheirVHost) {
  amqp::FieldTable def;
  def.Set("message-ttl", amqp::FieldValue::Long(1000));
  def.Set("ha-params", amqp::FieldValue::Array({amqp::FieldValue::Str("rabbit@a")}));
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutVHost("v");
    log->PutPolicy({"/", "ttl", "^work", core::ApplyTo::kQueues, -3, def});
    log->PutPolicy({"/", "gone", ".*", core::ApplyTo::kAll, 0, def});
    log->PutPolicy({"v", "other", ".*", core::ApplyTo::kExchanges, 1, def});
    log->DeletePolicy("/", "gone");
    // A second put of the same name replaces the first.
    log->PutPolicy({"/", "ttl", "^work$", core::ApplyTo::kQueues, -3, def});
  }
  auto log = Open();
  const Definitions& d = log->model();
  ASSERT_EQ(d.policies.size(), 2u);
  const core::PolicyDef& p = d.policies.at({"/", "ttl"});
  EXPECT_EQ(p.pattern, "^work$");
  EXPECT_EQ(p.apply_to, core::ApplyTo::kQueues);
  EXPECT_EQ(p.priority, -3);
  EXPECT_EQ(p.definition, def);
  EXPECT_EQ(d.policies.at({"v", "other"}).apply_to, core::ApplyTo::kExchanges);
  log->DeleteVHost("v");
  EXPECT_EQ(log->model().policies.count({"v", "other"}), 0u);
  log.reset();
  EXPECT_EQ(Open()->model().policies.size(), 1u);
}

// docs/parameters.md: vhost metadata, operator policies (apart from the
// policies of the same name) and runtime parameters, global and per vhost.
TEST_F(DefinitionsTest, ParametersOperatorPoliciesAndVHostMetadataSurviveAReopen) {
  amqp::FieldTable def;
  def.Set("max-length", amqp::FieldValue::Long(10));
  core::VHostMetadata meta{"orders", {"prod", "eu"}, "quorum", true};
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutVHost("v", meta);
    log->PutPolicy({"v", "p", ".*", core::ApplyTo::kQueues, 0, def});
    log->PutPolicy({"v", "p", "^op", core::ApplyTo::kAll, 2, def, true});
    log->PutPolicy({"v", "gone", ".*", core::ApplyTo::kAll, 0, def, true});
    log->DeletePolicy("v", "gone", true);
    log->PutParameter({"vhost-limits", "v", "limits", R"({"max-queues":3})"});
    log->PutParameter({"", "", "cluster_name", R"("c1")"});
    log->PutParameter({"", "", "stale", "1"});
    log->DeleteParameter({"", "", "stale"});
  }
  Open();  // compacts
  auto log = Open();
  const Definitions& d = log->model();
  EXPECT_EQ(d.vhosts.at("v"), meta);
  EXPECT_EQ(d.vhosts.at("/"), core::VHostMetadata{}) << "a record with no metadata";
  ASSERT_EQ(d.policies.size(), 1u);
  EXPECT_EQ(d.policies.at({"v", "p"}).pattern, ".*");
  ASSERT_EQ(d.operator_policies.size(), 1u);
  const core::PolicyDef& op = d.operator_policies.at({"v", "p"});
  EXPECT_TRUE(op.operator_policy);
  EXPECT_EQ(op.pattern, "^op");
  EXPECT_EQ(op.priority, 2);
  EXPECT_EQ(op.definition, def);
  ASSERT_EQ(d.parameters.size(), 2u);
  EXPECT_EQ(d.parameters.at({"vhost-limits", "v", "limits"}).value, R"({"max-queues":3})");
  EXPECT_EQ(d.parameters.at({"", "", "cluster_name"}).value, R"("c1")");
  log->DeletePolicy("v", "p", false);
  EXPECT_EQ(log->model().operator_policies.size(), 1u) << "the user policy of that name only";
  log->DeleteVHost("v");
  EXPECT_TRUE(log->model().operator_policies.empty());
  EXPECT_EQ(log->model().parameters.size(), 1u) << "the vhost's parameters go with it";
  log.reset();
  EXPECT_EQ(Open()->model().parameters.size(), 1u);
}

TEST_F(DefinitionsTest, TopicPermissionsAndUserLimitsSurviveAReopenAndGoWithTheirOwners) {
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutVHost("v");
    log->PutUser({"alice", "hash", {"management"}, {{"max-connections", 3}, {"max-channels", -1}}});
    log->PutUser({"bob", "hash", {}});
    log->PutTopicPermission({"alice", "/", "amq.topic", "^a", "^r"});
    log->PutTopicPermission({"alice", "v", "amq.topic", "^a", "^r"});
    log->PutTopicPermission({"bob", "/", "logs", "", ".*"});
    log->PutTopicPermission({"bob", "/", "gone", "", ".*"});
    log->DeleteTopicPermission("bob", "/", "gone");
  }
  Open();  // compacts
  auto log = Open();
  const Definitions& d = log->model();
  EXPECT_EQ(d.users.at("alice").limits,
            (core::UserLimits{{"max-channels", -1}, {"max-connections", 3}}));
  EXPECT_TRUE(d.users.at("bob").limits.empty());
  ASSERT_EQ(d.topic_permissions.size(), 3u);
  const core::TopicPermissionDef& p = d.topic_permissions.at({"alice", "/", "amq.topic"});
  EXPECT_EQ(p.write, "^a");
  EXPECT_EQ(p.read, "^r");
  EXPECT_EQ(d.topic_permissions.at({"bob", "/", "logs"}).write, "");
  log->DeleteVHost("v");
  EXPECT_EQ(log->model().topic_permissions.size(), 2u);
  log->DeleteUser("alice");
  EXPECT_EQ(log->model().topic_permissions.size(), 1u);
  log.reset();
  EXPECT_EQ(Open()->model().topic_permissions.size(), 1u);
}

TEST_F(DefinitionsTest, QueueIdsAreNeverReusedAfterADelete) {
  {
    auto log = Open();
    log->PutQueue({"/", "a", log->NewQueueId(), false, {}});
    log->PutQueue({"/", "b", log->NewQueueId(), false, {}});
    log->DeleteQueue("/", "b");
  }
  auto log = Open();
  Open();  // a second compaction must keep the high-water mark too
  log = Open();
  EXPECT_EQ(log->NewQueueId(), 3u);
}

TEST_F(DefinitionsTest, TheClusterLogPositionSurvivesReopensAndCompactions) {
  {
    auto log = Open();
    EXPECT_EQ(log->model().metadata_applied, 0u) << "a node alone never records one";
    log->PutVHost("v");
    log->PutMetadataApplied(7);
    log->PutQueue({"v", "q", log->NewQueueId(), false, {}});
    log->PutMetadataApplied(8);
  }
  Open();  // compacts
  auto log = Open();
  EXPECT_EQ(log->model().metadata_applied, 8u);
  EXPECT_EQ(log->model().queues.count({"v", "q"}), 1u);
}

TEST_F(DefinitionsTest, ADamagedTailDropsOnlyWhatFollowsTheDamage) {
  {
    auto log = Open();
    log->PutVHost("kept");
  }
  {
    // Appended after the compacted part: a record, then a torn one.
    auto log = Open();
    log->PutVHost("also-kept");
    log->PutVHost("torn");
  }
  auto path = dir_ / "definitions.log";
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 2);
  auto log = Open();
  EXPECT_EQ(log->model().vhost_names(), (std::set<std::string>{"also-kept", "kept"}));
}

}  // namespace
}  // namespace warren::store
