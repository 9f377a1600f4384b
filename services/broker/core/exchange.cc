#include "broker/core/exchange.h"

namespace warren::core {

namespace {

const std::string* AlternateIn(const amqp::FieldTable& table, std::string_view key) {
  const amqp::FieldValue* ae = table.Find(key);
  return ae ? ae->AsString() : nullptr;
}

}  // namespace

Exchange::Exchange(std::string name, std::string type, ExchangeOptions options,
                   std::unique_ptr<Router> router)
    : name_(std::move(name)), type_(std::move(type)), options_(std::move(options)),
      router_(std::move(router)) {
  ApplyPolicy(nullptr);
}

void Exchange::ApplyPolicy(const Policy* policy) {
  policy_name_ = policy ? policy->name : std::string();
  const std::string* ae = AlternateIn(options_.arguments, "alternate-exchange");
  if (!ae && policy) ae = AlternateIn(policy->definition, "alternate-exchange");
  alternate_ = ae ? std::optional<std::string>(*ae) : std::nullopt;
}

}  // namespace warren::core
