// Writes the seed corpus of warren_fuzz_command: every sample command
// (command_samples.h), encoded. Usage: warren_command_fuzz_corpus <dir>,
// which fills <dir>/corpus-command (tests/fuzz/ in the source tree). The
// codec's unit tests hold the seeds to the samples' encodings, so run it
// only when the wire format changes on purpose.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "broker/cluster/command_codec.h"
#include "command_samples.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 2;
  }
  std::filesystem::path dir = std::filesystem::path(argv[1]) / "corpus-command";
  std::filesystem::create_directories(dir);
  for (const auto& [name, command] : warren::cluster::fuzz::SampleCommands()) {
    std::string bytes = warren::cluster::EncodeCommand(command);
    std::ofstream(dir / name, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  return 0;
}
