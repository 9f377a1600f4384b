#include "broker/store/limits.h"

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace warren::store {

namespace {

Error Refused(std::string text) { return Error{406, std::move(text)}; }

// Whether an integer fits the type letter it will be encoded with.
bool Fits(char type, int64_t v) {
  auto in = [v](int64_t lo, int64_t hi) { return v >= lo && v <= hi; };
  switch (type) {
    case 'b': return in(INT8_MIN, INT8_MAX);
    case 'B': return in(0, UINT8_MAX);
    case 's': return in(INT16_MIN, INT16_MAX);
    case 'u': return in(0, UINT16_MAX);
    case 'I': return in(INT32_MIN, INT32_MAX);
    case 'i': return in(0, UINT32_MAX);
    default: return true;  // 'l', 'T': all of int64
  }
}

// Whether the value holds what its type letter says (the encoder writes a
// default for anything else).
bool Holds(const amqp::FieldValue& v) {
  const auto& s = v.value;
  switch (v.type) {
    case 't': return std::holds_alternative<bool>(s);
    case 'b': case 'B': case 's': case 'u': case 'I': case 'i': case 'l': case 'T':
      return std::holds_alternative<int64_t>(s) && Fits(v.type, std::get<int64_t>(s));
    case 'f': return std::holds_alternative<float>(s);
    case 'd': return std::holds_alternative<double>(s);
    case 'D': return std::holds_alternative<amqp::Decimal>(s);
    case 'S': case 'x':
      return std::holds_alternative<std::string>(s) &&
             std::get<std::string>(s).size() <= std::numeric_limits<uint32_t>::max();
    case 'A': return std::holds_alternative<amqp::FieldArray>(s);
    case 'F': return std::holds_alternative<amqp::FieldTable>(s);
    case 'V': return std::holds_alternative<std::monostate>(s);
    default: return false;
  }
}

// Walks the table without recursion (a table built by a bug may nest
// deeper than any stack).
Status Walk(const amqp::FieldTable& table, uint64_t& bytes) {
  struct Item {
    const amqp::FieldValue* value;
    int depth;  // of the table or array holding it
  };
  std::vector<Item> todo;
  auto push_table = [&](const amqp::FieldTable& t, int depth) -> Status {
    if (depth > kMaxStoredTableDepth)
      return Refused("field tables nested deeper than " + std::to_string(kMaxStoredTableDepth) +
                     " levels cannot be stored");
    for (const auto& [key, value] : t.entries) {
      if (key.size() > kMaxTableKey)
        return Refused("field table key longer than 255 bytes: '" + key.substr(0, 32) + "...'");
      bytes += 1 + key.size();
      todo.push_back({&value, depth});
    }
    return Status::Ok();
  };
  if (Status s = push_table(table, 1); !s.ok()) return s;
  while (!todo.empty()) {
    Item item = todo.back();
    todo.pop_back();
    const amqp::FieldValue& v = *item.value;
    if (!Holds(v))
      return Refused(std::string("field table value of type '") + v.type +
                     "' that cannot be encoded as that type");
    bytes += 16;
    if (const std::string* str = v.AsString()) bytes += str->size();
    if (const amqp::FieldTable* t = v.AsTable()) {
      if (Status s = push_table(*t, item.depth + 1); !s.ok()) return s;
    } else if (const amqp::FieldArray* a = v.AsArray()) {
      if (item.depth + 1 > kMaxStoredTableDepth)
        return Refused("field tables nested deeper than " +
                       std::to_string(kMaxStoredTableDepth) + " levels cannot be stored");
      for (const auto& e : *a) todo.push_back({&e, item.depth + 1});
    }
    if (bytes > kMaxRecordPayload) return Refused("field table larger than 1 GiB");
  }
  return Status::Ok();
}

Status Check(std::initializer_list<const amqp::FieldTable*> tables, uint64_t names) {
  uint64_t bytes = names;
  for (const amqp::FieldTable* t : tables)
    if (Status s = Walk(*t, bytes); !s.ok()) return s;
  if (bytes > kMaxRecordPayload) return Refused("definition larger than 1 GiB");
  return Status::Ok();
}

}  // namespace

Status Encodable(const amqp::FieldTable& table) { return Check({&table}, 0); }

Status Encodable(const core::ExchangeDef& e) {
  return Check({&e.arguments}, e.vhost.size() + e.name.size() + e.type.size());
}

Status Encodable(const core::QueueDef& q) {
  return Check({&q.arguments}, q.vhost.size() + q.name.size());
}

Status Encodable(const core::BindingDef& b) {
  return Check({&b.arguments},
              b.vhost.size() + b.source.size() + b.destination.size() + b.routing_key.size());
}

Status Encodable(const core::PolicyDef& p) {
  return Check({&p.definition}, p.vhost.size() + p.name.size() + p.pattern.size());
}

Status Encodable(const core::ParameterDef& p) {
  if (p.component.size() + p.vhost.size() + p.name.size() + p.value.size() > kMaxRecordPayload)
    return Refused("parameter larger than 1 GiB");
  return Status::Ok();
}

}  // namespace warren::store
