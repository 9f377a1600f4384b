// What the store can write and read back unchanged, in one place. A
// definition that passes Encodable() survives a restart as it was declared;
// one that does not is refused by the definitions log (logged, never
// written), so declare-time validation should call these first and answer
// the client with the reason instead.
//
// Field tables (queue, exchange and binding arguments, policy definitions)
// must hold only known value types whose values fit their type letter, keys
// of at most kMaxTableKey bytes (AMQP short strings), strings below 4 GiB,
// and nest at most kMaxStoredTableDepth levels; a whole record (names and
// tables) at most kMaxRecordPayload bytes. kMaxStoredTableDepth is above
// amqp::kMaxTableDepth, the limit on the wire, so everything a client can
// send is stored; edges that build tables from JSON may allow more than the
// wire does and should check against amqp::kMaxTableDepth themselves.
#pragma once

#include <cstddef>
#include <cstdint>

#include "amqp/field_table.h"
#include "broker/core/persistence.h"
#include "broker/store/record.h"
#include "common/status.h"

namespace warren::store {

inline constexpr int kMaxStoredTableDepth = 128;
inline constexpr size_t kMaxTableKey = 255;

// OK when `table` is written and read back unchanged; else says why
// (reply code 406 PRECONDITION_FAILED, as a refused declare gets).
Status Encodable(const amqp::FieldTable& table);
Status Encodable(const core::ExchangeDef& exchange);
Status Encodable(const core::QueueDef& queue);
Status Encodable(const core::BindingDef& binding);
Status Encodable(const core::PolicyDef& policy);
Status Encodable(const core::ParameterDef& parameter);

}  // namespace warren::store
