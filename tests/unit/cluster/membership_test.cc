// What join_cluster and forget_cluster_node are given (membership.h): node
// names and gRPC addresses, a member's entry in the configuration, and the
// member file a joined node starts from (member.h). Untrusted text: each
// malformed form is refused, none is taken for another.
#include "broker/cluster/membership.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "broker/cluster/member.h"
#include "temp_dir.h"

namespace warren::cluster {
namespace {

TEST(NodeAddressTest, ANodeNameMeansItsHostsClusterPort) {
  EXPECT_EQ(NodeAddress("warren@node1").value(), "node1:25672");
  EXPECT_EQ(NodeAddress("rabbit@node2").value(), "node2:25672");
}

TEST(NodeAddressTest, AnAddressIsTakenAsItIs) {
  EXPECT_EQ(NodeAddress("127.0.0.1:25673").value(), "127.0.0.1:25673");
  EXPECT_EQ(NodeAddress("node3:1").value(), "node3:1");
  EXPECT_EQ(NodeAddress("[::1]:25672").value(), "[::1]:25672");
}

TEST(NodeAddressTest, AnythingElseIsAUsageError) {
  for (const char* bad : {"", "node1", "warren@", "@node1", "a@b@c", "warren@host:1", "host:",
                          "host:0", "host:65536", "host:25x", ":25672", "::1:25672",
                          "a b:1", "warren@a b"}) {
    Result<std::string> r = NodeAddress(bad);
    ASSERT_FALSE(r.ok()) << "'" << bad << "' gave " << r.value();
    EXPECT_EQ(r.error().code, 400) << bad;
  }
  EXPECT_FALSE(NodeAddress(std::string(kMaxGrpcAddress, 'a') + ":1").ok()) << "too long";
}

TEST(MemberAddressTest, AddressAndNameComeBackAsTheyWent) {
  MemberAddress a{"127.0.0.1:25671", "warren@n1"};
  EXPECT_EQ(EncodeMemberAddress(a), "127.0.0.1:25671 warren@n1");
  MemberAddress back = DecodeMemberAddress(EncodeMemberAddress(a));
  EXPECT_EQ(back.grpc, a.grpc);
  EXPECT_EQ(back.node, a.node);
  MemberAddress seed = DecodeMemberAddress("node1:25672");  // a seed: no name yet
  EXPECT_EQ(seed.grpc, "node1:25672");
  EXPECT_EQ(seed.node, "");
}

class MemberFileTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) {
    std::filesystem::create_directories(dir_ / "cluster");
    std::ofstream(dir_ / "cluster" / "member", std::ios::binary) << text;
  }
  Result<uint64_t> Read() const { return Member::RecordedId(dir_.path().string()); }

  testkit::TempDir dir_{"member-file"};
};

TEST_F(MemberFileTest, NoFileIsNoCluster) {
  ASSERT_TRUE(Read().ok());
  EXPECT_EQ(Read().value(), 0u);
}

TEST_F(MemberFileTest, EnrolRecordsTheIdAndEraseForgetsIt) {
  ASSERT_TRUE(Member::Enrol(dir_.path().string(), 4,
                            {{1, "127.0.0.1:1 warren@a"}, {2, "127.0.0.1:2"}, {4, "self"}})
                  .ok());
  ASSERT_TRUE(Read().ok()) << Read().error().text;
  EXPECT_EQ(Read().value(), 4u);
  ASSERT_TRUE(Member::Erase(dir_.path().string()).ok());
  EXPECT_EQ(Read().value(), 0u);
}

TEST_F(MemberFileTest, AFileWithPeersReadsBack) {
  Write("id 3\npeer 1 127.0.0.1:25671 warren@n1\npeer 2 node2:25672\n");
  ASSERT_TRUE(Read().ok()) << Read().error().text;
  EXPECT_EQ(Read().value(), 3u);
}

TEST_F(MemberFileTest, ADamagedFileRefusesStartInsteadOfBeingGuessedAt) {
  for (const char* bad : {"", "id 0\n", "id x\n", "id 3", "id 3 \n", "id -1\n", "peer 1 a\n",
                          "id 3\npeer 0 a\n", "id 3\npeer 1\n", "id 3\npeer 1 \n", "id 3\nid 4\n",
                          "id 3\n\n"}) {
    Write(bad);
    EXPECT_FALSE(Read().ok()) << "'" << bad << "'";
  }
  Write("id 3\npeer 1 " + std::string(70000, 'a') + "\n");
  EXPECT_FALSE(Read().ok()) << "past the file's bound";
}

}  // namespace
}  // namespace warren::cluster
