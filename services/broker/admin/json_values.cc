#include "broker/admin/json_values.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "common/json_limits.h"
#include "common/text.h"

namespace warren::admin {

using nlohmann::json;

namespace {

// `depth` is the level of the table or array `j` would become (the
// outermost table is 1), counted as the codec counts it when decoding.
bool ValueFromJson(const json& j, int depth, amqp::FieldValue& out) {
  switch (j.type()) {
    case json::value_t::boolean: out = amqp::FieldValue::Bool(j.get<bool>()); return true;
    case json::value_t::number_integer: out = amqp::FieldValue::Long(j.get<int64_t>()); return true;
    case json::value_t::number_unsigned:
      out = amqp::FieldValue::Long(static_cast<int64_t>(j.get<uint64_t>()));
      return true;
    case json::value_t::number_float: out = {'d', j.get<double>()}; return true;
    case json::value_t::string: out = amqp::FieldValue::Str(j.get<std::string>()); return true;
    case json::value_t::array: {
      if (depth > amqp::kMaxTableDepth) return false;
      amqp::FieldArray a;
      a.reserve(j.size());
      for (const auto& e : j) {
        if (!ValueFromJson(e, depth + 1, a.emplace_back())) return false;
      }
      out = amqp::FieldValue::Array(std::move(a));
      return true;
    }
    case json::value_t::object: {
      if (depth > amqp::kMaxTableDepth) return false;
      amqp::FieldTable t;
      for (const auto& [k, v] : j.items()) {
        auto& entry = t.entries.emplace_back(k, amqp::FieldValue::Void());
        if (!ValueFromJson(v, depth + 1, entry.second)) return false;
      }
      out = amqp::FieldValue::Table(std::move(t));
      return true;
    }
    default: out = amqp::FieldValue::Void(); return true;
  }
}

}  // namespace

std::string JsonText(const std::string& bytes) {
  if (IsUtf8(bytes)) return bytes;
  std::string b64(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  b64.resize(static_cast<size_t>(n));
  std::string out = "Not UTF-8, base64 is: ";
  for (size_t i = 0; i < b64.size(); i += 76) {
    if (i > 0) out += '\n';
    out += b64.substr(i, 76);
  }
  return out;
}

std::string Dump(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

json ToJson(const amqp::FieldValue& v) {
  if (auto i = v.AsInt()) return *i;
  if (auto b = std::get_if<bool>(&v.value)) return *b;
  if (auto f = std::get_if<float>(&v.value)) return *f;
  if (auto d = std::get_if<double>(&v.value)) return *d;
  if (auto dec = std::get_if<amqp::Decimal>(&v.value)) {
    double x = dec->value;
    for (int i = 0; i < dec->scale; ++i) x /= 10;
    return x;
  }
  if (const std::string* s = v.AsString()) return JsonText(*s);
  if (const amqp::FieldTable* t = v.AsTable()) return ToJson(*t);
  if (const amqp::FieldArray* a = v.AsArray()) {
    json out = json::array();
    for (const auto& e : *a) out.push_back(ToJson(e));
    return out;
  }
  return nullptr;
}

json ToJson(const amqp::FieldTable& table) {
  json out = json::object();
  // The first of duplicate keys is the one that counts (FieldTable::Find).
  for (const auto& [k, v] : table.entries) {
    std::string key = ToUtf8(k);
    if (!out.contains(key)) out[key] = ToJson(v);
  }
  return out;
}

bool TableFromJson(const json& j, amqp::FieldTable& out, std::string& error) {
  if (j.is_null()) return true;
  if (!j.is_object()) {
    error = "expected a JSON object, got " + std::string(j.type_name());
    return false;
  }
  amqp::FieldValue v;
  if (!ValueFromJson(j, 1, v)) {
    error = "tables and arrays nested deeper than " + std::to_string(amqp::kMaxTableDepth) +
            " levels";
    return false;
  }
  out = std::move(*std::get_if<amqp::FieldTable>(&v.value));
  return true;
}

bool ParseJson(const std::string& text, const std::string& what, json& out,
               std::string& error) {
  if (!JsonDepthWithin(text)) {
    error = what + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  out = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    error = what + ": not valid JSON";
    return false;
  }
  return true;
}

}  // namespace warren::admin
