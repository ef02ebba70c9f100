// The RFC 5322 message the email integration submits: pure functions from what a row
// says (recipients, subject, body) to the bytes uploaded after SMTP DATA.
//
// The format, as written by build_mail_message():
//   Date: Thu, 26 Nov 2026 15:41:50 +0000          (RFC 5322 3.3, UTC)
//   From: <from>
//   To: <a>, <b>                                    (the envelope recipients, in order)
//   Subject: <subject>                              (RFC 2047 encoded-words, =?UTF-8?B?..?=,
//                                                    when not plain short ASCII; folded)
//   Message-ID: <reflex.<key>@<domain of from>>     (mail_message_id: the same outbox row
//                                                    always gets the same id, so a resend
//                                                    is recognisable as a duplicate)
//   MIME-Version: 1.0
//   Content-Type: text/plain; charset=utf-8
//   Content-Transfer-Encoding: 7bit | quoted-printable
//   <empty line>
//   <body>
// Every line ends with CRLF (a bare CR or LF in the body becomes CRLF). The body stays
// 7bit when it is ASCII with lines of at most 998 bytes, else it is quoted-printable
// (RFC 2045 6.7), so the message is 7-bit clean whatever the server supports. No dot
// stuffing here: libcurl does it while sending. CR and LF in the subject become spaces,
// so no text can add a header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::hub {

struct MailMessage {
  std::string from;             // "alerts@example.com"
  std::vector<std::string> to;  // "oncall@example.com", ...
  std::string subject;          // UTF-8
  std::string body;             // UTF-8, any line endings
  std::string idempotency_key;  // the outbox row's
  int64_t date_ms = 0;          // Unix epoch ms
};

// "Thu, 26 Nov 2026 15:41:50 +0000".
std::string rfc5322_date(int64_t epoch_ms);
// `text` as it may stand in an unstructured header: itself when it is printable ASCII
// of at most 78 bytes, else RFC 2047 B encoded-words of whole UTF-8 characters, each at
// most 75 bytes, joined by CRLF SP (folding). CR and LF become spaces first.
std::string encode_header_text(std::string_view text);
// "<reflex.<key>@<domain>>" where the key keeps letters, digits, '-' and '_' and writes
// every other byte as =XX (so different keys give different ids); <domain> is the part
// of `from` after '@' ("reflex.invalid" without one).
std::string mail_message_id(std::string_view idempotency_key, std::string_view from);
// `text` with every line ending CRLF; quoted-printable (76-byte lines, soft breaks) when
// `qp`.
std::string crlf_lines(std::string_view text);
std::string quoted_printable(std::string_view text);
// Whether `text` can travel as 7bit: ASCII, no NUL, lines of at most 998 bytes.
bool is_7bit(std::string_view text);

// The whole message, ready to upload.
std::string build_mail_message(const MailMessage& m);

// Whether `address` is a plain addr-spec Reflex will put in an envelope and a To
// header: one '@' with text on both sides, no spaces, controls, commas, angle brackets,
// quotes or parentheses, at most 254 bytes.
bool plain_mail_address(std::string_view address);

}  // namespace reflex::hub
