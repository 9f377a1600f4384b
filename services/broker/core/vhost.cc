#include "broker/core/vhost.h"


#include <algorithm>

#include "amqp/constants.h"
#include "broker/core/errors.h"
#include "broker/core/broker.h"
#include "broker/core/dead_letter.h"
#include "broker/core/exchange/headers.h"
#include "broker/core/limits.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::core {

namespace {

using amqp::ReplyCode;

Error Err(ReplyCode code, const std::string& text) { return AmqpError(code, text); }

const char* Bool(bool b) { return b ? "true" : "false"; }

bool IsReserved(const std::string& name) { return name.rfind("amq.", 0) == 0; }

constexpr int kMaxExchangeHops = 64;

// RabbitMQ keeps binding arguments sorted by key, so {a,b} and {b,a} name
// the same binding.
BindingSpec MakeBinding(Destination::Kind kind, const std::string& name,
                        const std::string& routing_key, const amqp::FieldTable& args) {
  BindingSpec b{{kind, name}, routing_key, args};
  std::stable_sort(b.arguments.entries.begin(), b.arguments.entries.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  return b;
}

}  // namespace

VHost::VHost(Broker& broker, Runtime& runtime, std::string name)
    : broker_(broker), runtime_(runtime), name_(std::move(name)) {
  DeclareBuiltins();
}

VHost::~VHost() {
  for (auto& [n, q] : queues_) q->MarkDeleted();
}

void VHost::DeclareBuiltins() {
  const std::pair<const char*, const char*> builtins[] = {
      {"amq.direct", "direct"}, {"amq.fanout", "fanout"},   {"amq.topic", "topic"},
      {"amq.headers", "headers"}, {"amq.match", "headers"}, {"amq.rabbitmq.trace", "topic"}};
  for (auto [name, type] : builtins) {
    ExchangeOptions o;
    o.durable = true;
    o.internal = std::string_view(name) == "amq.rabbitmq.trace";
    exchanges_[name] = std::make_unique<Exchange>(name, type, o, MakeRouter(type));
  }
}

Status VHost::PutPolicy(Policy policy, bool operator_policy) {
  policy.vhost = name_;
  if (Status s = CheckTable("definition", policy.definition); !s.ok()) return s;
  Status valid = operator_policy ? ValidateOperatorPolicy(policy) : ValidatePolicy(policy);
  if (!valid.ok()) return valid;
  if (Persistence* store = definitions())
    store->PutPolicy(PolicyDef{name_, policy.name, policy.pattern, policy.apply_to,
                               policy.priority, policy.definition, operator_policy});
  std::string name = policy.name;
  (operator_policy ? operator_policies_ : policies_)
      .insert_or_assign(std::move(name), std::move(policy));
  ApplyPolicies();
  return Status::Ok();
}

Status VHost::DropPolicy(const std::string& name, bool operator_policy) {
  if (!(operator_policy ? operator_policies_ : policies_).erase(name))
    return Err(ReplyCode::kNotFound, (operator_policy ? "operator policy '" : "policy '") + name +
                                         "' not found in vhost '" + name_ + "'");
  if (Persistence* store = definitions()) store->DeletePolicy(name_, name, operator_policy);
  ApplyPolicies();
  return Status::Ok();
}

void VHost::ApplyPolicyTo(Queue& queue) {
  const Policy* policy = EffectivePolicy(policies_, true, queue.name());
  const Policy* op = EffectivePolicy(operator_policies_, true, queue.name());
  if (!op) {
    queue.ApplyPolicy(policy);
    return;
  }
  Policy merged;
  merged.name = policy ? policy->name : std::string();
  merged.definition = MergeOperatorPolicy(policy, op);
  queue.ApplyPolicy(&merged, op->name);
}

void VHost::ApplyPolicies() {
  for (auto& [n, e] : exchanges_) e->ApplyPolicy(EffectivePolicy(policies_, false, n));
  // Applying may dead-letter, which enqueues into other queues: walk a copy.
  std::vector<std::shared_ptr<Queue>> queues;
  queues.reserve(queues_.size());
  for (auto& [n, q] : queues_) queues.push_back(q);
  for (auto& q : queues) ApplyPolicyTo(*q);
}

Exchange* VHost::FindExchange(const std::string& name) {
  auto it = exchanges_.find(name);
  return it == exchanges_.end() ? nullptr : it->second.get();
}

Result<Exchange*> VHost::GetExchange(const std::string& name) {
  if (Exchange* e = FindExchange(name)) return e;
  return Err(ReplyCode::kNotFound, "no exchange '" + name + "' in vhost '" + name_ + "'");
}

Status VHost::DeclareExchange(const ExchangeDeclare& d) {
  // RabbitMQ checks the type (rabbit_exchange:check_type) before the name.
  if (!d.passive && !MakeRouter(d.type))
    return Err(ReplyCode::kCommandInvalid, "unknown exchange type '" + d.type + "'");
  if (d.name.empty())
    return Err(ReplyCode::kAccessRefused, "operation not permitted on the default exchange");
  Exchange* existing = FindExchange(d.name);
  if (d.passive) {
    if (!existing)
      return Err(ReplyCode::kNotFound, "no exchange '" + d.name + "' in vhost '" + name_ + "'");
    return Status::Ok();
  }
  if (!existing && IsReserved(d.name))
    return Err(ReplyCode::kAccessRefused,
               "exchange name '" + d.name + "' contains reserved prefix 'amq.*'");
  if (Status s = CheckShortString("exchange name", d.name); !s.ok()) return s;
  if (Status s = CheckTable("arguments", d.options.arguments); !s.ok()) return s;
  std::unique_ptr<Router> router = MakeRouter(d.type);
  if (!router) return Err(ReplyCode::kCommandInvalid, "unknown exchange type '" + d.type + "'");
  if (existing) {
    auto mismatch = [&](const char* arg, const std::string& got, const std::string& cur) {
      return Err(ReplyCode::kPreconditionFailed,
                 "inequivalent arg '" + std::string(arg) + "' for exchange '" + d.name +
                     "' in vhost '" + name_ + "': received '" + got + "' but current is '" + cur +
                     "'");
    };
    const ExchangeOptions& o = existing->options();
    if (existing->type() != d.type) return mismatch("type", d.type, existing->type());
    if (o.durable != d.options.durable)
      return mismatch("durable", Bool(d.options.durable), Bool(o.durable));
    if (o.auto_delete != d.options.auto_delete)
      return mismatch("auto_delete", Bool(d.options.auto_delete), Bool(o.auto_delete));
    if (o.internal != d.options.internal)
      return mismatch("internal", Bool(d.options.internal), Bool(o.internal));
    const amqp::FieldValue* a = o.arguments.Find("alternate-exchange");
    const amqp::FieldValue* b = d.options.arguments.Find("alternate-exchange");
    if ((a == nullptr) != (b == nullptr) || (a && !ArgValuesEquivalent(*a, *b)))
      return mismatch("alternate-exchange", b ? PlainArgValue(*b) : "none",
                      a ? PlainArgValue(*a) : "none");
    return Status::Ok();
  }
  auto& created = exchanges_[d.name];
  created = std::make_unique<Exchange>(d.name, d.type, d.options, std::move(router));
  created->ApplyPolicy(EffectivePolicy(policies_, false, d.name));
  if (Persistence* store = definitions(); store && d.options.durable)
    store->PutExchange(ExchangeDef{name_, d.name, d.type, d.options.auto_delete,
                                   d.options.internal, d.options.arguments});
  return Status::Ok();
}

Status VHost::DeleteExchange(const std::string& name, bool if_unused) {
  if (name.empty() || IsReserved(name))
    return Err(ReplyCode::kAccessRefused,
               name.empty() ? "operation not permitted on the default exchange"
                            : "deletion of system exchange '" + name + "' in vhost '" + name_ +
                                  "' not allowed");
  Exchange* e = FindExchange(name);
  if (!e) return Err(ReplyCode::kNotFound, "no exchange '" + name + "' in vhost '" + name_ + "'");
  if (if_unused && e->router().size() > 0)
    return Err(ReplyCode::kPreconditionFailed,
               "exchange '" + name + "' in vhost '" + name_ + "' in use");
  auto owned = std::move(exchanges_[name]);
  exchanges_.erase(name);
  if (Persistence* store = definitions(); store && owned->durable())
    store->DeleteExchange(name_, name);
  RemoveBindingsTo(Destination{Destination::Kind::kExchange, name});
  return Status::Ok();
}

std::string VHost::NewQueueName() {
  for (;;) {
    std::string name = "amq.gen-" + RandomToken(22);
    if (!queues_.count(name)) return name;
  }
}

Result<std::shared_ptr<Queue>> VHost::GetQueue(const std::string& name, uint64_t connection) {
  auto it = queues_.find(name);
  if (it == queues_.end())
    return Err(ReplyCode::kNotFound, "no queue '" + name + "' in vhost '" + name_ + "'");
  const auto& q = it->second;
  if (q->exclusive_owner() != 0 && q->exclusive_owner() != connection)
    return Err(ReplyCode::kResourceLocked,
               "cannot obtain exclusive access to locked queue '" + name + "' in vhost '" + name_ +
                   "'. It could be originally declared on another connection or the exclusive "
                   "property value does not match that of the original declaration.");
  return q;
}

std::shared_ptr<Queue> VHost::FindQueue(const std::string& name) {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : it->second;
}

// RabbitMQ 3.13's augment_declare_args: a new queue declared without
// x-queue-type takes the vhost's default type when it can be of that type (a
// quorum queue is durable, not exclusive, not auto-delete), else classic.
// DeclareQueue adds it to new queues only, so one declared before the
// default was set is still redeclared as it was (docs/parameters.md).
void VHost::AddDefaultQueueType(const QueueDeclare& d, amqp::FieldTable& arguments) const {
  const std::string& type = metadata_.default_queue_type;
  if (type.empty() || arguments.Find("x-queue-type")) return;
  bool fits = type != "quorum" || (d.durable && !d.exclusive && !d.auto_delete);
  arguments.Set("x-queue-type", amqp::FieldValue::Str(fits ? type : "classic"));
}

Result<QueueDeclared> VHost::DeclareQueue(const QueueDeclare& d, uint64_t connection) {
  if (d.passive) {
    auto q = GetQueue(d.name, connection);
    if (!q.ok()) return q.error();
    q.value()->Touch();
    return QueueDeclared{d.name, static_cast<uint32_t>(q.value()->ready_count()),
                         static_cast<uint32_t>(q.value()->consumer_count())};
  }
  std::string name = d.name.empty() ? NewQueueName() : d.name;
  if (auto it = queues_.find(name); it != queues_.end()) {
    auto q = GetQueue(name, connection);
    if (!q.ok()) return q.error();
    Queue& existing = *q.value();
    auto mismatch = [&](const char* arg, bool got, bool cur) {
      return Err(ReplyCode::kPreconditionFailed,
                 "inequivalent arg '" + std::string(arg) + "' for queue '" + name +
                     "' in vhost '" + name_ + "': received '" + Bool(got) + "' but current is '" +
                     Bool(cur) + "'");
    };
    // RabbitMQ's assert_equivalence: check_exclusive_access(Q, Owner, strict)
    // first, so an exclusive flag that differs is 405, before durable.
    if ((existing.exclusive_owner() != 0) != d.exclusive)
      return Err(ReplyCode::kResourceLocked,
                 "cannot obtain exclusive access to locked queue '" + name + "' in vhost '" +
                     name_ + "'. It could be originally declared on another connection or the "
                     "exclusive property value does not match that of the original declaration.");
    if (existing.durable() != d.durable) return mismatch("durable", d.durable, existing.durable());
    if (existing.auto_delete() != d.auto_delete)
      return mismatch("auto_delete", d.auto_delete, existing.auto_delete());
    // Declared again without a type: compared as the vhost's default would
    // have made it, unless the queue predates that default and has none.
    amqp::FieldTable requested = d.arguments;
    if (existing.options().arguments.Find("x-queue-type")) AddDefaultQueueType(d, requested);
    Status eq = CheckQueueArgsEquivalent(existing.options().arguments, requested, name, name_);
    if (!eq.ok()) return eq.error();
    existing.Touch();
    return QueueDeclared{name, static_cast<uint32_t>(existing.ready_count()),
                         static_cast<uint32_t>(existing.consumer_count())};
  }
  if (!d.name.empty() && !d.server_named && IsReserved(name))
    return Err(ReplyCode::kAccessRefused,
               "queue name '" + name + "' contains reserved prefix 'amq.*'");
  if (limits_.max_queues >= 0 && queues_.size() >= static_cast<uint64_t>(limits_.max_queues))
    return Err(ReplyCode::kPreconditionFailed,
               "cannot declare queue '" + name + "': queue limit in vhost '" + name_ + "' (" +
                   std::to_string(limits_.max_queues) + ") is reached");
  if (Status s = CheckShortString("queue name", name); !s.ok()) return s.error();
  if (Status s = CheckTable("arguments", d.arguments); !s.ok()) return s.error();
  amqp::FieldTable arguments = d.arguments;
  AddDefaultQueueType(d, arguments);
  auto args = ParseQueueArgs(arguments, name, name_);
  if (!args.ok()) return args.error();
  QueueOptions o;
  o.durable = d.durable;
  o.auto_delete = d.auto_delete;
  o.exclusive_owner = d.exclusive ? connection : 0;
  o.arguments = std::move(arguments);
  o.args = args.value();
  o.home = d.home;
  // Exclusive queues die with their connection, so only others are stored.
  // A queue homed elsewhere is stored as a record, so a restart routes to it.
  Persistence* store = definitions();
  if (store && d.durable && !d.exclusive) o.store_id = store->NewQueueId();
  auto& q = queues_[name];
  q = std::make_shared<Queue>(*this, runtime_, name_, name, std::move(o));
  if (!q->remote()) ++broker_.counters().queues_created;
  StoreRecord(*q);
  ApplyPolicyTo(*q);
  return QueueDeclared{name, 0, 0};
}

Status VHost::SetMirrors(const std::string& name, uint64_t home, Mirrors mirrors,
                         uint64_t new_home) {
  std::shared_ptr<Queue> q = FindQueue(name);
  if (!q) return Err(ReplyCode::kNotFound, "no queue '" + name + "' in vhost '" + name_ + "'");
  uint64_t is_home = broker_.HomeOf(*q);
  if (is_home != home || mirrors.epoch <= q->mirrors().epoch)
    return Err(ReplyCode::kPreconditionFailed,
               "stale mirror change for queue '" + name + "' in vhost '" + name_ + "': home " +
                   std::to_string(is_home) + ", epoch " + std::to_string(q->mirrors().epoch));
  if (new_home != 0 && new_home != home) {
    MoveHome(q, new_home, std::move(mirrors));
    return Status::Ok();
  }
  q->set_mirrors(std::move(mirrors));
  StoreRecord(*q);
  return Status::Ok();
}

void VHost::StoreRecord(const Queue& q) {
  Persistence* store = definitions();
  if (store && q.store_id() != 0)
    store->PutQueue(QueueDef{name_, q.name(), q.store_id(), q.auto_delete(),
                             q.options().arguments, q.home(), q.mirrors()});
}

void VHost::MoveHome(const std::shared_ptr<Queue>& old, uint64_t new_home, Mirrors mirrors) {
  const bool here = new_home == broker_.self_member();
  QueueOptions o = old->options();
  o.mirrors = std::move(mirrors);
  o.home = here ? 0 : new_home;
  // What the store holds under the old id was this member's as the home:
  // none of it is the queue's now, so a restart must not bring it back.
  if (Persistence* store = definitions(); store && o.store_id != 0 && !old->remote())
    o.store_id = store->NewQueueId();
  auto q = std::make_shared<Queue>(*this, runtime_, name_, old->name(), std::move(o));
  StoreRecord(*q);
  queues_[q->name()] = q;
  old->MarkDeleted();
  ApplyPolicyTo(*q);
  if (!here || !broker_.mirror_source()) return;
  Persistence* store = persistence();
  for (MessagePtr& m : broker_.mirror_source()->TakeCopy(name_, q->name())) {
    // The copy wrote its persistent messages under the record's store id,
    // which the queue keeps here (cluster/mirror_copies.h).
    bool logged = store && m->disk.valid();
    if (!logged && store && q->store_id() != 0 && m->persistent()) {
      m->disk = store->Write(*m, {q->store_id()});
      logged = m->disk.valid();
    }
    // The old home may have delivered it: a restart restores it
    // redelivered too.
    if (logged) store->Delivered(q->store_id(), m->disk);
    q->Adopt(m, logged);
  }
  q->TryDeliver();
}

std::string VHost::QueueLocator(const std::string& name,
                                const amqp::FieldTable& arguments) const {
  if (const amqp::FieldValue* v = arguments.Find("x-queue-master-locator"))
    if (const std::string* s = v->AsString()) return *s;
  if (const Policy* p = EffectivePolicy(policies_, true, name))
    if (const amqp::FieldValue* v = p->definition.Find("queue-master-locator"))
      if (const std::string* s = v->AsString()) return *s;
  return "client-local";
}

Result<Queue*> VHost::RestoreQueue(const QueueDef& def) {
  auto args = ParseQueueArgs(def.arguments, def.name, name_);
  if (!args.ok()) return args.error();
  QueueOptions o;
  o.durable = true;
  o.auto_delete = def.auto_delete;
  o.store_id = def.id;
  o.arguments = def.arguments;
  o.args = args.value();
  o.home = def.home;
  o.mirrors = def.mirrors;
  auto q = std::make_shared<Queue>(*this, runtime_, name_, def.name, std::move(o));
  queues_[def.name] = q;
  ApplyPolicyTo(*q);
  return q.get();
}

Status CheckDeleteConditions(const std::string& vhost, const std::string& queue, bool if_unused,
                             bool if_empty, uint64_t consumers, uint64_t messages) {
  if (if_unused && consumers > 0)
    return Err(ReplyCode::kPreconditionFailed,
               "queue '" + queue + "' in vhost '" + vhost + "' in use");
  if (if_empty && messages > 0)
    return Err(ReplyCode::kPreconditionFailed,
               "queue '" + queue + "' in vhost '" + vhost + "' not empty");
  return Status::Ok();
}

Result<uint32_t> VHost::DeleteQueue(const std::string& name, bool if_unused, bool if_empty,
                                    uint64_t connection) {
  auto q = GetQueue(name, connection);
  if (!q.ok()) return q.error();
  Queue& queue = *q.value();
  if (Status s = CheckDeleteConditions(name_, name, if_unused, if_empty, queue.consumer_count(),
                                       queue.ready_count());
      !s.ok())
    return s.error();
  auto count = static_cast<uint32_t>(queue.ready_count());
  EraseQueue(name);
  return count;
}

Result<uint32_t> VHost::PurgeQueue(const std::string& name, uint64_t connection) {
  auto q = GetQueue(name, connection);
  if (!q.ok()) return q.error();
  if (q.value()->remote())  // the channel asks the home (core/remote.h)
    return Err(ReplyCode::kPreconditionFailed, "queue '" + name + "' in vhost '" + name_ +
                                                   "' is homed on another node: purge it there");
  return static_cast<uint32_t>(q.value()->Purge());
}

void VHost::EraseQueue(const std::string& name) {
  auto it = queues_.find(name);
  if (it == queues_.end()) return;
  std::shared_ptr<Queue> q = std::move(it->second);
  queues_.erase(it);
  if (!q->remote()) ++broker_.counters().queues_deleted;
  if (Persistence* store = definitions(); store && q->store_id() != 0)
    store->DeleteQueue(name_, name);
  RemoveBindingsTo(Destination{Destination::Kind::kQueue, name});
  q->MarkDeleted();
}

void VHost::DeleteUnusedQueue(Queue& queue) {
  // Posted so the caller (a consumer cancel or a timer) finishes first.
  std::string name = queue.name();
  std::weak_ptr<Queue> weak = queue.weak_from_this();
  std::weak_ptr<bool> alive = alive_;
  runtime_.ScheduleAfter(0, [this, name, weak, alive] {
    if (alive.expired()) return;
    auto q = weak.lock();
    auto it = queues_.find(name);
    if (!q || it == queues_.end() || it->second != q || q->consumer_count() > 0) return;
    DeleteEverywhere(*q);
  });
}

void VHost::DeleteExclusiveQueues(uint64_t connection) {
  std::vector<std::shared_ptr<Queue>> owned;
  for (const auto& [n, q] : queues_)
    if (q->exclusive_owner() == connection && !q->remote()) owned.push_back(q);
  for (const auto& q : owned) DeleteEverywhere(*q);
}

void VHost::DeleteEverywhere(const Queue& queue) {
  // A change like any other, so every member drops its record (a node
  // alone: at once). Refused only when the cluster cannot commit it (the
  // minority side of a partition): the queue stays until deleted again.
  cmd::DeleteQueue c{name_, queue.name(), false, false, queue.exclusive_owner()};
  std::string what = "queue '" + queue.name() + "' in vhost '" + name_ + "'";
  broker_.metadata().Submit(std::move(c), [what](const Outcome& o) {
    if (!o.status.ok() && o.status.error().code != 404)
      spdlog::warn("could not delete unused {}: {}", LogSafe(what), LogSafe(o.status.error().text));
  });
}

void VHost::RemoveBindingsTo(const Destination& destination) {
  std::vector<Exchange*> emptied;
  for (auto& [n, e] : exchanges_)
    if (e->router().RemoveDestination(destination) > 0 && e->router().size() == 0)
      emptied.push_back(e.get());
  for (Exchange* e : emptied) MaybeAutoDeleteExchange(*e);
}

void VHost::MaybeAutoDeleteExchange(Exchange& exchange) {
  if (!exchange.auto_delete() || exchange.router().size() > 0) return;
  std::string name = exchange.name();
  if (Persistence* store = definitions(); store && exchange.durable())
    store->DeleteExchange(name_, name);
  exchanges_.erase(name);
  RemoveBindingsTo(Destination{Destination::Kind::kExchange, name});
}

Persistence* VHost::definitions() { return broker_.definitions(); }
Persistence* VHost::persistence() { return broker_.persistence(); }
bool VHost::ShouldPage() { return broker_.ShouldPage(); }
void VHost::ResidentBytesChanged(int64_t delta) { broker_.ResidentBytesChanged(delta); }

// RabbitMQ keeps a binding across restarts when both of its ends are durable.
bool VHost::IsDurable(const Destination& d) {
  if (d.kind == Destination::Kind::kQueue) {
    auto it = queues_.find(d.name);
    return it != queues_.end() && it->second->store_id() != 0;
  }
  Exchange* e = FindExchange(d.name);
  return e && e->durable();
}

BindingDef VHost::ToDef(const Exchange& source, const BindingSpec& b) const {
  return BindingDef{name_, source.name(), b.destination.kind == Destination::Kind::kQueue,
                    b.destination.name, b.routing_key, b.arguments};
}

Result<Exchange*> VHost::ResolveQueueBinding(const std::string& queue,
                                             const std::string& exchange, uint64_t connection) {
  if (exchange.empty())
    return Err(ReplyCode::kAccessRefused, "operation not permitted on the default exchange");
  auto q = GetQueue(queue, connection);
  if (!q.ok()) return q.error();
  return GetExchange(exchange);
}

Result<Exchange*> VHost::ResolveExchangeBinding(const std::string& destination,
                                                const std::string& source) {
  if (destination.empty() || source.empty())
    return Err(ReplyCode::kAccessRefused, "operation not permitted on the default exchange");
  auto d = GetExchange(destination);
  if (!d.ok()) return d.error();
  return GetExchange(source);
}

Status VHost::AddBinding(Exchange& source, BindingSpec binding) {
  if (Status s = CheckShortString("routing key", binding.routing_key); !s.ok()) return s;
  if (Status s = CheckTable("arguments", binding.arguments); !s.ok()) return s;
  if (source.type() == "headers")
    if (auto why = ValidateHeadersBinding(binding.arguments))
      return Err(ReplyCode::kPreconditionFailed, *why);
  bool added = source.router().Add(binding);
  if (Persistence* store = definitions();
      store && added && source.durable() && IsDurable(binding.destination))
    store->PutBinding(ToDef(source, binding));
  return Status::Ok();
}

void VHost::RemoveBinding(Exchange& source, const BindingSpec& binding) {
  if (!source.router().Remove(binding)) return;
  if (Persistence* store = definitions();
      store && source.durable() && IsDurable(binding.destination))
    store->DeleteBinding(ToDef(source, binding));
  MaybeAutoDeleteExchange(source);
}

Status VHost::BindQueue(const std::string& queue, const std::string& exchange,
                        const std::string& routing_key, const amqp::FieldTable& args,
                        uint64_t connection) {
  auto e = ResolveQueueBinding(queue, exchange, connection);
  if (!e.ok()) return e.status();
  return AddBinding(*e.value(), MakeBinding(Destination::Kind::kQueue, queue, routing_key, args));
}

Status VHost::UnbindQueue(const std::string& queue, const std::string& exchange,
                          const std::string& routing_key, const amqp::FieldTable& args,
                          uint64_t connection) {
  auto e = ResolveQueueBinding(queue, exchange, connection);
  if (!e.ok()) return e.status();
  RemoveBinding(*e.value(), MakeBinding(Destination::Kind::kQueue, queue, routing_key, args));
  return Status::Ok();
}

Status VHost::BindExchange(const std::string& destination, const std::string& source,
                           const std::string& routing_key, const amqp::FieldTable& args) {
  auto e = ResolveExchangeBinding(destination, source);
  if (!e.ok()) return e.status();
  return AddBinding(*e.value(),
                    MakeBinding(Destination::Kind::kExchange, destination, routing_key, args));
}

Status VHost::UnbindExchange(const std::string& destination, const std::string& source,
                             const std::string& routing_key, const amqp::FieldTable& args) {
  auto e = ResolveExchangeBinding(destination, source);
  if (!e.ok()) return e.status();
  RemoveBinding(*e.value(),
                MakeBinding(Destination::Kind::kExchange, destination, routing_key, args));
  return Status::Ok();
}

void VHost::Collect(Exchange& exchange, const Message& message, std::vector<Queue*>& out,
                    int depth) {
  if (exchange.route_mark == route_epoch_ || depth > kMaxExchangeHops) return;
  exchange.route_mark = route_epoch_;
  size_t first = scratch_.size();
  // Only a headers exchange reads the headers: decode them for it alone.
  std::optional<amqp::BasicProperties> props;
  if (message.has_headers && exchange.type() == "headers") props = message.properties();
  exchange.router().Route(message.routing_key, props ? &*props->headers : nullptr, scratch_);
  // Copy out this level's destinations: recursion below reuses scratch_.
  std::vector<Destination> next_exchanges;
  // An exchange whose own bindings match nothing hands the message to its
  // alternate exchange (rabbit_exchange:route1 / process_alternate), wherever
  // it sits on the path.
  if (scratch_.size() == first && exchange.alternate_exchange())
    next_exchanges.push_back({Destination::Kind::kExchange, *exchange.alternate_exchange()});
  for (size_t i = first; i < scratch_.size(); ++i) {
    const Destination* d = scratch_[i];
    if (d->kind == Destination::Kind::kQueue) {
      auto it = queues_.find(d->name);
      if (it == queues_.end()) continue;
      Queue* q = it->second.get();
      if (q->route_mark == route_epoch_) continue;
      q->route_mark = route_epoch_;
      out.push_back(q);
    } else {
      next_exchanges.push_back(*d);
    }
  }
  scratch_.resize(first);
  for (const Destination& d : next_exchanges)
    if (Exchange* e = FindExchange(d.name)) Collect(*e, message, out, depth + 1);
}

void VHost::RouteInto(Exchange& exchange, const Message& message, std::vector<Queue*>& out) {
  ++route_epoch_;
  Collect(exchange, message, out, 0);
}

void VHost::Route(Exchange* exchange, const Message& message, std::vector<Queue*>& out) {
  if (exchange) {
    RouteInto(*exchange, message, out);
    return;
  }
  // The default exchange: every queue is bound to it by its own name.
  if (auto it = queues_.find(message.routing_key); it != queues_.end())
    out.push_back(it->second.get());
}

PublishOutcome VHost::Publish(Exchange* exchange, const MessagePtr& message,
                              const Ticket& ticket) {
  std::vector<Queue*> queues;
  Route(exchange, *message, queues);
  // Hold the queues while enqueuing: a delivery may lead to a queue's
  // deletion, which the vhost posts, but a held pointer is cheap insurance.
  std::vector<std::shared_ptr<Queue>> held;
  held.reserve(queues.size());
  for (Queue* q : queues) held.push_back(q->shared_from_this());
  return EnqueueAll(held, message, ticket);
}

PublishOutcome VHost::PublishTo(const std::vector<std::string>& names,
                                const MessagePtr& message, const Ticket& ticket) {
  std::vector<std::shared_ptr<Queue>> held;
  for (const std::string& name : names) {
    auto it = queues_.find(name);
    if (it == queues_.end() || it->second->remote()) continue;
    if (std::find(held.begin(), held.end(), it->second) == held.end()) held.push_back(it->second);
  }
  return EnqueueAll(held, message, ticket);
}

PublishOutcome VHost::EnqueueAll(const std::vector<std::shared_ptr<Queue>>& queues,
                                 const MessagePtr& message, const Ticket& ticket) {
  PublishOutcome outcome;
  // A persistent message is written once, for every durable queue that will
  // take it, before any of them sees it.
  std::vector<uint64_t> logged_for;
  Persistence* store = persistence();
  if (store && message->persistent()) {
    for (auto& q : queues)
      if (q->store_id() != 0 && !q->remote() && q->Accepts(*message))
        logged_for.push_back(q->store_id());
    if (!logged_for.empty()) {
      message->disk = store->Write(*message, logged_for);
      if (!message->disk.valid()) logged_for.clear();  // the store is closed (shutting down)
      else if (ticket) ticket->NeedSync(store->appended());
    }
  }
  for (auto& q : queues) {
    if (q->remote()) {
      auto route = std::find_if(outcome.remote.begin(), outcome.remote.end(),
                                [&](const RemoteRoute& r) { return r.home == q->home(); });
      if (route == outcome.remote.end())
        route = outcome.remote.insert(outcome.remote.end(), RemoteRoute{q->home(), {}});
      route->queues.push_back(q->name());
      ++outcome.routed;
      continue;
    }
    bool logged = std::find(logged_for.begin(), logged_for.end(), q->store_id()) !=
                  logged_for.end();
    if (q->Enqueue(message, logged, ticket) == Queue::EnqueueResult::kRejected)
      outcome.rejected = true;
    else ++outcome.routed;
  }
  if (outcome.rejected && ticket) ticket->Refuse();
  return outcome;
}

void VHost::PublishDeadLetter(Queue&, const std::string& exchange, MessagePtr message) {
  Exchange* e = nullptr;
  if (!exchange.empty()) {
    e = FindExchange(exchange);
    if (!e) return;  // RabbitMQ drops dead letters to a missing DLX
  }
  std::vector<Queue*> queues;
  Route(e, *message, queues);
  std::vector<std::shared_ptr<Queue>> held;
  for (Queue* q : queues)
    if (!IsDeadLetterCycle(*message, q->name())) held.push_back(q->shared_from_this());
  PublishOutcome outcome = EnqueueAll(held, message, {});
  // Dead letters for queues homed elsewhere are sent on without waiting
  // for the home: at most once, as dead-lettering is.
  if (QueueRemote* remote = broker_.remote())
    for (RemoteRoute& r : outcome.remote)
      remote->Publish(r.home, name_, std::move(r.queues), message, [](bool) {});
}

}  // namespace warren::core
