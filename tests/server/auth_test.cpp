// API keys: names, constant-time matching through digests, sources (flags, file, environment) and
// their errors, which never contain the key itself.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "server/auth.h"

namespace radseek::server {
namespace {

TEST(Auth, NamedAndBareKeysMatch) {
  auto ks = KeyStore::from_entries({"ward7:0123456789abcdef0123", "fedcba9876543210fedc"}, "test");
  ASSERT_TRUE(ks.ok()) << ks.error().message;
  EXPECT_EQ(ks->match("0123456789abcdef0123"), "ward7");
  EXPECT_EQ(ks->match("fedcba9876543210fedc"), "key2");
  EXPECT_EQ(ks->match("0123456789abcdef012"), std::nullopt);   // a prefix
  EXPECT_EQ(ks->match("0123456789abcdef01234"), std::nullopt);  // longer
  EXPECT_EQ(ks->match(""), std::nullopt);
}

TEST(Auth, RejectsShortAndDuplicateKeysWithoutEchoingThem) {
  auto shortk = KeyStore::from_entries({"a:tooshort"}, "test");
  ASSERT_FALSE(shortk.ok());
  EXPECT_EQ(shortk.error().message.find("tooshort"), std::string::npos);
  EXPECT_FALSE(KeyStore::from_entries({"a:0123456789abcdef", "a:0123456789abcdeX"}, "test").ok());
}

TEST(Auth, LoadsFromFlagFileAndEnvironment) {
  const auto file = std::filesystem::temp_directory_path() / ("radseek_keys_" + std::to_string(::getpid()));
  std::ofstream(file) << "# comment\n\nlab:aaaaaaaaaaaaaaaaaaaa\n";
  ::setenv("RADSEEK_TEST_KEYS", "pacs:bbbbbbbbbbbbbbbbbbbb, ris:cccccccccccccccccccc", 1);
  auto ks = KeyStore::load({.flags = {"cli:dddddddddddddddddddd"}, .file = file.string(), .env_var = "RADSEEK_TEST_KEYS"});
  std::filesystem::remove(file);
  ASSERT_TRUE(ks.ok()) << ks.error().message;
  EXPECT_EQ(ks->size(), 4u);
  EXPECT_EQ(ks->match("cccccccccccccccccccc"), "ris");
  EXPECT_EQ(ks->match("aaaaaaaaaaaaaaaaaaaa"), "lab");
  EXPECT_FALSE(KeyStore::load({.file = "/nonexistent/keys"}).ok());
}

TEST(Auth, BearerToken) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token(""), "");
}

}  // namespace
}  // namespace radseek::server
