// CgroupMemoryLimit over a made-up /proc/self/cgroup and /sys/fs/cgroup: the
// layouts of cgroup v1 and v2, on a host and inside a container.
#include "common/memory_limit.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace warren {
namespace {

class CgroupMemoryLimitTest : public ::testing::Test {
 protected:
  void Write(const std::string& relative, const std::string& text) {
    std::filesystem::path p = dir_.path() / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  uint64_t Limit() { return CgroupMemoryLimit(dir_.path().string()); }

  testkit::TempDir dir_{"cgroup"};
};

TEST_F(CgroupMemoryLimitTest, NoControlGroupFilesMeanNoLimit) { EXPECT_EQ(Limit(), 0u); }

TEST_F(CgroupMemoryLimitTest, V2TheGroupsOwnLimit) {
  Write("proc/self/cgroup", "0::/system.slice/app.service\n");
  Write("sys/fs/cgroup/system.slice/app.service/memory.max", "1073741824\n");
  EXPECT_EQ(Limit(), 1073741824u);
}

TEST_F(CgroupMemoryLimitTest, V2MaxIsNoLimitAndAnAncestorsLimitCounts) {
  Write("proc/self/cgroup", "0::/kubepods/pod1/c1\n");
  Write("sys/fs/cgroup/kubepods/pod1/c1/memory.max", "max\n");
  Write("sys/fs/cgroup/kubepods/pod1/memory.max", "536870912\n");
  Write("sys/fs/cgroup/kubepods/memory.max", "8589934592\n");
  EXPECT_EQ(Limit(), 536870912u);
}

TEST_F(CgroupMemoryLimitTest, V2InsideAContainerTheMountIsTheGroup) {
  Write("proc/self/cgroup", "0::/\n");
  Write("sys/fs/cgroup/memory.max", "268435456\n");
  EXPECT_EQ(Limit(), 268435456u);
}

TEST_F(CgroupMemoryLimitTest, V1TheMemoryControllersGroup) {
  Write("proc/self/cgroup", "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n");
  Write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "1073741824\n");
  Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(Limit(), 1073741824u);
}

TEST_F(CgroupMemoryLimitTest, V1InsideAContainerTheMountsRootFileIsTheGroups) {
  // /proc names the host's path, which the container's mount does not hold.
  Write("proc/self/cgroup", "4:memory:/docker/abc\n");
  Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "536870912\n");
  EXPECT_EQ(Limit(), 536870912u);
}

TEST_F(CgroupMemoryLimitTest, V1UnlimitedAndMalformedValuesAreNoLimit) {
  Write("proc/self/cgroup", "4:memory:/a\n");
  Write("sys/fs/cgroup/memory/a/memory.limit_in_bytes", "9223372036854771712\n");
  Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "12abc\n");
  EXPECT_EQ(Limit(), 0u);
}

TEST_F(CgroupMemoryLimitTest, APathClimbingOutOfTheHierarchyIsIgnored) {
  Write("proc/self/cgroup", "0::/../../etc\n");
  Write("sys/fs/cgroup/memory.max", "4096\n");
  Write("etc/memory.max", "1024\n");
  EXPECT_EQ(Limit(), 0u);
}

TEST(AvailableMemoryTest, IsAtMostTheMachinesRamAndNeverZero) {
  uint64_t ram =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t available = AvailableMemory();
  EXPECT_GT(available, 0u);
  EXPECT_LE(available, ram);
}

}  // namespace
}  // namespace warren
