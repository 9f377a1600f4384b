// libFuzzer target for the JSON the Admin service reads from its callers:
// arguments, policy definitions, message properties and definitions files.
// The input is the JSON text. Properties checked (any failure aborts):
//   - nothing throws or crashes, whatever the text (a parse that goes deep
//     is refused before any recursive code runs);
//   - a table accepted from JSON and by the declare-time check
//     (core/limits.h) encodes and decodes to an equal table: what is
//     accepted is recoverable;
//   - what is shown back as JSON always dumps, and the dump parses;
//   - definitions import into a fresh broker returns a Status, never throws.
// Run with `make fuzz` (README.md).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "amqp/field_table.h"
#include "amqp/properties.h"
#include "amqp/wire.h"
#include "broker/admin/definitions_json.h"
#include "broker/admin/json_values.h"
#include "broker/admin/message_json.h"
#include "broker/core/broker.h"
#include "broker/core/limits.h"
#include "common/config.h"
#include "common/runtime.h"
#include "fuzz_check.h"

namespace {

using namespace warren;

// Time stands still and timers never fire: import declares, nothing runs.
class StillRuntime final : public Runtime {
 public:
  int64_t NowMs() const override { return 0; }
  int64_t WallSeconds() const override { return 1'700'000'000; }
  TimerId ScheduleAfter(int64_t, std::function<void()>) override { return ++id_; }
  void Cancel(TimerId) override {}

 private:
  TimerId id_ = 0;
};

void ShownBack(const nlohmann::json& j) {
  std::string text = admin::Dump(j);
  FUZZ_CHECK(!nlohmann::json::parse(text, nullptr, false).is_discarded());
}

void CheckTable(const nlohmann::json& j) {
  amqp::FieldTable table;
  std::string error;
  if (!admin::TableFromJson(j, table, error)) return;
  ShownBack(admin::ToJson(table));
  if (!core::CheckTable("t", table).ok()) return;
  std::string bytes;
  amqp::EncodeTable(table, bytes);
  amqp::Reader r(bytes);
  amqp::FieldTable decoded;
  FUZZ_CHECK(amqp::DecodeTable(r, decoded));
  // NaN is unequal to itself; compare the bytes then.
  std::string again;
  amqp::EncodeTable(decoded, again);
  FUZZ_CHECK(again == bytes);
}

void CheckProperties(const nlohmann::json& j) {
  amqp::BasicProperties props;
  std::string error;
  if (!admin::PropertiesFromJson(j, props, error)) return;
  if (props.headers && !core::CheckTable("headers", *props.headers).ok()) return;
  std::string raw;
  amqp::EncodeProperties(props, raw);
  amqp::BasicProperties decoded;
  FUZZ_CHECK(amqp::DecodeProperties(raw, decoded));
  ShownBack(admin::PropertiesToJson(decoded));
}

void CheckImport(const nlohmann::json& j) {
  StillRuntime runtime;
  NodeConfig config;
  core::Broker broker(runtime, config);
  (void)broker.AddVHost("/");
  Status s = admin::ImportDefinitions(broker, j);
  (void)s;
  ShownBack(admin::ExportDefinitions(broker));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j;
  std::string error;
  if (!admin::ParseJson(text, "input", j, error)) return 0;
  CheckTable(j);
  CheckProperties(j);
  CheckImport(j);
  return 0;
}
