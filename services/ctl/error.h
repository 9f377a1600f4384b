// How warrenctl fails: one CtlError carries the line printed after "Error: "
// and the exit status, which follows rabbitmqctl's (sysexits.h) codes.
// Commands throw it; main() catches it, prints it on stderr and exits.
#pragma once

#include <stdexcept>
#include <string>

namespace warren::ctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 64,        // bad flags, arguments or columns
  kExitDataErr = 65,      // bad input data: regex, JSON, unknown vhost, failed login
  kExitNoUser = 67,       // the user named does not exist
  kExitUnavailable = 69,  // the node cannot be reached
  kExitSoftware = 70,     // the node refused for another reason (e.g. already exists)
  kExitTempFail = 75,     // the node did not answer within --timeout
  kExitNoPerm = 77,       // bad credentials, or tags that do not allow the command
  kExitConfig = 78,       // unreadable or invalid --config file
};

struct CtlError : std::runtime_error {
  CtlError(int exit_code, const std::string& message)
      : std::runtime_error(message), code(exit_code) {}
  int code;
};

}  // namespace warren::ctl
