#include "broker/core/limits.h"

#include "broker/core/errors.h"

namespace warren::core {
namespace {

using amqp::ReplyCode;

bool DepthOk(int depth, std::string& why) {
  if (depth <= amqp::kMaxTableDepth) return true;
  why = "tables and arrays nested deeper than " + std::to_string(amqp::kMaxTableDepth) + " levels";
  return false;
}

bool Within(const amqp::FieldValue& v, int depth, std::string& why);

// `depth` is the level of `t` itself; the walk stops at the first level
// past the limit, so it never runs deeper than the limit allows.
bool TableWithin(const amqp::FieldTable& t, int depth, std::string& why) {
  if (!DepthOk(depth, why)) return false;
  for (const auto& [key, value] : t.entries) {
    if (key.size() > kMaxShortString) {
      why = "a key longer than " + std::to_string(kMaxShortString) + " bytes";
      return false;
    }
    if (!Within(value, depth + 1, why)) return false;
  }
  return true;
}

bool Within(const amqp::FieldValue& v, int depth, std::string& why) {
  if (const amqp::FieldTable* t = v.AsTable()) return TableWithin(*t, depth, why);
  const amqp::FieldArray* a = v.AsArray();
  if (!a) return true;
  if (!DepthOk(depth, why)) return false;
  for (const auto& item : *a)
    if (!Within(item, depth + 1, why)) return false;
  return true;
}

}  // namespace

Status CheckShortString(const std::string& what, const std::string& name) {
  if (name.size() <= kMaxShortString) return Status::Ok();
  return AmqpError(ReplyCode::kPreconditionFailed,
                   what + " is " + std::to_string(name.size()) + " bytes long; at most " +
                       std::to_string(kMaxShortString) + " are allowed");
}

Status CheckTable(const std::string& what, const amqp::FieldTable& table) {
  std::string why;
  if (TableWithin(table, 1, why)) return Status::Ok();
  return AmqpError(ReplyCode::kPreconditionFailed, what + ": " + why);
}

}  // namespace warren::core
