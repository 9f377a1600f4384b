// What a name, key or table must satisfy to be accepted: the bounds the AMQP
// codec reads with and the store's recovery decodes with, checked when an
// object is declared from any side (AMQP, the Admin API, definitions
// import), so what is accepted and confirmed is always recovered after a
// restart (docs/durability.md "What is accepted is recoverable").
#pragma once

#include <cstddef>
#include <string>

#include "amqp/field_table.h"
#include "common/status.h"

namespace warren::core {

// AMQP short strings: queue, exchange and consumer names, routing keys and
// field-table keys.
inline constexpr size_t kMaxShortString = 255;

// PRECONDITION_FAILED naming `what` when `name` is longer than a short string.
Status CheckShortString(const std::string& what, const std::string& name);
// PRECONDITION_FAILED ("<what>: ...") when the table nests tables and arrays
// deeper than amqp::kMaxTableDepth (the outermost table is level 1) or has a
// key longer than a short string, at any level.
Status CheckTable(const std::string& what, const amqp::FieldTable& table);

}  // namespace warren::core
