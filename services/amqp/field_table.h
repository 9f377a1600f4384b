// AMQP field tables and values (spec 4.2.5.5, with RabbitMQ's errata for the
// type letters). Every value keeps the type letter it arrived with, so a table
// that passes through the broker goes out byte-for-byte as it came in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace warren::amqp {

struct Decimal {
  uint8_t scale = 0;
  uint32_t value = 0;
  bool operator==(const Decimal&) const = default;
};

struct FieldValue;
using FieldArray = std::vector<FieldValue>;

// An ordered list of (name, value) pairs. Order and duplicates are kept as
// received; Find returns the first match, as RabbitMQ does.
struct FieldTable {
  std::vector<std::pair<std::string, FieldValue>> entries;

  const FieldValue* Find(std::string_view key) const;
  FieldValue* Find(std::string_view key);
  void Set(std::string key, FieldValue value);  // replaces or appends
  bool Erase(std::string_view key);
  bool empty() const;
  bool operator==(const FieldTable& other) const;
};

// Type letters, as RabbitMQ reads and writes them.
enum class FieldType : char {
  kBool = 't',
  kInt8 = 'b',
  kUInt8 = 'B',
  kInt16 = 's',
  kUInt16 = 'u',
  kInt32 = 'I',
  kUInt32 = 'i',
  kInt64 = 'l',
  kFloat = 'f',
  kDouble = 'd',
  kDecimal = 'D',
  kLongStr = 'S',
  kBytes = 'x',
  kArray = 'A',
  kTimestamp = 'T',
  kTable = 'F',
  kVoid = 'V',
};

struct FieldValue {
  using Storage = std::variant<std::monostate, bool, int64_t, float, double, Decimal,
                               std::string, FieldArray, FieldTable>;
  char type = 'V';
  Storage value;

  static FieldValue Void() { return {}; }
  static FieldValue Bool(bool b) { return {'t', b}; }
  static FieldValue Int(FieldType t, int64_t v) { return {static_cast<char>(t), v}; }
  static FieldValue Long(int64_t v) { return {'l', v}; }
  static FieldValue Str(std::string s) { return {'S', std::move(s)}; }
  static FieldValue Timestamp(uint64_t t) { return {'T', static_cast<int64_t>(t)}; }
  static FieldValue Table(FieldTable t) { return {'F', std::move(t)}; }
  static FieldValue Array(FieldArray a) { return {'A', std::move(a)}; }

  // Any integer type (and timestamps) as int64; floats are not integers.
  std::optional<int64_t> AsInt() const;
  // Long strings and byte arrays.
  const std::string* AsString() const;
  const FieldTable* AsTable() const;
  const FieldArray* AsArray() const;
  std::optional<bool> AsBool() const;
  bool operator==(const FieldValue& other) const;
};

// Defined once FieldValue is complete (a vector of pairs holding it).
inline bool FieldTable::empty() const { return entries.empty(); }
inline bool FieldTable::operator==(const FieldTable& other) const {
  return entries == other.entries;
}

// Encodes the table with its 32-bit length prefix.
void EncodeTable(const FieldTable& table, std::string& out);

class Reader;
// Decodes a length-prefixed table. Returns false (and fails the reader) on
// truncation, an unknown type letter, or nesting deeper than kMaxTableDepth
// (or `max_depth`: the store reads back what it wrote with its own limit).
bool DecodeTable(Reader& in, FieldTable& out);
bool DecodeTable(Reader& in, FieldTable& out, int max_depth);
// Decodes table entries that fill the whole input (no length prefix), as the
// AMQPLAIN response carries them.
bool DecodeTableEntries(std::string_view in, FieldTable& out);

// Tables and arrays nested deeper than this (the outermost table is level 1)
// are refused.
inline constexpr int kMaxTableDepth = 64;

}  // namespace warren::amqp
