#include "amqp/field_table.h"

#include <bit>

#include "amqp/wire.h"

namespace warren::amqp {

const FieldValue* FieldTable::Find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

FieldValue* FieldTable::Find(std::string_view key) {
  for (auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

void FieldTable::Set(std::string key, FieldValue value) {
  if (FieldValue* v = Find(key)) {
    *v = std::move(value);
    return;
  }
  entries.emplace_back(std::move(key), std::move(value));
}

bool FieldTable::Erase(std::string_view key) {
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    if (it->first == key) {
      entries.erase(it);
      return true;
    }
  }
  return false;
}

std::optional<int64_t> FieldValue::AsInt() const {
  if (auto* i = std::get_if<int64_t>(&value)) return *i;
  return std::nullopt;
}
const std::string* FieldValue::AsString() const { return std::get_if<std::string>(&value); }
const FieldTable* FieldValue::AsTable() const { return std::get_if<FieldTable>(&value); }
const FieldArray* FieldValue::AsArray() const { return std::get_if<FieldArray>(&value); }
std::optional<bool> FieldValue::AsBool() const {
  if (auto* b = std::get_if<bool>(&value)) return *b;
  return std::nullopt;
}
bool FieldValue::operator==(const FieldValue& other) const {
  return type == other.type && value == other.value;
}

namespace {

void EncodeValue(const FieldValue& v, Writer& w);

void EncodeArrayBody(const FieldArray& a, Writer& w) {
  size_t at = w.size();
  w.U32(0);
  for (const auto& item : a) EncodeValue(item, w);
  w.PatchU32(at, static_cast<uint32_t>(w.size() - at - 4));
}

void EncodeTableBody(const FieldTable& t, Writer& w) {
  size_t at = w.size();
  w.U32(0);
  for (const auto& [k, v] : t.entries) {
    w.ShortStr(k);
    EncodeValue(v, w);
  }
  w.PatchU32(at, static_cast<uint32_t>(w.size() - at - 4));
}

int64_t IntOf(const FieldValue& v) {
  auto i = v.AsInt();
  return i ? *i : 0;
}

void EncodeValue(const FieldValue& v, Writer& w) {
  w.U8(static_cast<uint8_t>(v.type));
  switch (static_cast<FieldType>(v.type)) {
    case FieldType::kBool: {
      auto b = v.AsBool();
      w.U8(b && *b ? 1 : 0);
      break;
    }
    case FieldType::kInt8:
    case FieldType::kUInt8:
      w.U8(static_cast<uint8_t>(IntOf(v)));
      break;
    case FieldType::kInt16:
    case FieldType::kUInt16:
      w.U16(static_cast<uint16_t>(IntOf(v)));
      break;
    case FieldType::kInt32:
    case FieldType::kUInt32:
      w.U32(static_cast<uint32_t>(IntOf(v)));
      break;
    case FieldType::kInt64:
    case FieldType::kTimestamp:
      w.U64(static_cast<uint64_t>(IntOf(v)));
      break;
    case FieldType::kFloat: {
      auto* f = std::get_if<float>(&v.value);
      w.U32(std::bit_cast<uint32_t>(f ? *f : 0.0f));
      break;
    }
    case FieldType::kDouble: {
      auto* d = std::get_if<double>(&v.value);
      w.U64(std::bit_cast<uint64_t>(d ? *d : 0.0));
      break;
    }
    case FieldType::kDecimal: {
      auto* d = std::get_if<Decimal>(&v.value);
      w.U8(d ? d->scale : 0);
      w.U32(d ? d->value : 0);
      break;
    }
    case FieldType::kLongStr:
    case FieldType::kBytes: {
      auto* s = v.AsString();
      w.LongStr(s ? std::string_view(*s) : std::string_view());
      break;
    }
    case FieldType::kArray: {
      auto* a = v.AsArray();
      EncodeArrayBody(a ? *a : FieldArray{}, w);
      break;
    }
    case FieldType::kTable: {
      auto* t = v.AsTable();
      EncodeTableBody(t ? *t : FieldTable{}, w);
      break;
    }
    case FieldType::kVoid:
      break;
  }
}

bool DecodeValue(Reader& r, FieldValue& v, int depth, int max_depth);

// `depth` is the nesting level of the table or array being decoded, the
// outermost table being 1; the limit holds whether or not it is empty.
bool DecodeEntries(std::string_view bytes, FieldTable& out, int depth, int max_depth) {
  if (depth > max_depth) return false;
  Reader r(bytes);
  while (!r.empty()) {
    std::string key(r.ShortStr());
    FieldValue v;
    if (!r.ok() || !DecodeValue(r, v, depth, max_depth)) return false;
    out.entries.emplace_back(std::move(key), std::move(v));
  }
  return r.ok();
}

bool DecodeArray(std::string_view bytes, FieldArray& out, int depth, int max_depth) {
  if (depth > max_depth) return false;
  Reader r(bytes);
  while (!r.empty()) {
    FieldValue v;
    if (!DecodeValue(r, v, depth, max_depth)) return false;
    out.push_back(std::move(v));
  }
  return r.ok();
}

bool DecodeValue(Reader& r, FieldValue& v, int depth, int max_depth) {
  v.type = static_cast<char>(r.U8());
  switch (v.type) {
    case 't': v.value = r.U8() != 0; break;
    case 'b': v.value = int64_t{static_cast<int8_t>(r.U8())}; break;
    case 'B': v.value = int64_t{r.U8()}; break;
    case 's': v.value = int64_t{static_cast<int16_t>(r.U16())}; break;
    case 'u': v.value = int64_t{r.U16()}; break;
    case 'I': v.value = int64_t{static_cast<int32_t>(r.U32())}; break;
    case 'i': v.value = int64_t{r.U32()}; break;
    case 'l':
    case 'T': v.value = static_cast<int64_t>(r.U64()); break;
    case 'f': v.value = std::bit_cast<float>(r.U32()); break;
    case 'd': v.value = std::bit_cast<double>(r.U64()); break;
    case 'D': {
      Decimal d;
      d.scale = r.U8();
      d.value = r.U32();
      v.value = d;
      break;
    }
    case 'S':
    case 'x': v.value = std::string(r.LongStr()); break;
    case 'A': {
      FieldArray a;
      std::string_view body = r.LongStr();
      if (!r.ok() || !DecodeArray(body, a, depth + 1, max_depth)) return false;
      v.value = std::move(a);
      break;
    }
    case 'F': {
      FieldTable t;
      std::string_view body = r.LongStr();
      if (!r.ok() || !DecodeEntries(body, t, depth + 1, max_depth)) return false;
      v.value = std::move(t);
      break;
    }
    case 'V': v.value = std::monostate{}; break;
    default:
      r.Fail();
      return false;
  }
  return r.ok();
}

}  // namespace

void EncodeTable(const FieldTable& table, std::string& out) {
  Writer w(out);
  EncodeTableBody(table, w);
}

bool DecodeTable(Reader& in, FieldTable& out) { return DecodeTable(in, out, kMaxTableDepth); }

bool DecodeTable(Reader& in, FieldTable& out, int max_depth) {
  std::string_view body = in.LongStr();
  if (!in.ok()) return false;
  out.entries.clear();
  if (!DecodeEntries(body, out, 1, max_depth)) {
    in.Fail();
    return false;
  }
  return true;
}

bool DecodeTableEntries(std::string_view in, FieldTable& out) {
  out.entries.clear();
  return DecodeEntries(in, out, 1, kMaxTableDepth);
}

}  // namespace warren::amqp
