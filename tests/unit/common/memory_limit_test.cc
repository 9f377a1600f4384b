// CgroupMemoryLimit over a made-up /proc/self/cgroup and /sys/fs/cgroup: the
// layouts of cgroup v1 and v2, on a host and inside a container.
#include "common/memory_limit.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace warren {
namespace {

struct Layout {
  const char* name;
  std::vector<std::pair<std::string, std::string>> files;  // path under the root, content
  uint64_t limit;
};

const Layout kLayouts[] = {
    {"NoControlGroupFilesMeanNoLimit", {}, 0},
    {"V2TheGroupsOwnLimit",
     {{"proc/self/cgroup", "0::/system.slice/app.service\n"},
      {"sys/fs/cgroup/system.slice/app.service/memory.max", "1073741824\n"}},
     1073741824},
    {"V2MaxIsNoLimitAndAnAncestorsLimitCounts",
     {{"proc/self/cgroup", "0::/kubepods/pod1/c1\n"},
      {"sys/fs/cgroup/kubepods/pod1/c1/memory.max", "max\n"},
      {"sys/fs/cgroup/kubepods/pod1/memory.max", "536870912\n"},
      {"sys/fs/cgroup/kubepods/memory.max", "8589934592\n"}},
     536870912},
    {"V2InsideAContainerTheMountIsTheGroup",
     {{"proc/self/cgroup", "0::/\n"}, {"sys/fs/cgroup/memory.max", "268435456\n"}},
     268435456},
    {"V1TheMemoryControllersGroup",
     {{"proc/self/cgroup", "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n"},
      {"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "1073741824\n"},
      {"sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n"}},
     1073741824},
    // /proc names the host's path, which the container's mount does not hold.
    {"V1InsideAContainerTheMountsRootFileIsTheGroups",
     {{"proc/self/cgroup", "4:memory:/docker/abc\n"},
      {"sys/fs/cgroup/memory/memory.limit_in_bytes", "536870912\n"}},
     536870912},
    {"V1UnlimitedAndMalformedValuesAreNoLimit",
     {{"proc/self/cgroup", "4:memory:/a\n"},
      {"sys/fs/cgroup/memory/a/memory.limit_in_bytes", "9223372036854771712\n"},
      {"sys/fs/cgroup/memory/memory.limit_in_bytes", "12abc\n"}},
     0},
    {"APathClimbingOutOfTheHierarchyIsIgnored",
     {{"proc/self/cgroup", "0::/../../etc\n"},
      {"sys/fs/cgroup/memory.max", "4096\n"},
      {"etc/memory.max", "1024\n"}},
     0},
};

class CgroupMemoryLimitTest : public ::testing::TestWithParam<Layout> {};

TEST_P(CgroupMemoryLimitTest, GivesTheSmallestLimitOfTheGroup) {
  testkit::TempDir dir("cgroup");
  for (const auto& [relative, text] : GetParam().files) {
    std::filesystem::path p = dir.path() / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  EXPECT_EQ(CgroupMemoryLimit(dir.path().string()), GetParam().limit);
}

INSTANTIATE_TEST_SUITE_P(Layouts, CgroupMemoryLimitTest, ::testing::ValuesIn(kLayouts),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(AvailableMemoryTest, IsAtMostTheMachinesRamAndNeverZero) {
  uint64_t ram =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t available = AvailableMemory();
  EXPECT_GT(available, 0u);
  EXPECT_LE(available, ram);
}

}  // namespace
}  // namespace warren
