// add_vhost, update_vhost_metadata, delete_vhost, list_vhosts and the
// permission commands: set_permissions [-p vhost] USER CONF WRITE READ,
// clear_permissions, list_permissions [-p vhost], list_user_permissions USER.
#include "ctl/columns.h"
#include "ctl/command.h"

namespace warren::ctl {
namespace {

struct VhostColumns {
  std::string name;
  std::vector<std::string> columns;
};

struct PermissionArgs {
  std::string vhost;
  std::string user;
  std::string configure;
  std::string write;
  std::string read;
};

void DeleteVhost(Commands& commands) {
  auto vhost = Args<std::string>();
  CLI::App* command = commands.Add(
      "delete_vhost", "Deletes a virtual host and all it holds", [=](Context& ctx) {
        ctx.out.Info("Deleting vhost " + Quoted(*vhost) + " ...");
        v1::VHostRef request;
        request.set_name(*vhost);
        ctx.client.Call(&v1::Admin::Stub::DeleteVHost, request);
      });
  command->add_option("vhost", *vhost, "the virtual host's name")->required();
}

struct VhostMetadataArgs {
  std::string vhost, description, default_queue_type;
  std::vector<std::string> tags;
};

// add_vhost VHOST and update_vhost_metadata VHOST, each with --description,
// --tags "a,b" and --default-queue-type, as rabbitmqctl 3.13 has them.
void VhostMetadataCommand(Commands& commands, const std::string& name,
                          const std::string& description, bool update) {
  auto args = Args<VhostMetadataArgs>();
  CLI::App* command = commands.Add(name, description, [=](Context& ctx) {
    ctx.out.Info((update ? "Updating metadata of vhost " : "Adding vhost ") +
                 Quoted(args->vhost) + " ...");
    v1::AddVHostRequest request;
    request.set_name(args->vhost);
    request.set_description(args->description);
    for (const std::string& tag : args->tags) request.add_tags(tag);
    request.set_default_queue_type(args->default_queue_type);
    request.set_update(update);
    ctx.client.Call(&v1::Admin::Stub::AddVHost, request);
  });
  command->add_option("vhost", args->vhost, "the virtual host's name")->required();
  command->add_option("--description", args->description, "what the vhost is for");
  command->add_option("--tags", args->tags, "comma-separated tags")->delimiter(',');
  command->add_option("--default-queue-type", args->default_queue_type,
                      "classic or quorum: the type of queues declared without x-queue-type");
}

void ListVhosts(Commands& commands) {
  auto args = Args<VhostColumns>();
  CLI::App* command = commands.Add("list_vhosts", "Lists virtual hosts (columns: name messages queues)",
                                   [args](Context& ctx) {
    Listing<v1::VHost> listing{{"name"}, {}};
    Select(listing, args->columns, {});  // an unknown column fails before the call
    ctx.out.Info("Listing vhosts ...");
    auto response = ctx.client.Call(&v1::Admin::Stub::ListVHosts, v1::Empty());
    ctx.out.Print(Select(listing, args->columns, response.vhosts()));
  });
  commands.AddColumns(command, &args->columns);
}

std::string UserInVhost(const std::string& user, const std::string& vhost) {
  return "permissions for user " + Quoted(user) + " in vhost " + Quoted(vhost) + " ...";
}

void SetPermissions(Commands& commands) {
  auto args = Args<PermissionArgs>();
  CLI::App* command = commands.Add(
      "set_permissions", "Sets a user's configure, write and read regexes on a vhost",
      [args](Context& ctx) {
        ctx.out.Info("Setting " + UserInVhost(args->user, args->vhost));
        v1::Permission request;
        request.set_user(args->user);
        request.set_vhost(args->vhost);
        request.set_configure(args->configure);
        request.set_write(args->write);
        request.set_read(args->read);
        ctx.client.Call(&v1::Admin::Stub::SetPermissions, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("username", args->user, "the user")->required();
  command->add_option("conf", args->configure, "regex of resources it may configure")->required();
  command->add_option("write", args->write, "regex of resources it may write to")->required();
  command->add_option("read", args->read, "regex of resources it may read from")->required();
}

void ClearPermissions(Commands& commands) {
  auto args = Args<PermissionArgs>();
  CLI::App* command = commands.Add(
      "clear_permissions", "Removes a user's permissions on a vhost", [args](Context& ctx) {
        ctx.out.Info("Clearing " + UserInVhost(args->user, args->vhost));
        v1::ClearPermissionsRequest request;
        request.set_user(args->user);
        request.set_vhost(args->vhost);
        ctx.client.Call(&v1::Admin::Stub::ClearPermissions, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("username", args->user, "the user")->required();
}

void ListPermissions(Commands& commands) {
  auto [command, vhost] = AddNamedListing(
      commands, "list_permissions", "Lists the users' permissions on a vhost",
      "Listing permissions for vhost \"{name}\" ...",
      &v1::Admin::Stub::ListPermissions, &v1::ListPermissionsResponse::permissions,
      Listing<v1::Permission>{{"user", "configure", "write", "read"}, {}});
  Commands::AddVhost(command, *vhost);
}

void ListUserPermissions(Commands& commands) {
  auto [command, user] = AddNamedListing(
      commands, "list_user_permissions", "Lists a user's permissions on every vhost",
      "Listing permissions for user \"{name}\" ...",
      &v1::Admin::Stub::ListUserPermissions, &v1::ListPermissionsResponse::permissions,
      Listing<v1::Permission>{{"vhost", "configure", "write", "read"}, {}});
  command->add_option("username", *user, "the user")->required();
}

}  // namespace

void AddVhostCommands(Commands& commands) {
  VhostMetadataCommand(commands, "add_vhost", "Creates a virtual host", false);
  VhostMetadataCommand(commands, "update_vhost_metadata",
                       "Replaces a virtual host's description, tags and default queue type", true);
  DeleteVhost(commands);
  ListVhosts(commands);
  SetPermissions(commands);
  ClearPermissions(commands);
  ListPermissions(commands);
  ListUserPermissions(commands);
}

}  // namespace warren::ctl
