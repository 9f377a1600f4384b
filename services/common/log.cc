#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace warren {

void InitLogging(const std::string& level) {
  auto logger = spdlog::stderr_logger_st("warren");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  spdlog::set_default_logger(logger);
  spdlog::level::level_enum lvl = spdlog::level::info;
  if (level == "trace") lvl = spdlog::level::trace;
  else if (level == "debug") lvl = spdlog::level::debug;
  else if (level == "warning") lvl = spdlog::level::warn;
  else if (level == "error") lvl = spdlog::level::err;
  spdlog::set_level(lvl);
  spdlog::flush_on(spdlog::level::trace);
}

}  // namespace warren
