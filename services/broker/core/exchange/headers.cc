#include "broker/core/exchange/headers.h"

#include <algorithm>
#include <string_view>
#include <utility>

namespace warren::core {
namespace {

using amqp::FieldTable;
using amqp::FieldValue;

constexpr std::string_view kXMatch = "x-match";

bool IsInteger(char type) {
  return std::string_view("bBsuIilT").find(type) != std::string_view::npos;
}
bool IsFloat(char type) { return type == 'f' || type == 'd'; }
bool IsBinary(char type) { return type == 'S' || type == 'x'; }

double FloatOf(const FieldValue& v) {
  if (auto* f = std::get_if<float>(&v.value)) return *f;
  if (auto* d = std::get_if<double>(&v.value)) return *d;
  return 0;
}

// A timestamp is an unsigned 64-bit value stored in an int64: a negative one
// is at least 2^63, beyond every other integer type.
bool IsHugeTimestamp(const FieldValue& v, int64_t stored) { return v.type == 'T' && stored < 0; }

// RabbitMQ's names for the type letters, for error texts.
std::string_view TypeName(char type) {
  static constexpr std::pair<char, std::string_view> kNames[] = {
      {'t', "bool"},          {'b', "byte"},      {'B', "unsignedbyte"}, {'s', "short"},
      {'u', "unsignedshort"}, {'I', "signedint"}, {'i', "unsignedint"},  {'l', "long"},
      {'f', "float"},         {'d', "double"},    {'D', "decimal"},      {'S', "longstr"},
      {'x', "binary"},        {'A', "array"},     {'T', "timestamp"},    {'F', "table"},
      {'V', "void"}};
  for (const auto& [letter, name] : kNames)
    if (letter == type) return name;
  return "unknown";
}

// A value as Erlang's ~tp prints it, for the simple types an x-match may
// wrongly carry.
std::string Printed(const FieldValue& v) {
  if (auto i = v.AsInt())
    return v.type == 'T' ? std::to_string(static_cast<uint64_t>(*i)) : std::to_string(*i);
  if (auto b = v.AsBool()) return *b ? "true" : "false";
  if (const std::string* s = v.AsString()) return "<<\"" + *s + "\">>";
  if (v.type == 'V') return "undefined";
  return "...";
}

// The header named `key`; the last one when the key repeats.
const FieldValue* FindLast(const FieldTable& headers, std::string_view key) {
  for (auto it = headers.entries.rbegin(); it != headers.entries.rend(); ++it)
    if (it->first == key) return &it->second;
  return nullptr;
}

}  // namespace

std::optional<std::string> ValidateHeadersBinding(const FieldTable& arguments) {
  const FieldValue* x_match = arguments.Find(kXMatch);
  if (!x_match) return std::nullopt;
  const std::string* mode = x_match->AsString();
  if (x_match->type != 'S' || !mode)
    return "Invalid x-match field type " + std::string(TypeName(x_match->type)) + " (value " +
           Printed(*x_match) + "); expected longstr";
  if (*mode == "all" || *mode == "any" || *mode == "all-with-x" || *mode == "any-with-x")
    return std::nullopt;
  return "Invalid x-match field value <<\"" + *mode +
         "\">>; expected all, any, all-with-x, or any-with-x";
}

bool HeaderValueEquals(const FieldValue& binding, const FieldValue& header) {
  const char a = binding.type, b = header.type;
  if (IsInteger(a) && IsInteger(b)) {
    int64_t x = binding.AsInt().value_or(0), y = header.AsInt().value_or(0);
    return x == y && IsHugeTimestamp(binding, x) == IsHugeTimestamp(header, y);
  }
  if (IsFloat(a) && IsFloat(b)) return FloatOf(binding) == FloatOf(header);
  if (IsBinary(a) && IsBinary(b)) {
    const std::string *x = binding.AsString(), *y = header.AsString();
    return x && y && *x == *y;
  }
  if (a != b) return false;
  switch (a) {
    case 't':
    case 'D':
    case 'F':
    case 'A':
      return binding.value == header.value;  // nested values: type letters included
    case 'V':
      return true;
    default:
      return false;
  }
}

HeadersRouter::XMatch HeadersRouter::ParseXMatch(const FieldTable& arguments) {
  const FieldValue* x_match = arguments.Find(kXMatch);
  const std::string* mode = x_match && x_match->type == 'S' ? x_match->AsString() : nullptr;
  if (!mode) return XMatch::kAll;
  if (*mode == "any") return XMatch::kAny;
  if (*mode == "all-with-x") return XMatch::kAllWithX;
  if (*mode == "any-with-x") return XMatch::kAnyWithX;
  return XMatch::kAll;  // RabbitMQ's legacy default for anything else
}

bool HeadersRouter::Matches(const Binding& binding, const FieldTable& headers) {
  const bool any = binding.mode == XMatch::kAny || binding.mode == XMatch::kAnyWithX;
  const bool with_x = binding.mode == XMatch::kAllWithX || binding.mode == XMatch::kAnyWithX;
  for (const auto& [key, want] : binding.spec.arguments.entries) {
    if (key == kXMatch || (!with_x && key.starts_with("x-"))) continue;
    const FieldValue* got = FindLast(headers, key);
    const bool ok = got && (want.type == 'V' || HeaderValueEquals(want, *got));
    if (ok == any) return any;  // any: first hit decides; all: first miss does
  }
  return !any;
}

bool HeadersRouter::Add(const BindingSpec& binding) {
  for (const Binding& b : bindings_)
    if (b.spec == binding) return false;
  bindings_.push_back({binding, ParseXMatch(binding.arguments)});
  return true;
}

bool HeadersRouter::Remove(const BindingSpec& binding) {
  auto it = std::find_if(bindings_.begin(), bindings_.end(),
                         [&](const Binding& b) { return b.spec == binding; });
  if (it == bindings_.end()) return false;
  bindings_.erase(it);
  return true;
}

size_t HeadersRouter::RemoveDestination(const Destination& destination) {
  return std::erase_if(bindings_,
                       [&](const Binding& b) { return b.spec.destination == destination; });
}

void HeadersRouter::Route(std::string_view /*routing_key*/, const FieldTable* headers,
                          std::vector<const Destination*>& out) const {
  static const FieldTable kNoHeaders;
  const FieldTable& h = headers ? *headers : kNoHeaders;
  for (const Binding& b : bindings_)
    if (Matches(b, h)) out.push_back(&b.spec.destination);
}

void HeadersRouter::ForEach(const std::function<void(const BindingSpec&)>& fn) const {
  for (const Binding& b : bindings_) fn(b.spec);
}

}  // namespace warren::core
