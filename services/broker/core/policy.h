// Policies as RabbitMQ has them: a named rule in one vhost whose regex
// pattern selects queues and/or exchanges by name and whose definition sets
// optional arguments on them while they exist. Of the policies that match an
// object, the one with the highest priority applies (ties: the first name in
// byte order). A policy change applies to existing queues and exchanges at
// once.
//
// Keys that take effect: message-ttl, expires, max-length, max-length-bytes,
// overflow, dead-letter-exchange, dead-letter-routing-key, queue-mode (queues),
// alternate-exchange (exchanges). ha-mode, ha-params, ha-sync-mode,
// ha-promote-on-shutdown, ha-promote-on-failure are validated and kept for
// mirroring. Queue arguments win over policy keys, except that for
// message-ttl, expires, max-length and max-length-bytes the smaller of the
// two applies (RabbitMQ 3.13).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "amqp/field_table.h"
#include "broker/core/queue_args.h"
#include "broker/core/regex.h"
#include "common/status.h"

namespace warren::core {

enum class ApplyTo : uint8_t { kAll, kQueues, kExchanges };

// "all" | "queues" | "exchanges"; nullopt otherwise.
std::optional<ApplyTo> ParseApplyTo(const std::string& text);
const char* ApplyToName(ApplyTo a);

struct Policy {
  std::string vhost;
  std::string name;
  std::string pattern;
  ApplyTo apply_to = ApplyTo::kAll;
  int32_t priority = 0;
  // Keys as RabbitMQ names them ("message-ttl", ...), values as JSON maps
  // onto field values: integers 'l', strings 'S', lists 'A', booleans 't'.
  amqp::FieldTable definition;
  Pattern pattern_re;  // compiled from pattern by ValidatePolicy
};

// Checks pattern (a valid regex), and each definition key and value as
// RabbitMQ does; compiles pattern_re. Errors are 406 (PRECONDITION_FAILED),
// one line that names the key and quotes the value as RabbitMQ prints it:
//   "PRECONDITION_FAILED - Validation failed: [<<\"foo\">>] are not
//    recognised policy settings"
//   "PRECONDITION_FAILED - Validation failed: message-ttl: -1 is not a valid
//    message TTL"
Status ValidatePolicy(Policy& policy);

// Whether `policy` applies to a queue (`is_queue`) or exchange named `name`:
// apply_to allows the kind and pattern_re is found somewhere in the name.
bool PolicyMatches(const Policy& policy, bool is_queue, const std::string& name);

// The policy in effect for an object: of those that match, the highest
// priority; on a tie the first name in byte order. nullptr when none.
const Policy* EffectivePolicy(const std::map<std::string, Policy>& policies, bool is_queue,
                              const std::string& name);

// An operator policy (docs/parameters.md): validated as a policy, and its
// keys limited to message-ttl, expires, max-length, max-length-bytes and
// overflow (406 "... are not recognised operator policy settings").
Status ValidateOperatorPolicy(Policy& policy);

// The definition in effect from a policy and an operator policy (either may
// be null): the union of their keys; where both set one, the smaller of
// message-ttl, expires, max-length and max-length-bytes, and the operator
// policy's overflow.
amqp::FieldTable MergeOperatorPolicy(const Policy* policy, const Policy* op);

// A queue's effective arguments: `declared` (parsed from `arguments`, the
// x-... table of its declaration) overlaid with `policy` (may be null). The
// queue's argument wins, except message-ttl, expires, max-length and
// max-length-bytes, where the smaller of the two applies. max-priority and
// single-active-consumer are never set by a policy.
QueueArgs OverlayPolicy(QueueArgs declared, const amqp::FieldTable& arguments,
                        const Policy* policy);

}  // namespace warren::core
