// Keeps one thread ahead of the rest of its process for the CPU
// (docs/architecture.md, "Threads"). A node's event loop is where every
// message and every answer passes; on a machine with few cores, the node's
// own helper threads (the store's sync thread, the links' writers and
// readers, gRPC's pollers) woke often enough to preempt it, and each
// preemption delayed everything queued behind it.
//
// Raising a thread's nice value needs no privilege, so the helpers are made
// nicer rather than the loop less nice. Threads a nicer thread starts inherit
// its value; a thread started by the loop is caught by the next call.
#pragma once

namespace warren {

// Sets every other thread of this process to at least the calling thread's
// nice value plus `delta` (capped at 19). Returns how many threads changed;
// a thread that ended meanwhile is skipped.
int NiceOtherThreads(int delta);

}  // namespace warren
