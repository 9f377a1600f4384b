// The memory a process may use when a control group bounds it (a container's
// memory limit), so that a relative memory_high_watermark is taken of that
// and not of the whole machine's RAM (docs/durability.md, "Alarms").
#pragma once

#include <cstdint>
#include <string>

namespace warren {

// The smallest memory limit of this process's control group and its
// ancestors, in bytes; 0 when none is set. Reads cgroup v2 (`0::PATH`,
// memory.max) and v1 (`N:memory:PATH`, memory.limit_in_bytes) from
// ROOT/proc/self/cgroup and ROOT/sys/fs/cgroup; `root` is "" but for tests.
// A container's file system may mount its own group as the hierarchy's
// root, so the mount's own file counts too.
uint64_t CgroupMemoryLimit(const std::string& root = "");

// The machine's RAM, or the control group's limit when that is lower.
uint64_t AvailableMemory();

}  // namespace warren
