// warrenctl: rabbitmqctl's commands over a node's gRPC Admin service.
//   warrenctl [-n HOST:PORT] [-u USER] [-p PASSWORD] [--config FILE] [-q]
//             [--formatter table|json] [--timeout S] COMMAND [ARGS...]
#include <iostream>

#include "common/text.h"
#include "ctl/command.h"
#include "ctl/error.h"

#ifndef WARREN_VERSION
#define WARREN_VERSION "0.0.0"
#endif

namespace warren::ctl {
namespace {

void AddGlobalFlags(CLI::App& app, Flags& flags) {
  app.add_option("-n,--node", flags.node, "the node's gRPC address HOST:PORT (127.0.0.1:25672)");
  app.add_option("-u,--username", flags.username, "user to authenticate as (guest)");
  app.add_option("-p,--password", flags.password, "that user's password (guest)");
  app.add_option("--config", flags.config,
                 "TOML file with node, username, password, tls_ca_file, tls_cert_file, "
                 "tls_key_file");
  app.add_option("--tls-ca", flags.tls_ca,
                 "reach the node over TLS, trusting this CA file (env WARREN_TLS_CA_FILE)");
  app.add_option("--tls-cert", flags.tls_cert,
                 "the certificate presented to a node that asks for one (env WARREN_TLS_CERT_FILE)");
  app.add_option("--tls-key", flags.tls_key, "its private key (env WARREN_TLS_KEY_FILE)");
  app.add_flag("-q,--quiet", flags.quiet, "no informational lines");
  app.add_flag("-s,--silent", flags.silent,
               "no informational lines nor table headers; health checks print nothing");
  app.add_option("--formatter", flags.formatter, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  app.add_option("-t,--timeout", flags.timeout_seconds, "seconds to wait for the node (30)");
}

void AddHelp(Commands& commands, CLI::App& app) {
  auto command = Args<std::string>();
  CLI::App* help = commands.Add("help", "Shows the usage of warrenctl or of one command",
                                [&app, command](Context&) {
    if (command->empty()) {
      std::cout << app.help();
      return;
    }
    CLI::App* sub = nullptr;
    try {
      sub = app.get_subcommand(*command);
    } catch (const CLI::OptionNotFound&) {
      throw CtlError(kExitUsage, "unknown command \"" + *command + "\"; see warrenctl help");
    }
    std::cout << sub->help(app.get_name());
  });
  help->add_option("command", *command, "the command to describe");
}

int Main(int argc, char** argv) {
  CLI::App app{"warrenctl: manage a Warren node as rabbitmqctl manages RabbitMQ", "warrenctl"};
  app.require_subcommand(0, 1);
  Flags flags;
  bool version = false;
  AddGlobalFlags(app, flags);
  app.add_flag("--version", version, "print the version and exit");
  Commands commands(app, flags);
  AddUserCommands(commands);
  AddUserLimitCommands(commands);
  AddVhostCommands(commands);
  AddTopicPermissionCommands(commands);
  AddPolicyCommands(commands);
  AddParameterCommands(commands);
  AddListingCommands(commands);
  AddQueueCommands(commands);
  AddNodeCommands(commands);
  AddHealthCommands(commands);
  AddDefinitionCommands(commands);
  AddHelp(commands, app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "Error: " << e.what() << " (see warrenctl help)\n";
    return kExitUsage;
  }
  if (version) {
    std::cout << "warrenctl " WARREN_VERSION "\n";
    return kExitOk;
  }
  const Run* run = commands.Chosen();
  if (run == nullptr) {
    std::cerr << app.help() << "Error: a command is required\n";
    return kExitUsage;
  }
  try {
    Options options = ResolveOptions(flags);
    AdminClient client(options);
    Output out(options);
    Context context{options, client, out};
    (*run)(context);
  } catch (const CtlError& e) {
    std::cout.flush();
    // The node's text may quote names a client chose. A failed health check
    // under --silent says nothing: its exit status is the answer.
    if (*e.what() != '\0') std::cerr << "Error: " << Printable(e.what()) << '\n';
    return e.code;
  }
  return kExitOk;
}

}  // namespace
}  // namespace warren::ctl

int main(int argc, char** argv) { return warren::ctl::Main(argc, argv); }
