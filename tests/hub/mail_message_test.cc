// The RFC 5322 message the email integration submits (hub/integrations/mail_message.h):
// pure functions, golden bytes.
#include "hub/integrations/mail_message.h"

#include <catch2/catch.hpp>

using namespace reflex::hub;

namespace {

MailMessage sample() {
  return {.from = "reflex@example.com",
          .to = {"oncall@example.com", "lead@example.com"},
          .subject = "high: HighErrorRate on checkout",
          .body = "Three hosts.\n.\n..dots stay\nend",
          .idempotency_key = "wf:42:7",
          .date_ms = 1'795'707'710'000};  // 2026-11-26T15:41:50Z
}

}  // namespace

TEST_CASE("a message has the RFC 5322 headers, CRLF lines and a 7bit ASCII body", "[email]") {
  CHECK(build_mail_message(sample()) ==
        "Date: Thu, 26 Nov 2026 15:41:50 +0000\r\n"
        "From: reflex@example.com\r\n"
        "To: oncall@example.com, lead@example.com\r\n"
        "Subject: high: HighErrorRate on checkout\r\n"
        "Message-ID: <reflex.wf=3A42=3A7@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Three hosts.\r\n"
        ".\r\n"
        "..dots stay\r\n"
        "end\r\n");
}

TEST_CASE("a resend of the same row has the same Message-ID and different keys differ", "[email]") {
  CHECK(mail_message_id("wf:42:7", "reflex@example.com") ==
        mail_message_id("wf:42:7", "reflex@example.com"));
  CHECK(mail_message_id("wf:42:7", "a@b") != mail_message_id("wf.42.7", "a@b"));
  CHECK(mail_message_id("k/ok", "a@mail.example.org") == "<reflex.k=2Fok@mail.example.org>");
  CHECK(mail_message_id("k", "no-domain") == "<reflex.k@reflex.invalid>");
}

TEST_CASE(
    "a non-ASCII or long subject becomes folded UTF-8 encoded-words, and CR LF cannot "
    "add a header",
    "[email]") {
  CHECK(encode_header_text("plain subject") == "plain subject");
  CHECK(encode_header_text("Störung: Kasse") == "=?UTF-8?B?U3TDtnJ1bmc6IEthc3Nl?=");
  // Whole characters per word: "é" (2 bytes) is never split across words.
  const std::string long_text(35, 'a');
  const std::string encoded = encode_header_text(long_text + "é and more");
  CHECK(encoded.find("\r\n ") != std::string::npos);
  for (size_t start = 0; start < encoded.size();) {
    size_t end = encoded.find("\r\n ", start);
    const std::string word = encoded.substr(start, end == std::string::npos ? end : end - start);
    CHECK(word.size() <= 75);
    CHECK(word.rfind("=?UTF-8?B?", 0) == 0);
    start = end == std::string::npos ? encoded.size() : end + 3;
  }
  CHECK(encode_header_text(std::string(100, 'x')).find("=?UTF-8?B?") == 0);
  CHECK(encode_header_text("a\r\nBcc: evil@example.com") == "a  Bcc: evil@example.com");
  CHECK(encode_header_text("=?looks encoded?=").rfind("=?UTF-8?B?", 0) == 0);
}

TEST_CASE("a non-ASCII or long-lined body is quoted-printable with short lines", "[email]") {
  CHECK(is_7bit("abc\r\ndef\n"));
  CHECK_FALSE(is_7bit("grüße"));
  CHECK_FALSE(is_7bit(std::string(999, 'x')));
  CHECK(quoted_printable("grüße = ok \nnext\t") == "gr=C3=BC=C3=9Fe =3D ok=20\r\nnext=09\r\n");
  const std::string qp = quoted_printable(std::string(200, 'y'));
  size_t start = 0;
  while (start < qp.size()) {
    const size_t end = qp.find("\r\n", start);
    CHECK(end - start <= 76);
    start = end + 2;
  }
  MailMessage m = sample();
  m.body = "Prüfung\r\nline";
  const std::string msg = build_mail_message(m);
  CHECK(msg.find("Content-Transfer-Encoding: quoted-printable\r\n\r\nPr=C3=BCfung\r\nline\r\n") !=
        std::string::npos);
}

TEST_CASE("line endings become CRLF whatever the body used", "[email]") {
  CHECK(crlf_lines("a\nb\r\nc\rd") == "a\r\nb\r\nc\r\nd\r\n");
  CHECK(crlf_lines("a\n\nb\n") == "a\r\n\r\nb\r\n");
  CHECK(crlf_lines("") == "");
}

TEST_CASE("many recipients are folded onto continuation lines", "[email]") {
  MailMessage m = sample();
  m.to = {"first.person@example.com", "second.person@example.com", "third.person@example.com"};
  CHECK(build_mail_message(m).find("To: first.person@example.com,\r\n second.person@example.com,"
                                   "\r\n third.person@example.com\r\n") != std::string::npos);
}

TEST_CASE("only plain addresses are accepted for the envelope and To", "[email]") {
  CHECK(plain_mail_address("alice@example.com"));
  CHECK(plain_mail_address("a.b+tag@sub.example.org"));
  for (const char* bad : {"", "alice", "@example.com", "alice@", "a@b@c", "Alice <a@b>", "a b@c",
                          "a,b@c", "a@b\r\nRCPT TO:<x@y>", "\"q\"@b"}) {
    INFO(bad);
    CHECK_FALSE(plain_mail_address(bad));
  }
}
