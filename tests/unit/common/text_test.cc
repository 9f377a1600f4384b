#include "common/text.h"

#include <string>

#include <gtest/gtest.h>

#include "common/json_limits.h"

namespace warren {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("orders.eu"));
  EXPECT_TRUE(IsUtf8("\xE6\xB6\x88\xE6\x81\xAF"));      // 消息
  EXPECT_TRUE(IsUtf8("\xF0\x9F\x90\x87"));              // U+1F407
  EXPECT_TRUE(IsUtf8(std::string("a\0b", 3)));          // NUL is a character
}

TEST(Utf8Test, RefusesEveryIllFormedKind) {
  EXPECT_FALSE(IsUtf8("\xFF"));                         // never in UTF-8
  EXPECT_FALSE(IsUtf8("abc\x80"));                      // lone continuation byte
  EXPECT_FALSE(IsUtf8("\xC3"));                         // truncated sequence
  EXPECT_FALSE(IsUtf8("\xC0\xAF"));                     // overlong '/'
  EXPECT_FALSE(IsUtf8("\xE0\x80\xAF"));                 // overlong, 3 bytes
  EXPECT_FALSE(IsUtf8("\xED\xA0\x80"));                 // surrogate U+D800
  EXPECT_FALSE(IsUtf8("\xF4\x90\x80\x80"));             // above U+10FFFF
  EXPECT_FALSE(IsUtf8("\xE6\xB6"));                     // cut inside a character
}

TEST(Utf8Test, ToUtf8ReplacesOnlyTheBadBytes) {
  EXPECT_EQ(ToUtf8("plain"), "plain");
  EXPECT_EQ(ToUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(ToUtf8("\xE6\xB6\x88\xFF\xFE"), "\xE6\xB6\x88\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(IsUtf8(ToUtf8("\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80")));
}

TEST(LogSafeTest, EscapesWhatCouldForgeALine) {
  EXPECT_EQ(LogSafe("guest"), "guest");
  EXPECT_EQ(LogSafe("evil\n2026-01-01 [info] login ok"), "evil\\n2026-01-01 [info] login ok");
  EXPECT_EQ(LogSafe("\x1b[31mred\r\t"), "\\x1b[31mred\\r\\t");
  EXPECT_EQ(LogSafe("a\\nb"), "a\\\\nb");  // a real backslash stays told apart
  EXPECT_EQ(LogSafe("\xFF\x7F"), "\\xff\\x7f");
  EXPECT_EQ(LogSafe("\xC2\x9B" "2J"), "\\u009b2J");  // C1 CSI
  EXPECT_EQ(LogSafe("\xE6\xB6\x88"), "\xE6\xB6\x88");  // printable text kept
}

TEST(LogSafeTest, BoundsTheLength) {
  EXPECT_EQ(LogSafe(std::string(1000, 'x'), 4), "xxxx...");
  EXPECT_EQ(LogSafe("\xE6\xB6\x88", 2), "\\xe6\\xb6...");  // a cut character is bytes
}

TEST(PrintableTest, KeepsBackslashesAndEscapesControls) {
  EXPECT_EQ(Printable("a\\b"), "a\\b");
  EXPECT_EQ(Printable("q\x1b]0;owned\x07"), "q\\x1b]0;owned\\x07");
  EXPECT_EQ(Printable("tab\there"), "tab\\there");
  EXPECT_EQ(Printable("\xFF"), "\\xff");
  EXPECT_EQ(Printable(std::string(1000, 'x')).size(), 1000u);
}

TEST(HexTest, RoundTripsAndRefusesWhatIsNotHex) {
  std::string bytes("\x00\xff\x10 z", 5);
  EXPECT_EQ(ToHex(bytes), "00ff10207a");
  EXPECT_EQ(FromHex("00FF10207a"), bytes);
  EXPECT_FALSE(FromHex("abc").has_value());
  EXPECT_FALSE(FromHex("zz").has_value());
  EXPECT_EQ(FromHex(""), std::string());
}

TEST(JsonLimitsTest, CountsNestingOutsideStrings) {
  EXPECT_TRUE(JsonDepthWithin("{}", 1));
  EXPECT_FALSE(JsonDepthWithin("{\"a\":[]}", 1));
  EXPECT_TRUE(JsonDepthWithin("{\"a\":[]}", 2));
  EXPECT_TRUE(JsonDepthWithin("{\"[[[[\":\"{{{{\"}", 1));
  EXPECT_TRUE(JsonDepthWithin("[\"\\\"[[[[\"]", 1));  // an escaped quote does not end it
  EXPECT_TRUE(JsonDepthWithin("]]]]{}", 1));          // bad JSON: the parser says so
}

TEST(JsonLimitsTest, RefusesHostileDepthQuickly) {
  std::string deep(30000, '[');
  EXPECT_FALSE(JsonDepthWithin(deep));
  std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(JsonDepthWithin(ok));
  EXPECT_FALSE(JsonDepthWithin("[" + ok + "]"));
}

}  // namespace
}  // namespace warren
