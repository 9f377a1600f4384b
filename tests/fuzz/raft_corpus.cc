// Writes the seed corpus of warren_fuzz_raft_message: every sample message
// (raft_samples.h), encoded. Usage: warren_raft_fuzz_corpus <dir>, which
// fills <dir>/corpus-raft_message (tests/fuzz/ in the source tree).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "raft/codec.h"
#include "raft_samples.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 2;
  }
  std::filesystem::path dir = std::filesystem::path(argv[1]) / "corpus-raft_message";
  std::filesystem::create_directories(dir);
  for (const auto& [name, message] : warren::raft::fuzz::SampleMessages()) {
    std::string bytes = warren::raft::EncodeMessage(message);
    std::ofstream(dir / name, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  return 0;
}
