// The node's gRPC port serves the Cluster service beside Admin, to peers
// that hold the secret of the node's data directory and to no one else.
#include <string>

#include <gtest/gtest.h>

#include "admin_fixture.h"
#include "broker/cluster/cluster_service.h"
#include "broker/cluster/secret.h"

namespace warren::admin_test {
namespace {

TEST(ClusterPortTest, ThePeerWithTheSecretFileTheNodeMadeIsServedAndAnotherIsNot) {
  AdminNode node;
  bool created = true;
  cluster::Secret secret =
      cluster::Secret::LoadOrCreate((node.data_dir() / "cluster-secret").string(), created);
  EXPECT_FALSE(created) << "the node made its secret file at start";
  std::string name;
  grpc::Status s = cluster::PeerClient(node.grpc_address(), secret, "warren@peer").Ping(name);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(name, "warren@admin-test");
  s = cluster::PeerClient(node.grpc_address(), cluster::Secret::FromText("NOT-IT"), "warren@peer")
          .Ping(name);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace warren::admin_test
