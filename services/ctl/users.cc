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

// add_user, change_password, authenticate_user: USERNAME PASSWORD, one
// call, then `success` unless quiet. For authenticate_user (`login_check`)
// refused credentials are bad data (65), as rabbitmqctl reports them.
template <typename Request>
void AddCredentialCommand(Commands& commands, const std::string& name,
                          const std::string& description, const std::string& banner,
                          Method<Request, v1::Empty> method, const std::string& success,
                          bool login_check = false) {
  auto args = Args<NamePassword>();
  CLI::App* command = commands.Add(name, description, [=](Context& ctx) {
    ctx.out.Info(banner + " " + Quoted(args->name) + " ...");
    Request request;
    request.set_name(args->name);
    request.set_password(args->password);
    try {
      ctx.client.Call(method, request);
    } catch (const CtlError& e) {
      if (!login_check || e.code != kExitNoPerm) throw;
      std::string why = e.what();
      if (why.rfind("failed to authenticate", 0) != 0) {
        why = "failed to authenticate user " + Quoted(args->name) + ": " + why;
      }
      throw CtlError(kExitDataErr, why);
    }
    if (!success.empty()) ctx.out.Note(success);
  });
  WithUser(command, args->name);
  command->add_option("password", args->password, "the password")->required();
}

void AddCredentialCommands(Commands& commands) {
  AddCredentialCommand(commands, "add_user", "Creates a user with no permissions on any vhost",
                       "Adding user", &v1::Admin::Stub::AddUser,
                       "Done. Don't forget to grant the user permissions to some virtual hosts! "
                       "See 'warrenctl help set_permissions' to learn more.");
  AddCredentialCommand(commands, "change_password", "Sets a user's password",
                       "Changing password for user", &v1::Admin::Stub::ChangePassword, "");
  AddCredentialCommand(commands, "authenticate_user",
                       "Checks a user's password; exits 65 when it is wrong",
                       "Authenticating user", &v1::Admin::Stub::AuthenticateUser, "Success",
                       true);
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
    Listing<v1::User> listing{
        {"user", "tags"}, {{"user", [](const v1::User& u) { return nlohmann::ordered_json(u.name()); }}}};
    ctx.out.Print(Select(listing, {}, response.users()));
  });
  commands.AddColumns(command, nullptr);
}

}  // namespace

void AddUserCommands(Commands& commands) {
  AddCredentialCommands(commands);
  DeleteUser(commands);
  SetUserTags(commands);
  ListUsers(commands);
}

}  // namespace warren::ctl
