// One struct per AMQP method, generated from method_table.h. Each struct has
// kClassId/kMethodId/kName/kHasContent and Visit(), which hands every field
// with its wire kind to a visitor (used by the codec and by tests).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "amqp/field_table.h"
#include "amqp/method_table.h"

namespace warren::amqp {

enum class FieldKind { kOctet, kShort, kLong, kLongLong, kShortStr, kLongStr, kBit, kTable, kTimestamp };

template <FieldKind K> struct FieldCpp;
template <> struct FieldCpp<FieldKind::kOctet> { using type = uint8_t; };
template <> struct FieldCpp<FieldKind::kShort> { using type = uint16_t; };
template <> struct FieldCpp<FieldKind::kLong> { using type = uint32_t; };
template <> struct FieldCpp<FieldKind::kLongLong> { using type = uint64_t; };
template <> struct FieldCpp<FieldKind::kShortStr> { using type = std::string; };
template <> struct FieldCpp<FieldKind::kLongStr> { using type = std::string; };
template <> struct FieldCpp<FieldKind::kBit> { using type = bool; };
template <> struct FieldCpp<FieldKind::kTable> { using type = FieldTable; };
template <> struct FieldCpp<FieldKind::kTimestamp> { using type = uint64_t; };
template <FieldKind K> using FieldCppT = typename FieldCpp<K>::type;

#define WARREN_FIELD_DECL(kind, name) FieldCppT<FieldKind::k##kind> name{};
#define WARREN_FIELD_VISIT(kind, name) v.template Field<FieldKind::k##kind>(name);
#define WARREN_DECLARE_METHOD(Name, cls, mth, content, FIELDS)       \
  struct Name {                                                        \
    static constexpr uint16_t kClassId = cls;                          \
    static constexpr uint16_t kMethodId = mth;                         \
    static constexpr bool kHasContent = content;                       \
    static constexpr std::string_view kName = #Name;                   \
    FIELDS(WARREN_FIELD_DECL)                                          \
    template <class V> void Visit(V& v) { FIELDS(WARREN_FIELD_VISIT) (void)v; }       \
    template <class V> void Visit(V& v) const { FIELDS(WARREN_FIELD_VISIT) (void)v; } \
    bool operator==(const Name&) const = default;                      \
  };
WARREN_AMQP_METHODS(WARREN_DECLARE_METHOD)
#undef WARREN_DECLARE_METHOD

#define WARREN_VARIANT_ALTERNATIVE(Name, ...) , Name
using Method = std::variant<std::monostate WARREN_AMQP_METHODS(WARREN_VARIANT_ALTERNATIVE)>;
#undef WARREN_VARIANT_ALTERNATIVE

enum class MethodDecode { kOk, kUnknownMethod, kMalformed };

// Decodes a method frame payload (class id, method id, arguments). Trailing
// bytes after the last field are malformed.
MethodDecode DecodeMethod(std::string_view payload, Method& out);

// Appends one whole method frame (header, payload, frame-end) for `m`.
#define WARREN_DECLARE_ENCODER(Name, ...) \
  void AppendMethodFrame(std::string& out, uint16_t channel, const Name& m);
WARREN_AMQP_METHODS(WARREN_DECLARE_ENCODER)
#undef WARREN_DECLARE_ENCODER
void AppendMethodFrame(std::string& out, uint16_t channel, const Method& m);

// "basic.publish" style name for ids; "unknown" when not in the table.
std::string_view MethodName(uint16_t class_id, uint16_t method_id);
bool MethodHasContent(uint16_t class_id, uint16_t method_id);

// Class and method ids of a decoded method (0,0 for monostate).
uint16_t ClassIdOf(const Method& m);
uint16_t MethodIdOf(const Method& m);

}  // namespace warren::amqp
