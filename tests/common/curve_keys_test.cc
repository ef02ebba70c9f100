#include "common/curve_keys.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

#include "tests/support/process.h"

using namespace reflex;
using reflex::testing::TempDir;

namespace {

mode_t file_mode(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("generated keypairs are Z85 keys whose public half derives from the secret", "[curve]") {
  auto a = curve::generate();
  auto b = curve::generate();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(curve::is_z85_key(a->public_key));
  CHECK(curve::is_z85_key(a->secret_key));
  CHECK(a->public_key != b->public_key);
  auto derived = curve::public_from_secret(a->secret_key);
  REQUIRE(derived);
  CHECK(*derived == a->public_key);
}

TEST_CASE("is_z85_key accepts only 40 Z85 characters that decode to 32 bytes", "[curve]") {
  auto keys = curve::generate();
  REQUIRE(keys);
  CHECK(curve::is_z85_key(keys->public_key));
  CHECK_FALSE(curve::is_z85_key(""));
  CHECK_FALSE(curve::is_z85_key(keys->public_key.substr(1)));
  CHECK_FALSE(curve::is_z85_key(keys->public_key + "a"));
  std::string bad_char = keys->public_key;
  bad_char[7] = '~';
  CHECK_FALSE(curve::is_z85_key(bad_char));
  // Right length and alphabet, but "#####" is 85^5 - 1 > 2^32 - 1: not 4 bytes.
  CHECK_FALSE(curve::is_z85_key("#####" + keys->public_key.substr(5)));
}

TEST_CASE("a raw 32-byte key encodes to the Z85 text libzmq would print", "[curve]") {
  CHECK(curve::z85_from_raw(std::string(32, '\0')) == "0000000000000000000000000000000000000000");
  CHECK(curve::z85_from_raw("too short").empty());
}

TEST_CASE("a written keypair loads back from its secret file and its public file", "[curve]") {
  TempDir dir;
  auto keys = curve::generate();
  REQUIRE(keys);
  const std::string prefix = dir.file("web-01");
  REQUIRE(curve::write_keypair(prefix, *keys, "reflex agent web-01", false));

  auto loaded = curve::load_keypair(curve::secret_key_path(prefix));
  REQUIRE(loaded);
  CHECK(loaded->secret_key == keys->secret_key);
  CHECK(loaded->public_key == keys->public_key);
  auto pub = curve::load_public_key(curve::public_key_path(prefix));
  REQUIRE(pub);
  CHECK(*pub == keys->public_key);
  // The comment is a readable label; the key line follows it.
  CHECK(testing::read_file(curve::public_key_path(prefix)) ==
        "# reflex agent web-01\n" + keys->public_key + "\n");
}

TEST_CASE("the secret key file is created 0600 and the public one 0644", "[curve]") {
  TempDir dir;
  auto keys = curve::generate();
  REQUIRE(keys);
  const std::string prefix = dir.file("hub");
  REQUIRE(curve::write_keypair(prefix, *keys, "", false));
  CHECK(file_mode(curve::secret_key_path(prefix)) == 0600);
  CHECK(file_mode(curve::public_key_path(prefix)) == 0644);
}

TEST_CASE("a secret key file readable by group or others is refused, naming path and mode",
          "[curve]") {
  TempDir dir;
  auto keys = curve::generate();
  REQUIRE(keys);
  const std::string prefix = dir.file("web-01");
  REQUIRE(curve::write_keypair(prefix, *keys, "", false));
  const std::string secret = curve::secret_key_path(prefix);

  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    REQUIRE(::chmod(secret.c_str(), mode) == 0);
    auto loaded = curve::load_keypair(secret);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.status().code() == "permissions");
    CHECK_THAT(loaded.status().message(), Catch::Contains(secret));
    char mode_text[8];
    std::snprintf(mode_text, sizeof mode_text, "%04o", static_cast<unsigned>(mode));
    CHECK_THAT(loaded.status().message(), Catch::Contains(mode_text));
    CHECK_THAT(loaded.status().message(), !Catch::Contains(keys->secret_key));
  }
  REQUIRE(::chmod(secret.c_str(), 0400) == 0);
  CHECK(curve::load_keypair(secret));
}

