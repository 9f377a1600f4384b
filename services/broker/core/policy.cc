#include "broker/core/policy.h"

#include <algorithm>
#include <array>
#include <sstream>
#include <string_view>
#include <vector>

#include "amqp/constants.h"
#include "broker/core/errors.h"
#include "broker/core/regex.h"

namespace warren::core {

namespace {

using amqp::FieldValue;

// A value as RabbitMQ prints the Erlang term it became: 5, <<"text">>,
// [<<"a">>,1], true.
std::string Term(const FieldValue& v) {
  if (auto b = v.AsBool()) return *b ? "true" : "false";
  if (v.type != 'T')
    if (auto i = v.AsInt()) return std::to_string(*i);
  if (const std::string* s = v.AsString()) return "<<\"" + *s + "\">>";
  if (const amqp::FieldArray* a = v.AsArray()) {
    std::string out = "[";
    for (size_t i = 0; i < a->size(); ++i) out += (i ? "," : "") + Term((*a)[i]);
    return out + "]";
  }
  if (const amqp::FieldTable* t = v.AsTable()) {
    std::string out = "[";
    for (size_t i = 0; i < t->entries.size(); ++i)
      out += std::string(i ? "," : "") + "{<<\"" + t->entries[i].first + "\">>," +
             Term(t->entries[i].second) + "}";
    return out + "]";
  }
  std::ostringstream out;
  if (auto* f = std::get_if<float>(&v.value)) out << *f;
  else if (auto* d = std::get_if<double>(&v.value)) out << *d;
  else out << "null";
  return out.str();
}

std::optional<int64_t> Integer(const FieldValue& v) {
  return v.type == 'T' ? std::nullopt : v.AsInt();
}

Error Invalid(const std::string& text) {
  return AmqpError(amqp::ReplyCode::kPreconditionFailed, "Validation failed: " + text);
}

// One known definition key: what its value must be, and RabbitMQ's words
// for a value that is not ("%v" stands for the value).
struct KeyRule {
  enum Kind { kInteger, kString, kOneOf, kAny } kind;
  std::string_view key;
  int64_t min = 0;                            // kInteger
  std::array<std::string_view, 3> choices{};  // kOneOf (unused slots empty)
  std::string_view problem{};
};

constexpr std::array<KeyRule, 16> kRules = {{
    {KeyRule::kInteger, "message-ttl", 0, {}, "%v is not a valid message TTL"},
    {KeyRule::kInteger, "expires", 1, {}, "%v is not a valid queue expiry"},
    {KeyRule::kInteger, "max-length", 0, {}, "%v is not a valid maximum length"},
    {KeyRule::kInteger, "max-length-bytes", 0, {}, "%v is not a valid maximum length in bytes"},
    {KeyRule::kOneOf, "overflow", 0, {"drop-head", "reject-publish", "reject-publish-dlx"},
     "%v is not a valid overflow value"},
    {KeyRule::kString, "dead-letter-exchange", 0, {}, "%v is not a valid dead letter exchange"},
    {KeyRule::kString, "dead-letter-routing-key", 0, {},
     "%v is not a valid dead letter routing key"},
    {KeyRule::kOneOf, "queue-mode", 0, {"default", "lazy"}, "%v is not a valid queue-mode value"},
    {KeyRule::kString, "alternate-exchange", 0, {}, "%v is not a valid alternate exchange"},
    {KeyRule::kOneOf, "ha-mode", 0, {"all", "exactly", "nodes"}, "%v is not a valid ha-mode value"},
    {KeyRule::kAny, "ha-params"},  // checked against ha-mode below
    {KeyRule::kOneOf, "ha-sync-mode", 0, {"manual", "automatic"},
     "must be \"manual\" or \"automatic\", got %v"},
    {KeyRule::kOneOf, "ha-promote-on-shutdown", 0, {"always", "when-synced"},
     "must be \"always\" or \"when-synced\", got %v"},
    {KeyRule::kOneOf, "ha-promote-on-failure", 0, {"always", "when-synced"},
     "must be \"always\" or \"when-synced\", got %v"},
    {KeyRule::kInteger, "ha-sync-batch-size", 1, {}, "takes an integer greater than 0, %v given"},
    {KeyRule::kOneOf, "queue-master-locator", 0, {"client-local", "min-masters", "random"},
     "%v is not a valid master locator"},
}};

const KeyRule* FindRule(std::string_view key) {
  for (const KeyRule& r : kRules)
    if (r.key == key) return &r;
  return nullptr;
}

bool Acceptable(const KeyRule& rule, const FieldValue& v) {
  switch (rule.kind) {
    case KeyRule::kInteger: {
      auto i = Integer(v);
      return i && *i >= rule.min;
    }
    case KeyRule::kString: return v.AsString() != nullptr;
    case KeyRule::kOneOf: {
      const std::string* s = v.AsString();
      return s && std::find(rule.choices.begin(), rule.choices.end(), *s) != rule.choices.end() &&
             !s->empty();
    }
    case KeyRule::kAny: return true;
  }
  return false;
}

Error BadValue(const KeyRule& rule, const FieldValue& v) {
  std::string text(rule.problem);
  if (size_t at = text.find("%v"); at != std::string::npos) text.replace(at, 2, Term(v));
  return Invalid(std::string(rule.key) + ": " + text);
}

// ha-params as the ha-mode asks (rabbit_mirror_queue_mode_*:validate_policy).
std::optional<Error> CheckHaParams(const std::string& mode, const FieldValue* params) {
  std::string given = params ? Term(*params) : "none";
  if (mode == "all") {
    if (params) return Invalid("ha-params: ha-mode=\"all\" does not take parameters");
    return std::nullopt;
  }
  if (mode == "exactly") {
    auto n = params ? Integer(*params) : std::nullopt;
    if (!n || *n <= 0)
      return Invalid("ha-params: ha-mode=\"exactly\" takes an integer, " + given + " given");
    return std::nullopt;
  }
  const amqp::FieldArray* nodes = params ? params->AsArray() : nullptr;
  if (!nodes) return Invalid("ha-params: ha-mode=\"nodes\" takes a list, " + given + " given");
  if (nodes->empty()) return Invalid("ha-params: ha-mode=\"nodes\" list must be non-empty");
  amqp::FieldArray bad;
  for (const FieldValue& n : *nodes)
    if (!n.AsString()) bad.push_back(n);
  if (!bad.empty())
    return Invalid("ha-params: ha-mode=\"nodes\" takes a list of strings, " +
                   Term(FieldValue::Array(bad)) + " given");
  return std::nullopt;
}

std::optional<Error> CheckMirroring(const amqp::FieldTable& d) {
  const FieldValue* mode = d.Find("ha-mode");
  if (!mode) {
    for (std::string_view key :
         {"ha-params", "ha-sync-mode", "ha-promote-on-shutdown", "ha-promote-on-failure"})
      if (d.Find(key))
        return Invalid("ha-mode must be specified to specify ha-params, ha-sync-mode, "
                       "ha-promote-on-shutdown or ha-promote-on-failure (" +
                       std::string(key) + " given)");
    return std::nullopt;
  }
  return CheckHaParams(*mode->AsString(), d.Find("ha-params"));
}

}  // namespace

std::optional<ApplyTo> ParseApplyTo(const std::string& text) {
  if (text == "all") return ApplyTo::kAll;
  if (text == "queues") return ApplyTo::kQueues;
  if (text == "exchanges") return ApplyTo::kExchanges;
  return std::nullopt;
}

const char* ApplyToName(ApplyTo a) {
  switch (a) {
    case ApplyTo::kAll: return "all";
    case ApplyTo::kQueues: return "queues";
    case ApplyTo::kExchanges: return "exchanges";
  }
  return "all";
}

Status ValidatePolicy(Policy& policy) {
  if (!Pattern::Compile(policy.pattern, policy.pattern_re))
    return Invalid("pattern: " + Term(FieldValue::Str(policy.pattern)) +
                   " is not a valid regular expression");
  const amqp::FieldTable& d = policy.definition;
  if (d.empty()) return Invalid("no policy provided");
  amqp::FieldArray unknown;
  for (const auto& [key, value] : d.entries)
    if (!FindRule(key)) unknown.push_back(FieldValue::Str(key));
  if (!unknown.empty())
    return Invalid(Term(FieldValue::Array(unknown)) + " are not recognised policy settings");
  for (const auto& [key, value] : d.entries)
    if (const KeyRule* rule = FindRule(key); !Acceptable(*rule, value))
      return BadValue(*rule, value);
  if (auto e = CheckMirroring(d)) return *e;
  return Status::Ok();
}

namespace {
// The keys an operator policy may set, and whether the smaller value wins
// over a user policy's (else the operator policy's value does).
constexpr std::array<std::pair<std::string_view, bool>, 5> kOperatorKeys = {{
    {"message-ttl", true}, {"expires", true}, {"max-length", true},
    {"max-length-bytes", true}, {"overflow", false}}};

const std::pair<std::string_view, bool>* FindOperatorKey(std::string_view key) {
  for (const auto& k : kOperatorKeys)
    if (k.first == key) return &k;
  return nullptr;
}
}  // namespace

Status ValidateOperatorPolicy(Policy& policy) {
  if (Status s = ValidatePolicy(policy); !s.ok()) return s;
  amqp::FieldArray unknown;
  for (const auto& [key, value] : policy.definition.entries)
    if (!FindOperatorKey(key)) unknown.push_back(FieldValue::Str(key));
  if (!unknown.empty())
    return Invalid(Term(FieldValue::Array(unknown)) +
                   " are not recognised operator policy settings");
  return Status::Ok();
}

amqp::FieldTable MergeOperatorPolicy(const Policy* policy, const Policy* op) {
  amqp::FieldTable out;
  if (policy) out = policy->definition;
  if (!op) return out;
  for (const auto& [key, value] : op->definition.entries) {
    FieldValue* mine = out.Find(key);
    const auto* rule = FindOperatorKey(key);
    if (!mine || !rule || !rule->second) {
      out.Set(key, value);
      continue;
    }
    auto a = Integer(*mine), b = Integer(value);
    if (a && b && *b < *a) *mine = value;
  }
  return out;
}

bool PolicyMatches(const Policy& policy, bool is_queue, const std::string& name) {
  ApplyTo kind = is_queue ? ApplyTo::kQueues : ApplyTo::kExchanges;
  if (policy.apply_to != ApplyTo::kAll && policy.apply_to != kind) return false;
  return policy.pattern_re.Search(name);
}

const Policy* EffectivePolicy(const std::map<std::string, Policy>& policies, bool is_queue,
                              const std::string& name) {
  const Policy* best = nullptr;
  // The map is in name order, so only a strictly higher priority displaces
  // an earlier match.
  for (const auto& [n, p] : policies)
    if ((!best || p.priority > best->priority) && PolicyMatches(p, is_queue, name)) best = &p;
  return best;
}

QueueArgs OverlayPolicy(QueueArgs args, const amqp::FieldTable& arguments, const Policy* policy) {
  if (!policy) return args;
  const amqp::FieldTable& d = policy->definition;
  auto smaller = [&](std::string_view key, std::optional<int64_t>& field) {
    const FieldValue* v = d.Find(key);
    auto i = v ? Integer(*v) : std::nullopt;
    if (i) field = field ? std::min(*field, *i) : *i;
  };
  smaller("message-ttl", args.message_ttl);
  smaller("expires", args.expires);
  smaller("max-length", args.max_length);
  smaller("max-length-bytes", args.max_length_bytes);
  // The rest come from the policy only when the queue did not declare them.
  auto undeclared = [&](std::string_view key, std::string_view arg) -> const std::string* {
    if (arguments.Find(arg)) return nullptr;
    const FieldValue* v = d.Find(key);
    return v ? v->AsString() : nullptr;
  };
  if (const std::string* s = undeclared("overflow", "x-overflow"))
    args.overflow = ParseOverflow(*s).value_or(args.overflow);
  if (const std::string* s = undeclared("dead-letter-exchange", "x-dead-letter-exchange"))
    args.dead_letter_exchange = *s;
  if (const std::string* s = undeclared("dead-letter-routing-key", "x-dead-letter-routing-key"))
    args.dead_letter_routing_key = *s;
  if (const std::string* s = undeclared("queue-mode", "x-queue-mode")) args.lazy = *s == "lazy";
  return args;
}

}  // namespace warren::core
