// How the topic files (users.cc, user_limits.cc, vhosts.cc,
// topic_permissions.cc, policies.cc, parameters.cc, listings.cc, queues.cc,
// node.cc, health.cc, definitions.cc) add their commands: Commands::Add
// makes a CLI11 subcommand that also accepts the options rabbitmqctl takes
// after any command (--formatter, -q, -t/--timeout), and remembers what it
// runs. main() parses, resolves Options, then runs the chosen command.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "ctl/client.h"
#include "ctl/columns.h"
#include "ctl/output.h"

namespace warren::ctl {

struct Context {
  const Options& options;
  AdminClient& client;
  const Output& out;
};

using Run = std::function<void(Context&)>;

class Commands {
 public:
  Commands(CLI::App& app, Flags& flags) : app_(app), flags_(flags) {}

  CLI::App* Add(const std::string& name, const std::string& description, Run run);
  // `-p/--vhost VHOST` (default "/") on a command, as rabbitmqctl has it.
  static void AddVhost(CLI::App* command, std::string& vhost);
  // `[--no-table-headers] [COLUMN...]` for the listings; no COLUMN
  // arguments when `columns` is null.
  void AddColumns(CLI::App* command, std::vector<std::string>* columns);

  // The command the command line chose, or null.
  const Run* Chosen() const;

 private:
  CLI::App& app_;
  Flags& flags_;
  std::map<const CLI::App*, Run> runs_;
};

// Arguments of one command, kept alive by the closure that runs it.
template <typename T>
std::shared_ptr<T> Args() {
  return std::make_shared<T>();
}

// "name" in double quotes, as rabbitmqctl's info lines show names.
inline std::string Quoted(const std::string& name) { return "\"" + name + "\""; }

// `text` with the first `key` (e.g. "{vhost}") replaced by `value`.
std::string Fill(std::string text, const std::string& key, const std::string& value);

// A JSON argument (VALUE, DEFINITION) parsed; CtlError(kExitDataErr) naming
// `what` when it is not JSON, nests too deep or, with `object`, is not an
// object.
nlohmann::ordered_json CheckJson(const std::string& what, const std::string& text, bool object);

// A listing of the rows one name selects: list_permissions and
// list_policies (-p VHOST), list_user_permissions USER. `Ref` is the request
// with that name (VHostRef, UserRef); `banner` has it for "{name}". Returns the
// command, and the string its -p option or positional argument fills.
template <typename Ref, typename Response, typename Msg>
std::pair<CLI::App*, std::shared_ptr<std::string>> AddNamedListing(
    Commands& commands, const std::string& name, const std::string& description,
    const std::string& banner, Method<Ref, Response> method,
    const google::protobuf::RepeatedPtrField<Msg>& (Response::*rows)() const,
    Listing<Msg> listing) {
  auto selected = Args<std::string>();
  CLI::App* command = commands.Add(name, description, [=](Context& ctx) {
    ctx.out.Info(Fill(banner, "{name}", *selected));
    Ref request;
    request.set_name(*selected);
    Response response = ctx.client.Call(method, request);
    ctx.out.Print(Select(listing, {}, (response.*rows)()));
  });
  commands.AddColumns(command, nullptr);
  return {command, selected};
}

void AddUserCommands(Commands& commands);
// set_user_limits, clear_user_limits, list_user_limits.
void AddUserLimitCommands(Commands& commands);
// set_, clear_, list_topic_permissions, list_user_topic_permissions.
void AddTopicPermissionCommands(Commands& commands);
void AddVhostCommands(Commands& commands);  // vhosts and permissions
void AddPolicyCommands(Commands& commands);     // and operator policies
// Runtime and global parameters, vhost limits, set_cluster_name.
void AddParameterCommands(Commands& commands);
void AddListingCommands(Commands& commands);
void AddQueueCommands(Commands& commands);  // purge, delete, close_connection
void AddNodeCommands(Commands& commands);   // status, cluster_status
// ping, await_startup and the check_* health checks of rabbitmq-diagnostics.
void AddHealthCommands(Commands& commands);

// A listener's purpose as status prints it ("AMQP 0-9-1"), and one alarm's
// line ("Memory alarm on node N"); node.cc.
std::string Purpose(const std::string& protocol);
std::string AlarmLine(const std::string& alarm, const std::string& node);
// The member of cluster_status with that id, or null.
const v1::ClusterMember* MemberById(const v1::ClusterStatusResponse& status, uint64_t id);
void AddDefinitionCommands(Commands& commands);

}  // namespace warren::ctl
