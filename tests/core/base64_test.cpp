#include "tokenstorm/core/base64.h"

#include <gtest/gtest.h>

namespace tokenstorm::core {
namespace {

TEST(Base64Test, StrictDecoding) {
  EXPECT_EQ(decodeBase64("Y2EtZGF0YQ=="), "ca-data");
  EXPECT_EQ(decodeBase64("Y2EtZGF0YQ"), "ca-data");  // padding optional
  EXPECT_EQ(decodeBase64("Y2Et\nZGF0\r\nYQ=="), "ca-data");
  EXPECT_EQ(decodeBase64(""), "");
  EXPECT_FALSE(decodeBase64("Y2E*"));
  EXPECT_FALSE(decodeBase64("Y2E=Y2E="));  // data after padding
  EXPECT_FALSE(decodeBase64("Y"));         // one symbol cannot hold a byte
  EXPECT_FALSE(decodeBase64("YQ="));       // padding to a wrong length
}

TEST(Base64Test, EncodeRoundTrips) {
  EXPECT_EQ(encodeBase64(""), "");
  EXPECT_EQ(encodeBase64("C"), "Qw==");
  EXPECT_EQ(encodeBase64("CA"), "Q0E=");
  EXPECT_EQ(encodeBase64("ca-data"), "Y2EtZGF0YQ==");
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
    EXPECT_EQ(decodeBase64(encodeBase64(bytes)), bytes);
  }
}

}  // namespace
}  // namespace tokenstorm::core
