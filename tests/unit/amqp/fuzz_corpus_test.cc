// The fuzzer's seed corpus (tests/fuzz/corpus/) must stay valid input: each
// seed is an optional protocol header followed by whole frames that decode,
// so the fuzzer starts from deep inside the decoder rather than at the first
// length check. Regenerate with the warren_fuzz_corpus tool (tests/fuzz/).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "amqp/frame.h"
#include "amqp/methods.h"
#include "amqp/properties.h"

namespace warren::amqp {
namespace {

namespace fs = std::filesystem;

fs::path CorpusDir() {
  return fs::path(WARREN_SOURCE_DIR) / "tests" / "fuzz" / "corpus";
}

TEST(FuzzCorpusTest, EverySeedIsWholeValidFrames) {
  ASSERT_TRUE(fs::is_directory(CorpusDir())) << CorpusDir();
  int seeds = 0;
  for (const auto& entry : fs::directory_iterator(CorpusDir())) {
    ++seeds;
    std::ifstream file(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << file.rdbuf();
    std::string bytes = ss.str();
    EXPECT_LE(bytes.size(), 4096u) << entry.path() << ": keep seeds small";
    std::string_view in(bytes);
    if (in.substr(0, kProtocolHeader.size()) == kProtocolHeader)
      in.remove_prefix(kProtocolHeader.size());
    int frames = 0;
    while (!in.empty()) {
      FrameView f;
      size_t used = 0;
      FrameError err;
      ASSERT_EQ(DecodeFrame(in, 131072, f, used, err), FrameDecode::kOk)
          << entry.path() << " frame " << frames << " " << err.text;
      if (f.type == kFrameMethod) {
        Method m;
        EXPECT_EQ(DecodeMethod(f.payload, m), MethodDecode::kOk) << entry.path() << " " << frames;
      } else if (f.type == kFrameHeader) {
        ContentHeader h;
        EXPECT_TRUE(DecodeContentHeader(f.payload, h)) << entry.path() << " " << frames;
      }
      in.remove_prefix(used);
      ++frames;
    }
    EXPECT_GT(frames, 0) << entry.path();
  }
  EXPECT_GE(seeds, 5);
}

}  // namespace
}  // namespace warren::amqp
