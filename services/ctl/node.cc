// status and cluster_status, in rabbitmqctl 3.13's section layout.
// cluster_status lists every member of the cluster (disk nodes) and those
// that answered the node asked just now (running nodes); versions, alarms
// and listeners are the node asked's own (docs/cluster.md, "cluster_status").
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "ctl/columns.h"
#include "ctl/command.h"

namespace warren::ctl {
namespace {

using json = nlohmann::ordered_json;

std::string Gigabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f gb", static_cast<double>(bytes) / 1e9);
  return text;
}

std::vector<std::string> AlarmLines(const v1::StatusResponse& s) {
  std::vector<std::string> lines;
  for (const auto& alarm : s.alarms()) lines.push_back(AlarmLine(alarm, s.node_name()));
  if (lines.empty()) lines.push_back("(none)");
  return lines;
}

void Section(const std::string& title, const std::vector<std::string>& lines) {
  std::cout << '\n' << title << "\n\n";
  for (const auto& line : lines) std::cout << line << '\n';
}

json ListenersJson(const v1::StatusResponse& s) {
  json out = json::array();
  for (const auto& l : s.listeners()) {
    out.push_back({{"interface", l.address()}, {"port", l.port()}, {"protocol", l.protocol()},
                   {"purpose", Purpose(l.protocol())}});
  }
  return out;
}

std::vector<std::string> ListenerLines(const v1::StatusResponse& s, const std::string& prefix) {
  std::vector<std::string> lines;
  for (const auto& l : s.listeners()) {
    lines.push_back(prefix + "nterface: " + l.address() + ", port: " + std::to_string(l.port()) +
                    ", protocol: " + l.protocol() + ", purpose: " + Purpose(l.protocol()));
  }
  return lines;
}

void PrintStatus(const Context& ctx, const v1::StatusResponse& s) {
  if (ctx.out.json()) {
    json out = json::object();
    for (const auto& field : FieldNames(v1::StatusResponse::descriptor())) {
      if (field != "listeners") out[field] = FieldValue(s, field);
    }
    out["listeners"] = ListenersJson(s);
    ctx.out.PrintJson(out);
    return;
  }
  ctx.out.Info("Status of node " + s.node_name() + " ...");
  std::cout << "Runtime\n\n"
            << "OS PID: " << s.pid() << "\nOS: Linux\nUptime (seconds): " << s.uptime_ms() / 1000
            << "\nIs under maintenance?: false\nRabbitMQ version: " << s.version()
            << "\nNode name: " << s.node_name() << "\nProduct name: " << s.product()
            << "\nProduct version: " << s.version() << '\n';
  Section("Data directory", {"Node data directory: " + s.data_dir()});
  Section("Alarms", AlarmLines(s));
  Section("Memory", {"Total memory used: " + Gigabytes(s.memory_bytes()),
                     "Calculation strategy: rss",
                     "Memory high watermark setting: " + Gigabytes(s.memory_limit())});
  Section("File Descriptors", {"Total: " + std::to_string(s.file_descriptors_used()) +
                                   ", limit: " + std::to_string(s.file_descriptors_limit())});
  Section("Free Disk Space", {"Low free disk space watermark: " + Gigabytes(s.disk_free_limit()),
                              "Free disk space: " + Gigabytes(s.disk_free())});
  Section("Listeners", ListenerLines(s, "I"));
}

// A member as cluster_status names it: its node name, or its gRPC address
// when the node asked has not reached it since it started.
std::string Shown(const v1::ClusterMember& m) {
  return m.node_name().empty() ? m.address() : m.node_name();
}

// The cluster's name, as the node asked reports it (docs/parameters.md:
// the same on every member).
std::string ClusterName(const v1::ClusterStatusResponse& c) {
  const std::string& name = c.node().cluster_name();
  return name.empty() ? c.node().node_name() : name;
}

std::vector<std::string> Names(const v1::ClusterStatusResponse& c, bool running_only) {
  std::vector<std::string> names;
  for (const auto& m : c.members())
    if (m.running() || !running_only) names.push_back(Shown(m));
  std::sort(names.begin(), names.end());
  return names;
}

const v1::ClusterMember* Leader(const v1::ClusterStatusResponse& c) {
  return MemberById(c, c.leader_id());
}

json MembersJson(const v1::ClusterStatusResponse& c) {
  json out = json::array();
  for (const auto& m : c.members()) {
    out.push_back({{"id", m.id()},
                   {"node_name", m.node_name().empty() ? json() : json(m.node_name())},
                   {"address", m.address()},
                   {"voter", m.voter()},
                   {"running", m.running()}});
  }
  return out;
}

void PrintClusterStatus(const Context& ctx, const v1::ClusterStatusResponse& c) {
  const v1::StatusResponse& s = c.node();
  const std::string& node = s.node_name();
  const v1::ClusterMember* leader = Leader(c);
  if (ctx.out.json()) {
    ctx.out.PrintJson({{"cluster_name", ClusterName(c)},
                       {"disk_nodes", Names(c, false)},
                       {"running_nodes", Names(c, true)},
                       {"versions", {{node, {{"product_name", s.product()},
                                             {"product_version", s.version()}}}}},
                       {"alarms", s.alarms()},
                       {"partitions", json::object()},
                       {"listeners", {{node, ListenersJson(s)}}},
                       {"leader", leader ? json(Shown(*leader)) : json()},
                       {"term", c.term()},
                       {"members", MembersJson(c)}});
    return;
  }
  ctx.out.Info("Cluster status of node " + node + " ...");
  std::cout << "Basics\n\nCluster name: " << ClusterName(c) << "\nMetadata leader: "
            << (leader ? Shown(*leader) + " (member " + std::to_string(leader->id()) +
                             ", term " + std::to_string(c.term()) + ")"
                       : std::string("(none known)"))
            << '\n';
  Section("Disk Nodes", Names(c, false));
  Section("Running Nodes", Names(c, true));
  Section("Versions", {node + ": " + s.product() + " " + s.version()});
  Section("Alarms", AlarmLines(s));
  Section("Network Partitions", {"(none)"});
  Section("Listeners", ListenerLines(s, "Node: " + node + ", i"));
}

// The name of the node -n reaches, for the info lines ("... node warren@node2").
std::string NodeName(Context& ctx) {
  return ctx.client.Call(&v1::Admin::Stub::Status, v1::Empty()).node_name();
}

// stop_app, start_app, reset: no arguments, one call, one info line.
void AddAppCommand(Commands& commands, const std::string& name, const std::string& description,
                   const std::string& info, Method<v1::Empty, v1::Empty> method) {
  commands.Add(name, description, [=](Context& ctx) {
    ctx.out.Info(Fill(info, "{node}", NodeName(ctx)));
    ctx.client.Call(method, v1::Empty());
  });
}

struct ForgetArgs {
  std::string node;
  bool offline = false;
};

void AddMembershipCommands(Commands& commands) {
  AddAppCommand(commands, "stop_app",
                "Stops AMQP on the node (closing its connections); the node stays in its cluster",
                "Stopping warren application on node {node} ...", &v1::Admin::Stub::StopApp);
  AddAppCommand(commands, "start_app", "Starts AMQP on the node again",
                "Starting node {node} ...", &v1::Admin::Stub::StartApp);
  AddAppCommand(commands, "reset",
                "Makes a stopped node leave its cluster and forget every definition and message",
                "Resetting node {node} ...", &v1::Admin::Stub::Reset);
  auto target = Args<std::string>();
  CLI::App* join = commands.Add(
      "join_cluster", "Makes a stopped node a member of the cluster another node is in",
      [target](Context& ctx) {
        ctx.out.Info("Clustering node " + NodeName(ctx) + " with " + *target);
        v1::JoinClusterRequest request;
        request.set_node(*target);
        auto response = ctx.client.Call(&v1::Admin::Stub::JoinCluster, request);
        if (response.already_member()) ctx.out.Info("The node is already a member of this cluster");
      });
  join->add_option("node", *target, "warren@HOST (gRPC port 25672) or HOST:PORT")->required();
  auto forget = Args<ForgetArgs>();
  CLI::App* command = commands.Add(
      "forget_cluster_node", "Removes a stopped node from the cluster, asked of another member",
      [forget](Context& ctx) {
        ctx.out.Info("Removing node " + forget->node + " from the cluster");
        v1::ForgetClusterNodeRequest request;
        request.set_node(forget->node);
        request.set_offline(forget->offline);
        ctx.client.Call(&v1::Admin::Stub::ForgetClusterNode, request);
      });
  command->add_option("node", forget->node, "the member's name or gRPC HOST:PORT")->required();
  command->add_flag("--offline", forget->offline,
                    "asked of a node whose application is stopped (stop_app)");
}

}  // namespace

