// add_user, delete_user, change_password, authenticate_user, set_user_tags,
// list_users: rabbitmqctl's user management, argument for argument.
#include "ctl/columns.h"
#include "ctl/command.h"
#include "ctl/error.h"

namespace warren::ctl {
namespace {

struct NamePassword {
  std::string name;
  std::string password;
};

struct NameTags {
  std::string name;
  std::vector<std::string> tags;
};

CLI::App* WithUser(CLI::App* command, std::string& name) {
  command->add_option("username", name, "the user")->required();
  return command;
}

CLI::App* WithUserPassword(CLI::App* command, NamePassword& args) {
  WithUser(command, args.name);
  command->add_option("password", args.password, "the password")->required();
  return command;
}

void AddUser(Commands& commands) {
  auto args = Args<NamePassword>();
  WithUserPassword(
      commands.Add("add_user", "Creates a user with no permissions on any vhost",
                   [args](Context& ctx) {
                     ctx.out.Info("Adding user " + Quoted(args->name) + " ...");
                     v1::AddUserRequest request;
                     request.set_name(args->name);
                     request.set_password(args->password);
                     ctx.client.Call(&v1::Admin::Stub::AddUser, request);
                     ctx.out.Note("Done. Don't forget to grant the user permissions to some "
                                  "virtual hosts! See 'warrenctl help set_permissions' to learn "
                                  "more.");
                   }),
      *args);
}

void ChangePassword(Commands& commands) {
  auto args = Args<NamePassword>();
  WithUserPassword(commands.Add("change_password", "Sets a user's password",
                                [args](Context& ctx) {
                                  ctx.out.Info("Changing password for user " +
                                               Quoted(args->name) + " ...");
                                  v1::ChangePasswordRequest request;
                                  request.set_name(args->name);
                                  request.set_password(args->password);
                                  ctx.client.Call(&v1::Admin::Stub::ChangePassword, request);
                                }),
                   *args);
}

void AuthenticateUser(Commands& commands) {
  auto args = Args<NamePassword>();
  WithUserPassword(
      commands.Add("authenticate_user", "Checks a user's password; exits 65 when it is wrong",
                   [args](Context& ctx) {
                     ctx.out.Info("Authenticating user " + Quoted(args->name) + " ...");
                     v1::AuthenticateUserRequest request;
                     request.set_name(args->name);
                     request.set_password(args->password);
                     try {
                       ctx.client.Call(&v1::Admin::Stub::AuthenticateUser, request);
                     } catch (const CtlError& e) {
                       if (e.code != kExitNoPerm) throw;
                       throw CtlError(kExitDataErr, "failed to authenticate user " +
                                                        Quoted(args->name) + ": " + e.what());
                     }
                     ctx.out.Note("Success");
                   }),
      *args);
}

void DeleteUser(Commands& commands) {
  auto name = Args<std::string>();
  WithUser(commands.Add("delete_user", "Removes a user and its permissions",
                        [name](Context& ctx) {
                          ctx.out.Info("Deleting user " + Quoted(*name) + " ...");
                          v1::UserRef request;
                          request.set_name(*name);
                          ctx.client.Call(&v1::Admin::Stub::DeleteUser, request);
                        }),
           *name);
}

void SetUserTags(Commands& commands) {
  auto args = Args<NameTags>();
  CLI::App* command = commands.Add(
      "set_user_tags", "Replaces a user's tags (none: no tags)", [args](Context& ctx) {
        std::string tags;
        for (const auto& tag : args->tags) tags += (tags.empty() ? "" : ", ") + tag;
        ctx.out.Info("Setting tags for user " + Quoted(args->name) + " to [" + tags + "] ...");
        v1::SetUserTagsRequest request;
        request.set_name(args->name);
        for (const auto& tag : args->tags) request.add_tags(tag);
        ctx.client.Call(&v1::Admin::Stub::SetUserTags, request);
      });
  WithUser(command, args->name);
  command->add_option("tags", args->tags, "administrator, monitoring, management, ...");
}

void ListUsers(Commands& commands) {
  CLI::App* command = commands.Add("list_users", "Lists users and their tags", [](Context& ctx) {
    ctx.out.Info("Listing users ...");
    auto response = ctx.client.Call(&v1::Admin::Stub::ListUsers, v1::Empty());
    Listing<v1::User> listing{{"user", "tags"}, {{"user", [](const v1::User& u) { return nlohmann::json(u.name()); }}}};
    ctx.out.Print(Select(listing, {}, response.users()));
  });
  commands.AddColumns(command, nullptr);
}

}  // namespace

void AddUserCommands(Commands& commands) {
  AddUser(commands);
  DeleteUser(commands);
  ChangePassword(commands);
  AuthenticateUser(commands);
  SetUserTags(commands);
  ListUsers(commands);
}

}  // namespace warren::ctl
