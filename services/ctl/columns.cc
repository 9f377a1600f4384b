#include "ctl/columns.h"

#include "common/json_limits.h"
#include "ctl/error.h"

namespace warren::ctl {
namespace {

using google::protobuf::FieldDescriptor;

bool HoldsJson(const std::string& field) {
  return field == "arguments" || field == "client_properties" || field == "definition";
}

nlohmann::ordered_json Scalar(const google::protobuf::Message& m, const FieldDescriptor* f) {
  const auto* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL: return r->GetBool(m, f);
    case FieldDescriptor::CPPTYPE_INT32: return r->GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64: return r->GetInt64(m, f);
    case FieldDescriptor::CPPTYPE_UINT32: return r->GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64: return r->GetUInt64(m, f);
    case FieldDescriptor::CPPTYPE_DOUBLE: return r->GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_STRING: break;
    default: return nullptr;
  }
  std::string text = r->GetString(m, f);
  if (!HoldsJson(f->name())) return text;
  if (text.empty()) return nlohmann::ordered_json::object();
  if (!JsonDepthWithin(text)) return text;
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(text, nullptr, false);
  return parsed.is_discarded() ? nlohmann::ordered_json(text) : parsed;
}

}  // namespace

nlohmann::ordered_json FieldValue(const google::protobuf::Message& message, const std::string& field) {
  const FieldDescriptor* f = message.GetDescriptor()->FindFieldByName(field);
  if (f == nullptr) return nullptr;
  if (!f->is_repeated()) return Scalar(message, f);
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  const auto* r = message.GetReflection();
  for (int i = 0; i < r->FieldSize(message, f); ++i) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) array.push_back(r->GetRepeatedString(message, f, i));
  }
  return array;
}

std::vector<std::string> FieldNames(const google::protobuf::Descriptor* descriptor) {
  std::vector<std::string> names;
  for (int i = 0; i < descriptor->field_count(); ++i) names.push_back(descriptor->field(i)->name());
  return names;
}

void UnknownColumn(const std::string& column, const std::vector<std::string>& known) {
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  throw CtlError(kExitUsage, "Info key(s) " + column + " are not supported; supported: " + list);
}

}  // namespace warren::ctl