std::string Purpose(const std::string& protocol) {
  if (protocol == "amqp") return "AMQP 0-9-1";
  if (protocol == "amqp/ssl") return "AMQP 0-9-1 over TLS";
  return protocol == "grpc" ? "Admin API (gRPC)" : protocol;
}

const v1::ClusterMember* MemberById(const v1::ClusterStatusResponse& status, uint64_t id) {
  for (const auto& m : status.members())
    if (m.id() == id) return &m;
  return nullptr;
}

std::string AlarmLine(const std::string& alarm, const std::string& node) {
  return (alarm == "disk" ? "Free disk space" : alarm == "memory" ? "Memory" : alarm) +
         std::string(" alarm on node ") + node;
}

void AddNodeCommands(Commands& commands) {
  AddMembershipCommands(commands);
  commands.Add("status", "Shows the node's runtime, memory, disk and listeners", [](Context& ctx) {
    PrintStatus(ctx, ctx.client.Call(&v1::Admin::Stub::Status, v1::Empty()));
  });
  commands.Add("cluster_status", "Shows the cluster's nodes: members, running, leader",
               [](Context& ctx) {
                 PrintClusterStatus(
                     ctx, ctx.client.Call(&v1::Admin::Stub::ClusterStatus, v1::Empty()));
               });
}

}  // namespace warren::ctl
