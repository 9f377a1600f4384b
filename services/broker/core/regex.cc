#include "broker/core/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/log.h"
#include "common/text.h"

namespace warren::core {

struct Pattern::Compiled {
  std::string text;
  pcre2_code* code = nullptr;
  pcre2_match_context* limits = nullptr;
  bool warned = false;  // the loop's only: patterns are used on one thread
  ~Compiled() {
    pcre2_match_context_free(limits);
    pcre2_code_free(code);
  }
};

bool Pattern::Compile(const std::string& text, Pattern& out) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // No PCRE2_UTF: names are bytes, as RabbitMQ matches them.
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                                   &error, &offset, nullptr);
  if (code == nullptr) return false;
  auto c = std::make_shared<Compiled>();
  c->text = text;
  c->code = code;
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if unavailable
  c->limits = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(c->limits, kMatchLimit);
  pcre2_set_depth_limit(c->limits, 10'000);
  pcre2_set_heap_limit(c->limits, 1024);  // KiB
  out.re_ = std::move(c);
  return true;
}

bool Pattern::Search(std::string_view name) const {
  if (!re_) return false;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(re_->code, nullptr);
  int rc = pcre2_match(re_->code, reinterpret_cast<PCRE2_SPTR>(name.data()), name.size(), 0, 0,
                       md, re_->limits);
  pcre2_match_data_free(md);
  if (rc >= 0) return true;
  if (rc != PCRE2_ERROR_NOMATCH && !re_->warned) {
    re_->warned = true;
    spdlog::warn("pattern '{}' gave up on name '{}' (PCRE2 error {}): counted as no match",
                 LogSafe(re_->text), LogSafe(name), rc);
  }
  return false;
}

}  // namespace warren::core
