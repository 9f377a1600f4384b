// Topic permissions as rabbitmqctl 3.13 has them: the patterns a user's
// routing keys must match to publish to (write) or bind from (read) one
// topic exchange of a vhost.
//   set_topic_permissions [-p vhost] USER EXCHANGE WRITE READ
//   clear_topic_permissions [-p vhost] USER [EXCHANGE]   (none: every exchange's)
//   list_topic_permissions [-p vhost], list_user_topic_permissions USER
// The node checks the patterns (a bad one: 65) and the names (67 for an
// unknown user).
#include "ctl/columns.h"
#include "ctl/command.h"

namespace warren::ctl {
namespace {

struct TopicPermissionArgs {
  std::string vhost, user, exchange, write, read;
};

std::string ForUserInVhost(const TopicPermissionArgs& a) {
  return "for user " + Quoted(a.user) + " in vhost " + Quoted(a.vhost) + " ...";
}

void SetTopicPermissions(Commands& commands) {
  auto args = Args<TopicPermissionArgs>();
  CLI::App* command = commands.Add(
      "set_topic_permissions", "Sets a user's write and read routing-key patterns on a topic "
      "exchange", [args](Context& ctx) {
        ctx.out.Info("Setting topic permissions on " + Quoted(args->exchange) + " " +
                     ForUserInVhost(*args));
        v1::TopicPermission request;
        request.set_vhost(args->vhost);
        request.set_user(args->user);
        request.set_exchange(args->exchange);
        request.set_write(args->write);
        request.set_read(args->read);
        ctx.client.Call(&v1::Admin::Stub::SetTopicPermission, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("username", args->user, "the user")->required();
  command->add_option("exchange", args->exchange, "the topic exchange")->required();
  command->add_option("write", args->write, "regex routing keys published must match")
      ->required();
  command->add_option("read", args->read, "regex binding keys must match")->required();
}

void ClearTopicPermissions(Commands& commands) {
  auto args = Args<TopicPermissionArgs>();
  CLI::App* command = commands.Add(
      "clear_topic_permissions", "Removes a user's topic permissions on a vhost, or on one "
      "exchange of it", [args](Context& ctx) {
        ctx.out.Info("Clearing topic permissions " +
                     (args->exchange.empty() ? "" : "on " + Quoted(args->exchange) + " ") +
                     ForUserInVhost(*args));
        v1::ClearTopicPermissionsRequest request;
        request.set_vhost(args->vhost);
        request.set_user(args->user);
        request.set_exchange(args->exchange);
        ctx.client.Call(&v1::Admin::Stub::ClearTopicPermissions, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("username", args->user, "the user")->required();
  command->add_option("exchange", args->exchange, "only this exchange's (default: all)");
}

// list_topic_permissions (-p VHOST) and list_user_topic_permissions USER:
// the node's listing filtered by the one name.
void ListTopicPermissions(Commands& commands, const std::string& name,
                          const std::string& description, bool by_user,
                          std::vector<std::string> columns) {
  auto args = Args<TopicPermissionArgs>();
  CLI::App* command = commands.Add(name, description, [=](Context& ctx) {
    ctx.out.Info("Listing topic permissions for " +
                 (by_user ? "user " + Quoted(args->user) : "vhost " + Quoted(args->vhost)) +
                 " ...");
    v1::ListTopicPermissionsRequest request;
    if (by_user) request.set_user(args->user);
    else request.set_vhost(args->vhost);
    auto response = ctx.client.Call(&v1::Admin::Stub::ListTopicPermissions, request);
    Listing<v1::TopicPermission> listing{columns, {}};
    ctx.out.Print(Select(listing, {}, response.topic_permissions()));
  });
  if (by_user) command->add_option("username", args->user, "the user")->required();
  else Commands::AddVhost(command, args->vhost);
  commands.AddColumns(command, nullptr);
}

}  // namespace

void AddTopicPermissionCommands(Commands& commands) {
  SetTopicPermissions(commands);
  ClearTopicPermissions(commands);
  ListTopicPermissions(commands, "list_topic_permissions",
                       "Lists the users' topic permissions on a vhost", false,
                       {"user", "exchange", "write", "read"});
  ListTopicPermissions(commands, "list_user_topic_permissions",
                       "Lists a user's topic permissions on every vhost", true,
                       {"vhost", "exchange", "write", "read"});
}

}  // namespace warren::ctl
