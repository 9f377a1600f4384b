// purge_queue [-p vhost] QUEUE, delete_queue [-p vhost] [--if-empty]
// [--if-unused] QUEUE, sync_queue [-p vhost] QUEUE, cancel_sync_queue
// [-p vhost] QUEUE, close_connection NAME_OR_ID EXPLANATION.
#include "ctl/command.h"

namespace warren::ctl {
namespace {

struct QueueArgs {
  std::string vhost;
  std::string name;
  bool if_empty = false;
  bool if_unused = false;
};

struct CloseArgs {
  std::string connection;
  std::string reason;
};

std::string InVhost(const std::string& queue, const std::string& preposition,
                    const std::string& vhost) {
  return "queue '" + queue + "' " + preposition + " vhost '" + vhost + "' ";
}

void PurgeQueue(Commands& commands) {
  auto args = Args<QueueArgs>();
  CLI::App* command = commands.Add(
      "purge_queue", "Removes all ready messages from a queue", [args](Context& ctx) {
        ctx.out.Info("Purging " + InVhost(args->name, "in", args->vhost) + "...");
        v1::QueueRef request;
        request.set_vhost(args->vhost);
        request.set_name(args->name);
        ctx.client.Call(&v1::Admin::Stub::PurgeQueue, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("queue", args->name, "the queue")->required();
}

// The mirrors not in sync copy the queue's backlog (or stop): asked of the
// home, which goes on serving (docs/mirroring.md, "ha-sync-mode").
void SyncQueue(Commands& commands, bool cancel) {
  auto args = Args<QueueArgs>();
  CLI::App* command = commands.Add(
      cancel ? "cancel_sync_queue" : "sync_queue",
      cancel ? "Stops the mirrors of a mirrored queue that are not in sync from copying it"
             : "Makes the mirrors of a mirrored queue that are not in sync copy it",
      [args, cancel](Context& ctx) {
        ctx.out.Info(std::string(cancel ? "Stopping synchronising " : "Synchronising ") +
                     InVhost(args->name, "in", args->vhost) + "...");
        v1::SyncQueueRequest request;
        request.set_vhost(args->vhost);
        request.set_name(args->name);
        request.set_cancel(cancel);
        ctx.client.Call(&v1::Admin::Stub::SyncQueue, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("queue", args->name, "the queue")->required();
}

void DeleteQueue(Commands& commands) {
  auto args = Args<QueueArgs>();
  CLI::App* command = commands.Add(
      "delete_queue", "Deletes a queue (only if empty/unused with the flags)",
      [args](Context& ctx) {
        std::string conditions;
        if (args->if_empty) conditions += "if queue is empty ";
        if (args->if_unused) conditions += std::string(args->if_empty ? "and " : "") +
                                           "if queue is unused ";
        ctx.out.Info("Deleting " + InVhost(args->name, "on", args->vhost) + conditions + "...");
        v1::DeleteQueueRequest request;
        request.set_vhost(args->vhost);
        request.set_name(args->name);
        request.set_if_empty(args->if_empty);
        request.set_if_unused(args->if_unused);
        auto response = ctx.client.Call(&v1::Admin::Stub::DeleteQueue, request);
        ctx.out.Note("Queue was successfully deleted with " +
                     std::to_string(response.messages()) + " messages");
      });
  Commands::AddVhost(command, args->vhost);
  command->add_flag("-e,--if-empty,--if_empty", args->if_empty, "only if it has no messages");
  command->add_flag("-u,--if-unused,--if_unused", args->if_unused, "only if it has no consumers");
  command->add_option("queue", args->name, "the queue")->required();
}

void CloseConnection(Commands& commands) {
  auto args = Args<CloseArgs>();
  CLI::App* command = commands.Add(
      "close_connection", "Closes a connection (its name or id from list_connections)",
      [args](Context& ctx) {
        ctx.out.Info("Closing connection " + args->connection + ", reason: " + args->reason +
                     "...");
        v1::CloseConnectionRequest request;
        request.set_name(args->connection);
        request.set_reason(args->reason);
        ctx.client.Call(&v1::Admin::Stub::CloseConnection, request);
      });
  command->add_option("connection", args->connection, "name (pid column) or id")->required();
  command->add_option("explanation", args->reason, "the reason sent to the client")->required();
}

}  // namespace

void AddQueueCommands(Commands& commands) {
  PurgeQueue(commands);
  DeleteQueue(commands);
  SyncQueue(commands, /*cancel=*/false);
  SyncQueue(commands, /*cancel=*/true);
  CloseConnection(commands);
}

}  // namespace warren::ctl
