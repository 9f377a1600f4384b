// The health checks of rabbitmq-diagnostics, under its names and exit codes
// (services/ctl/README.md, "Health checks"): ping, await_startup, check_running,
// check_local_alarms, check_port_connectivity and
// check_if_node_is_quorum_critical. Each passes with exit 0 and one line,
// and fails with 69 (EX_UNAVAILABLE), or 75 when the node did not answer in
// time; --silent leaves only the exit status.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "ctl/command.h"
#include "ctl/error.h"

namespace warren::ctl {
namespace {

using Clock = std::chrono::steady_clock;

// A passed check's line: hidden only by --silent (not by --quiet, as
// rabbitmq-diagnostics prints it).
void Passed(const Context& ctx, const std::string& line) {
  if (ctx.options.silent) return;
  if (ctx.out.json()) {
    ctx.out.PrintJson({{"result", "ok"}, {"message", line}});
    return;
  }
  std::cout << line << '\n';
}

// A failed check: exit 69 with `why`, or with nothing printed under --silent.
[[noreturn]] void Failed(const Context& ctx, const std::string& why) {
  throw CtlError(kExitUnavailable, ctx.options.silent ? "" : why);
}

long long Milliseconds(double seconds) { return static_cast<long long>(seconds * 1000); }

// HOST of the -n HOST:PORT ("[::1]:25672" gives "::1").
std::string HostOf(const std::string& node) {
  std::string host = node.substr(0, node.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host;
}

// Opens and closes a TCP connection to host:port within `timeout_ms`; the
// reason when it could not.
std::string Connect(const std::string& host, uint32_t port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return gai_strerror(rc);
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = poll(&p, 1, timeout_ms);
      if (rc == 0) {
        errno = ETIMEDOUT;
        rc = -1;
      } else if (rc > 0) {
        int error = 0;
        socklen_t size = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        errno = error;
        rc = error == 0 ? 0 : -1;
      }
    }
    if (rc != 0) why = std::strerror(errno);
    close(fd);
    if (rc == 0) {
      freeaddrinfo(found);
      return "";
    }
  }
  freeaddrinfo(found);
  return why;
}

// This node's own entry in cluster_status; none when it is in no cluster's
// configuration.
const v1::ClusterMember* Self(const v1::ClusterStatusResponse& status) {
  return MemberById(status, status.self_id());
}

bool AppRunning(const v1::ClusterStatusResponse& status) {
  const v1::ClusterMember* self = Self(status);
  return self == nullptr || self->running();
}

void AddPing(Commands& commands) {
  commands.Add("ping", "Checks that the node's process answers (exit 69 when it does not)",
               [](Context& ctx) {
    long long ms = Milliseconds(ctx.options.timeout_seconds);
    ctx.out.Info("Will ping " + ctx.options.node +
                 ". This only checks that the node's process answers. Timeout: " +
                 std::to_string(ms) + " ms.");
    try {
      ctx.client.Call(&v1::Admin::Stub::Status, v1::Empty());
    } catch (const CtlError&) {
      Failed(ctx, "Failed to connect and authenticate to " + ctx.options.node + " in " +
                      std::to_string(ms) + " ms");
    }
    Passed(ctx, "Ping succeeded");
  });
}

// Waits for the node to answer with its application running: what a
// container's start script runs before anything else talks to it.
void AddAwaitStartup(Commands& commands) {
  commands.Add("await_startup",
               "Waits until the node runs (-t seconds, 300 by default; exit 75 past it)",
               [](Context& ctx) {
    double wait_s = ctx.options.timeout_given ? ctx.options.timeout_seconds : 300;
    Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(Milliseconds(wait_s));
    Clock::time_point next_note = Clock::now() + std::chrono::seconds(10);
    for (;;) {
      double left = std::chrono::duration<double>(deadline - Clock::now()).count();
      if (left <= 0) break;
      Options attempt = ctx.options;
      attempt.timeout_seconds = std::min(left, 5.0);
      AdminClient client(attempt);
      try {
        if (AppRunning(client.Call(&v1::Admin::Stub::ClusterStatus, v1::Empty()))) return;
      } catch (const CtlError& e) {
        // A refused login or a refused command will not get better by waiting.
        if (e.code != kExitUnavailable && e.code != kExitTempFail) throw;
      }
      if (Clock::now() >= next_note) {
        ctx.out.Info("Still booting, will check again in 10 seconds...");
        next_note += std::chrono::seconds(10);
      }
      // A poll interval while the node starts, not a synchronisation.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw CtlError(kExitTempFail, "node " + ctx.options.node + " was not running within " +
                                      std::to_string(Milliseconds(wait_s)) + " ms");
  });
}

void AddCheckRunning(Commands& commands) {
  commands.Add("check_running", "Exit 69 unless the node's application runs (see stop_app)",
               [](Context& ctx) {
    ctx.out.Info("Checking if Warren is running on node " + ctx.options.node + " ...");
    v1::ClusterStatusResponse status = ctx.client.Call(&v1::Admin::Stub::ClusterStatus, v1::Empty());
    std::string node = status.node().node_name();
    if (!AppRunning(status))
      Failed(ctx, "Warren on node " + node +
                      " is not running (its application was stopped: start it with start_app)");
    Passed(ctx, "Warren on node " + node + " is fully booted and running");
  });
}

void AddCheckLocalAlarms(Commands& commands) {
  commands.Add("check_local_alarms", "Exit 69 if the node has a memory or disk alarm",
               [](Context& ctx) {
    ctx.out.Info("Asking node " + ctx.options.node + " to report any local resource alarms ...");
    v1::StatusResponse status = ctx.client.Call(&v1::Admin::Stub::Status, v1::Empty());
    if (status.alarms_size() > 0) {
      std::string lines;
      for (const auto& alarm : status.alarms())
        lines += (lines.empty() ? "" : "; ") + AlarmLine(alarm, status.node_name());
      Failed(ctx, "node " + status.node_name() + " reported local alarms: " + lines);
    }
    Passed(ctx, "Node " + status.node_name() + " reported no local alarms");
  });
}

// Connects from here to every listener the node reports, at the -n host or
// at --address: what a load balancer or a client on this machine would do.
void AddCheckPortConnectivity(Commands& commands) {
  auto address = Args<std::string>();
  CLI::App* command = commands.Add(
      "check_port_connectivity", "Exit 69 unless a TCP connection to each listener succeeds",
      [address](Context& ctx) {
    std::string host = address->empty() ? HostOf(ctx.options.node) : *address;
    ctx.out.Info("Testing TCP connections to all active listeners on node " + ctx.options.node +
                 (address->empty() ? " using hostname resolution ..."
                                   : " using " + host + " for node IP address ..."));
    v1::StatusResponse status = ctx.client.Call(&v1::Admin::Stub::Status, v1::Empty());
    int per_listener = static_cast<int>(Milliseconds(ctx.options.timeout_seconds) /
                                        (status.listeners_size() + 1));
    std::vector<uint32_t> ports;
    std::string failed;
    for (const auto& l : status.listeners()) {
      ctx.out.Info("Will connect to " + host + ":" + std::to_string(l.port()));
      std::string why = Connect(host, l.port(), std::max(per_listener, 1));
      if (why.empty()) {
        ports.push_back(l.port());
        continue;
      }
      failed += (failed.empty() ? "" : "; ") + std::string("interface: ") + l.address() +
                ", port: " + std::to_string(l.port()) + ", protocol: " + l.protocol() +
                ", purpose: " + Purpose(l.protocol()) + " (" + why + ")";
    }
    if (!failed.empty())
      Failed(ctx, "connection to ports of the following listeners on node " +
                      status.node_name() + " failed: " + failed);
    std::sort(ports.begin(), ports.end());
    std::string list;
    for (uint32_t p : ports) list += (list.empty() ? "" : ", ") + std::to_string(p);
    Passed(ctx, "Successfully connected to ports " + list + " on node " + status.node_name() +
                    (address->empty() ? " (using node hostname resolution)"
                                      : " (using " + host + " for target IP address)"));
  });
  command->add_option("-a,--address", *address, "connect to this address instead of the -n host");
}

// Would stopping this node leave the cluster's metadata (its Raft group)
// without a majority of running voters? Queues are not replicated yet, so
// the metadata is what a node can be critical for.
void AddCheckQuorumCritical(Commands& commands) {
  commands.Add("check_if_node_is_quorum_critical",
               "Exit 69 if stopping the node would leave the cluster without a majority",
               [](Context& ctx) {
    ctx.out.Info("Checking if node " + ctx.options.node + " is critical for quorum of the "
                 "cluster's metadata ...");
    v1::ClusterStatusResponse status = ctx.client.Call(&v1::Admin::Stub::ClusterStatus, v1::Empty());
    std::string node = status.node().node_name();
    if (status.members_size() <= 1) {
      Passed(ctx, "Node " + node +
                      " seems to be the only one in a single node cluster, the check does not "
                      "apply");
      return;
    }
    const v1::ClusterMember* self = Self(status);
    int voters = 0, running = 0;
    for (const auto& m : status.members()) {
      if (!m.voter()) continue;
      ++voters;
      running += m.running() ? 1 : 0;
    }
    int quorum = voters / 2 + 1;
    bool counts = self != nullptr && self->voter() && self->running();
    if (counts && running - 1 < quorum)
      Failed(ctx, "the cluster's metadata will become unavailable if node " + node + " stops (" +
                      std::to_string(running) + " of " + std::to_string(voters) +
                      " voting members run; " + std::to_string(quorum) + " are needed)");
    Passed(ctx, "Node " + node + " is not critical for the quorum of the cluster's metadata");
  });
}

}  // namespace

void AddHealthCommands(Commands& commands) {
  AddPing(commands);
  AddAwaitStartup(commands);
  AddCheckRunning(commands);
  AddCheckLocalAlarms(commands);
  AddCheckPortConnectivity(commands);
  AddCheckQuorumCritical(commands);
}

}  // namespace warren::ctl
