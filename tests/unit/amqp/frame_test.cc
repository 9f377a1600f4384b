// Framing (spec 4.2.3): golden heartbeat and content frames, the incremental
// decoder fed one byte at a time, frame_max bounds, and one FRAME_ERROR (501)
// per kind of bad frame.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "amqp/frame.h"
#include "amqp/methods.h"
#include "amqp/codec_test_util.h"

namespace warren::amqp {
namespace {

using test::Be64;
using test::Bytes;
using test::Hex;
using test::RawFrame;

struct Decoded {
  uint8_t type;
  uint16_t channel;
  std::string payload;
  bool operator==(const Decoded&) const = default;
};

TEST(FrameGoldenTest, ProtocolHeader) {
  EXPECT_EQ(Hex(kProtocolHeader), Hex(Bytes({'A', 'M', 'Q', 'P', 0, 0, 9, 1})));
}

TEST(FrameGoldenTest, Heartbeat) {
  std::string out;
  AppendHeartbeat(out);
  // type 8, channel 0, size 0, frame-end.
  EXPECT_EQ(Hex(out), Hex(Bytes({0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xCE})));
  FrameView f;
  size_t used = 0;
  FrameError err;
  ASSERT_EQ(DecodeFrame(out, 4096, f, used, err), FrameDecode::kOk);
  EXPECT_EQ(f.type, kFrameHeartbeat);
  EXPECT_EQ(f.channel, 0);
  EXPECT_TRUE(f.payload.empty());
  EXPECT_EQ(used, 8u);
}

TEST(FrameDecodeTest, GoldenFrameDecodes) {
  std::string in = Bytes({0x03, 0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c', 0xCE});
  FrameView f;
  size_t used = 0;
  FrameError err;
  ASSERT_EQ(DecodeFrame(in, 0, f, used, err), FrameDecode::kOk);
  EXPECT_EQ(f.type, kFrameBody);
  EXPECT_EQ(f.channel, 0x1234);
  EXPECT_EQ(f.payload, "abc");
  EXPECT_EQ(f.payload.data(), in.data() + 7);  // a view into the input
  EXPECT_EQ(used, 11u);
}

// A connection's read loop: the buffer grows one byte at a time and every
// complete frame is taken off its front. Each frame must come out exactly
// when its frame-end byte arrives, consuming exactly its bytes.
TEST(FrameDecodeTest, ByteAtATimeYieldsEachFrameOnItsLastByte) {
  std::vector<Decoded> sent = {
      {kFrameMethod, 1, ""},  // filled in below
      {kFrameHeader, 1, ""},
      {kFrameBody, 1, "hello, "},
      {kFrameBody, 1, "world"},
      {kFrameHeartbeat, 0, ""},
      {kFrameBody, 65535, std::string(300, 'z')},
  };
  std::string pub;
  AppendMethodFrame(pub, 1, BasicPublish{.exchange = "amq.direct", .routing_key = "rk"});
  sent[0].payload = pub.substr(7, pub.size() - 8);
  sent[1].payload = Bytes({0x00, 0x3C, 0x00, 0x00}) + Be64(12) + Bytes({0x00, 0x00});
  std::string stream;
  std::vector<size_t> ends;
  for (const Decoded& d : sent) {
    stream += RawFrame(d.type, d.channel, d.payload);
    ends.push_back(stream.size());
  }
  ASSERT_EQ(stream.substr(0, pub.size()), pub);

  std::string buf;
  std::vector<Decoded> got;
  std::vector<size_t> got_at;
  for (size_t fed = 1; fed <= stream.size(); ++fed) {
    buf.push_back(stream[fed - 1]);
    FrameView f;
    size_t used = 0;
    FrameError err;
    FrameDecode r = DecodeFrame(buf, 131072, f, used, err);
    if (r == FrameDecode::kNeedMore) continue;
    ASSERT_EQ(r, FrameDecode::kOk) << err.text;
    EXPECT_EQ(used, buf.size()) << "frame " << got.size();
    got.push_back({f.type, f.channel, std::string(f.payload)});
    got_at.push_back(fed);
    buf.erase(0, used);
    // The buffer now holds nothing: decoding it again needs more.
    EXPECT_EQ(DecodeFrame(buf, 131072, f, used, err), FrameDecode::kNeedMore);
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(got_at, ends);
  EXPECT_TRUE(buf.empty());
}

TEST(FrameDecodeTest, BackToBackFramesInOneBuffer) {
  std::string in;
  AppendMethodFrame(in, 3, BasicAck{.delivery_tag = 42, .multiple = true});
  size_t first = in.size();
  AppendHeartbeat(in);
  in += Bytes({0x01, 0x00});  // the start of a third frame
  std::string_view rest(in);
  FrameView f;
  size_t used = 0;
  FrameError err;
  ASSERT_EQ(DecodeFrame(rest, 4096, f, used, err), FrameDecode::kOk);
  EXPECT_EQ(used, first);
  EXPECT_EQ(f.type, kFrameMethod);
  EXPECT_EQ(f.channel, 3);
  Method m;
  ASSERT_EQ(DecodeMethod(f.payload, m), MethodDecode::kOk);
  ASSERT_TRUE(std::holds_alternative<BasicAck>(m));
  EXPECT_EQ(std::get<BasicAck>(m).delivery_tag, 42u);
  EXPECT_TRUE(std::get<BasicAck>(m).multiple);
  rest.remove_prefix(used);
  ASSERT_EQ(DecodeFrame(rest, 4096, f, used, err), FrameDecode::kOk);
  EXPECT_EQ(f.type, kFrameHeartbeat);
  EXPECT_EQ(used, 8u);
  rest.remove_prefix(used);
  EXPECT_EQ(DecodeFrame(rest, 4096, f, used, err), FrameDecode::kNeedMore);
}

TEST(FrameDecodeTest, FewerThanSevenBytesNeedMore) {
  std::string in = RawFrame(kFrameMethod, 1, "abcd");
  FrameView f;
  size_t used;
  FrameError err;
  for (size_t n = 0; n < 7; ++n)
    EXPECT_EQ(DecodeFrame(std::string_view(in).substr(0, n), 4096, f, used, err),
              FrameDecode::kNeedMore)
        << n;
}

::testing::AssertionResult IsFrameError(std::string_view in, uint32_t frame_max) {
  FrameView f;
  size_t used = 12345;
  FrameError err;
  FrameDecode r = DecodeFrame(in, frame_max, f, used, err);
  if (r != FrameDecode::kError) return ::testing::AssertionFailure() << "not an error";
  if (err.reply_code != 501) return ::testing::AssertionFailure() << "code " << err.reply_code;
  if (err.text.rfind("FRAME_ERROR", 0) != 0)
    return ::testing::AssertionFailure() << "text " << err.text;
  return ::testing::AssertionSuccess() << err.text;
}

TEST(FrameErrorTest, BadFrameEnd) {
  for (int end : {0x00, 0xCD, 0xCF, 0xFF}) {
    std::string in = RawFrame(kFrameMethod, 1, "abcd", static_cast<uint8_t>(end));
    EXPECT_TRUE(IsFrameError(in, 4096)) << end;
    // Until the end byte is there the decoder cannot know.
    FrameView f;
    size_t used;
    FrameError err;
    EXPECT_EQ(DecodeFrame(std::string_view(in).substr(0, in.size() - 1), 4096, f, used, err),
              FrameDecode::kNeedMore);
  }
}

TEST(FrameErrorTest, UnknownFrameTypeFromTheHeaderAlone) {
  for (int type : {0, 4, 5, 7, 9, 0xCE, 0xFF}) {
    std::string in = RawFrame(static_cast<uint8_t>(type), 0, "");
    EXPECT_TRUE(IsFrameError(in, 4096)) << type;
    EXPECT_TRUE(IsFrameError(in.substr(0, 7), 4096)) << type;  // no payload yet
  }
  // 'A' as in a second "AMQP" protocol header arriving mid-stream.
  EXPECT_TRUE(IsFrameError(Bytes({'A', 'M', 'Q', 'P', 0, 0, 9, 1}), 4096));
}

TEST(FrameErrorTest, FrameMaxCountsTheWholeFrame) {
  for (uint32_t frame_max : {4096u, 131072u}) {
    std::string fits = RawFrame(kFrameBody, 1, std::string(frame_max - 8, 'b'));
    ASSERT_EQ(fits.size(), frame_max);
    FrameView f;
    size_t used = 0;
    FrameError err;
    ASSERT_EQ(DecodeFrame(fits, frame_max, f, used, err), FrameDecode::kOk) << err.text;
    EXPECT_EQ(used, frame_max);
    EXPECT_EQ(f.payload.size(), frame_max - 8);
    // One byte more is refused as soon as the header shows the size.
    std::string over = RawFrame(kFrameBody, 1, std::string(frame_max - 7, 'b'));
    EXPECT_TRUE(IsFrameError(over, frame_max)) << frame_max;
    EXPECT_TRUE(IsFrameError(over.substr(0, 7), frame_max)) << frame_max;
    // A size field near 2^32 must not wrap around the check.
    std::string huge = Bytes({0x03, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF});
    EXPECT_TRUE(IsFrameError(huge, frame_max));
    huge[6] = static_cast<char>(0xF9);  // 2^32 - 7: + 8 overflows 32 bits
    EXPECT_TRUE(IsFrameError(huge, frame_max));
  }
}

TEST(FrameErrorTest, FrameMaxZeroMeansNoLimit) {
  std::string big = RawFrame(kFrameBody, 1, std::string(300000, 'b'));
  FrameView f;
  size_t used = 0;
  FrameError err;
  ASSERT_EQ(DecodeFrame(big, 0, f, used, err), FrameDecode::kOk);
  EXPECT_EQ(used, big.size());
  std::string huge_header = Bytes({0x03, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xF9});
  EXPECT_EQ(DecodeFrame(huge_header, 0, f, used, err), FrameDecode::kNeedMore);
}

// ---------------------------------------------------------------------------
// AppendContent: one header frame, then body frames of at most frame_max - 8
// payload bytes each.

std::string BodyOf(size_t n) {
  std::string b;
  for (size_t i = 0; i < n; ++i) b.push_back(static_cast<char>(i * 7 + i / 251));
  return b;
}

TEST(ContentFramesTest, HeaderFrameCarriesBodySizeAndRawProperties) {
  std::string raw = Bytes({0x90, 0x00, 0x0A}) + "text/plain" + Bytes({0x02});  // 14 bytes
  std::string out;
  AppendContent(out, 5, 60, raw, "", 4096);
  std::string golden = Bytes({0x02, 0x00, 0x05, 0x00, 0x00, 0x00, 0x1A,  // 12 + 14
                              0x00, 0x3C, 0x00, 0x00,                    // class 60, weight 0
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}) +
                       raw + Bytes({0xCE});
  EXPECT_EQ(Hex(out), Hex(golden));
  out.clear();
  AppendContent(out, 5, 60, raw, BodyOf(0x0102), 4096);
  EXPECT_EQ(Hex(out.substr(0, 19)),
            Hex(Bytes({0x02, 0x00, 0x05, 0x00, 0x00, 0x00, 0x1A, 0x00, 0x3C, 0x00, 0x00,
                       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02})));
  EXPECT_EQ(out.substr(19, raw.size()), raw);
}

TEST(ContentFramesTest, BodySplitsAtFrameMaxMinusEight) {
  const uint32_t frame_max = 4096;
  const size_t chunk = 4088;
  struct Case {
    size_t body;
    std::vector<size_t> frames;
  };
  const Case cases[] = {
      {0, {}},
      {1, {1}},
      {chunk - 1, {chunk - 1}},
      {chunk, {chunk}},
      {chunk + 1, {chunk, 1}},
      {2 * chunk + 7, {chunk, chunk, 7}},
  };
  const std::string raw = Bytes({0x00, 0x00});
  for (const Case& c : cases) {
    std::string body = BodyOf(c.body);
    std::string out;
    AppendContent(out, 9, 60, raw, body, frame_max);
    std::string expected = RawFrame(kFrameHeader, 9,
                                    Bytes({0x00, 0x3C, 0x00, 0x00}) + Be64(c.body) + raw);
    size_t at = 0;
    for (size_t n : c.frames) {
      expected += RawFrame(kFrameBody, 9, std::string_view(body).substr(at, n));
      at += n;
    }
    ASSERT_EQ(at, c.body);
    EXPECT_EQ(out.size(), expected.size()) << c.body;
    EXPECT_TRUE(out == expected) << "body " << c.body;
    // And every frame passes the decoder with this frame_max.
    std::string_view in(out);
    while (!in.empty()) {
      FrameView f;
      size_t used = 0;
      FrameError err;
      ASSERT_EQ(DecodeFrame(in, frame_max, f, used, err), FrameDecode::kOk) << err.text;
      in.remove_prefix(used);
    }
  }
}

TEST(ContentFramesTest, FrameMaxZeroSendsOneBodyFrame) {
  std::string body = BodyOf(200000);
  std::string out;
  AppendContent(out, 1, 60, Bytes({0x00, 0x00}), body, 0);
  std::string expected = RawFrame(kFrameHeader, 1,
                                  Bytes({0x00, 0x3C, 0x00, 0x00}) + Be64(200000) +
                                      Bytes({0x00, 0x00})) +
                         RawFrame(kFrameBody, 1, body);
  EXPECT_TRUE(out == expected);
}

TEST(ContentFramesTest, AppendsAfterExistingBytes) {
  std::string out = "prefix";
  AppendContent(out, 1, 60, Bytes({0x00, 0x00}), "b", 4096);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(out.substr(6), RawFrame(kFrameHeader, 1, Bytes({0x00, 0x3C, 0x00, 0x00}) + Be64(1) +
                                                         Bytes({0x00, 0x00})) +
                               RawFrame(kFrameBody, 1, "b"));
}

}  // namespace
}  // namespace warren::amqp
