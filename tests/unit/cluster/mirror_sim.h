// The replication simulator (docs/testing.md, "The replication simulator"):
// three members of one cluster in one process, on one manual clock, each
// running the code a node runs for mirrored queues: its store (a real one,
// in a temp dir), broker, metadata machine, Raft driver and gate, mirror
// planner, MirrorGuard (leases, restart holds, failover) and
// QueueReplicator with its MirrorCopies. Only the network is simulated:
// Raft messages, forwarded changes, lease renewals and each home-to-mirror
// stream (ordered, breaking as a gRPC stream does).
//
// A seed draws the faults (loss, duplication and delay, so reordering, of
// Raft messages; loss of forwarded changes and lease renewals; delay of
// stream ops; streams broken; members crashed and restarted; members cut
// off from the others both ways, or only from sending; and, in the sync
// scenario, the home crashed while a mirror copies its backlog) and two confirming publishers and an acking consumer
// that follow the queue to its home. Then everything heals and the run must
// come back to one home with every mirror in sync and the queue drained.
// The oracle then checks that every confirmed message was delivered, that
// nothing was delivered that was never published, that each publisher's
// messages came in order apart from redeliveries, and, at every step, that
// no two members served the queue at once.
//
// Everything random comes from the seed, so a run replays exactly; the
// store syncs at the end of each step (fsync off: a crash here is a kill of
// the process, which loses nothing written).
#pragma once

#include <cstdint>
#include <string>

namespace warren::cluster::sim {

struct MirrorScenario {
  const char* name = "";
  int64_t chaos_ms = 30000;
  // Crash the home while one of its mirrors copies the backlog (the
  // consumer pauses, so there is one; small sync batches make it last).
  bool failover_during_sync = false;
};

struct MirrorRunResult {
  std::string failure;  // empty: every check passed
  uint64_t published = 0;
  uint64_t confirmed = 0;
  uint64_t delivered = 0;
  uint64_t redelivered = 0;
  uint64_t crashes = 0;
  uint64_t cut_offs = 0;
  uint64_t stream_breaks = 0;
  uint64_t slow_disks = 0;
  uint64_t moves = 0;            // the queue's home changed
  uint64_t crashed_in_sync = 0;  // homes crashed while a mirror synced
};

MirrorRunResult RunMirrorSeed(const MirrorScenario& scenario, uint64_t seed, bool trace);

}  // namespace warren::cluster::sim