TEST_CASE("writing a keypair refuses to overwrite existing files unless forced", "[curve]") {
  TempDir dir;
  auto first = curve::generate();
  auto second = curve::generate();
  REQUIRE(first);
  REQUIRE(second);
  const std::string prefix = dir.file("web-01");
  REQUIRE(curve::write_keypair(prefix, *first, "", false));

  Status again = curve::write_keypair(prefix, *second, "", false);
  REQUIRE_FALSE(again);
  CHECK(again.code() == "exists");
  CHECK_THAT(again.message(), Catch::Contains(prefix));
  auto kept = curve::load_keypair(curve::secret_key_path(prefix));
  REQUIRE(kept);
  CHECK(kept->public_key == first->public_key);

  SECTION("even when only the public file is there") {
    REQUIRE(::unlink(curve::secret_key_path(prefix).c_str()) == 0);
    CHECK_FALSE(curve::write_keypair(prefix, *second, "", false));
    CHECK(*curve::load_public_key(curve::public_key_path(prefix)) == first->public_key);
  }
  SECTION("and replaces both, still 0600, when forced") {
    REQUIRE(::chmod(curve::secret_key_path(prefix).c_str(), 0644) == 0);
    REQUIRE(curve::write_keypair(prefix, *second, "", true));
    CHECK(file_mode(curve::secret_key_path(prefix)) == 0600);
    auto replaced = curve::load_keypair(curve::secret_key_path(prefix));
    REQUIRE(replaced);
    CHECK(replaced->public_key == second->public_key);
    CHECK(*curve::load_public_key(curve::public_key_path(prefix)) == second->public_key);
  }
  // No temporary files are left behind either way.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  CHECK(files <= 2);
}

TEST_CASE("a mismatched keypair is not written", "[curve]") {
  TempDir dir;
  auto a = curve::generate();
  auto b = curve::generate();
  REQUIRE(a);
  REQUIRE(b);
  Status st = curve::write_keypair(dir.file("x"), {a->public_key, b->secret_key}, "", false);
  REQUIRE_FALSE(st);
  CHECK_THAT(st.message(), !Catch::Contains(b->secret_key));
  CHECK_FALSE(std::filesystem::exists(dir.file("x.key_secret")));
}

TEST_CASE("a key file with a bad key names the file and line without quoting the key", "[curve]") {
  TempDir dir;
  auto keys = curve::generate();
  REQUIRE(keys);
  const std::string truncated = keys->secret_key.substr(0, 39);
  const std::string path = dir.write("bad.key", "# a comment\n\n" + truncated + "\n");

  auto pub = curve::load_public_key(path);
  REQUIRE_FALSE(pub);
  CHECK(pub.status().code() == "invalid_key");
  CHECK_THAT(pub.status().message(), Catch::Contains(path + ":3:"));
  CHECK_THAT(pub.status().message(), Catch::Contains("39 characters"));
  CHECK_THAT(pub.status().message(), !Catch::Contains(truncated));

  const std::string secret = dir.write("bad.key_secret", truncated + "\n");
  REQUIRE(::chmod(secret.c_str(), 0600) == 0);
  auto loaded = curve::load_keypair(secret);
  REQUIRE_FALSE(loaded);
  CHECK_THAT(loaded.status().message(), Catch::Contains(secret + ":1:"));
  CHECK_THAT(loaded.status().message(), !Catch::Contains(truncated));
}

TEST_CASE("a key file must hold exactly one key line", "[curve]") {
  auto a = curve::generate();
  auto b = curve::generate();
  REQUIRE(a);
  REQUIRE(b);
  auto two = curve::parse_key_file(a->public_key + "\n" + b->public_key + "\n", "f.key");
  REQUIRE_FALSE(two);
  CHECK_THAT(two.status().message(), Catch::Contains("f.key:2:"));
  auto none = curve::parse_key_file("# only a comment\n\n", "f.key");
  REQUIRE_FALSE(none);
  CHECK_THAT(none.status().message(), Catch::Contains("f.key: no key found"));
  // CRLF line ends and surrounding blanks, as an editor on another system may leave them.
  auto crlf = curve::parse_key_file("#c\r\n  " + a->public_key + " \r\n", "f.key");
  REQUIRE(crlf);
  CHECK(*crlf == a->public_key);
}

TEST_CASE("a missing key file is an io error naming the path", "[curve]") {
  TempDir dir;
  auto loaded = curve::load_keypair(dir.file("absent.key_secret"));
  REQUIRE_FALSE(loaded);
  CHECK(loaded.status().code() == "io");
  CHECK_THAT(loaded.status().message(), Catch::Contains(dir.file("absent.key_secret")));
}
