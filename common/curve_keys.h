// CURVE keys for the agent <-> hub link: generating keypairs and reading and writing
// key files. The hub has one keypair (its public key is given to every agent); each
// agent has its own, and the hub admits an agent only if its public key is enrolled.
//
// Key file format (written by `reflexctl keygen`, read by hub and agent):
//   PREFIX.key         the Z85 public key; mode 0644, safe to copy anywhere.
//   PREFIX.key_secret  the Z85 secret key; mode 0600, never leaves the host it is for.
// Each file holds exactly one key line of 40 Z85 characters. Blank lines and lines whose
// first character is '#' are comments. This cannot swallow a key: '#' is the largest Z85
// digit, and a 5-character group starting with it exceeds 2^32, so no valid key starts
// with '#'. Leading and trailing spaces, tabs and a CR on each line are ignored.
//
// Errors name the file, the line and what is wrong; they never quote a secret key (nor,
// to be safe, any text from a key line). Thread-safe: no shared state.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace reflex::curve {

// Both keys in Z85, 40 characters each.
struct Keypair {
  std::string public_key;
  std::string secret_key;
};

// A fresh random keypair. Fails only when libzmq was built without CURVE.
Result<Keypair> generate();
// The public key belonging to a Z85 secret key.
Result<std::string> public_from_secret(const std::string& secret_z85);
// Exactly 40 characters of the Z85 alphabet that decode to 32 bytes.
bool is_z85_key(std::string_view text);
// 32 raw key bytes as Z85 (e.g. the CURVE credential of a ZAP request); empty when `raw`
// is not 32 bytes.
std::string z85_from_raw(std::string_view raw);

// The two file names of a key file prefix ("/etc/reflex/web-01" -> ".../web-01.key").
std::string public_key_path(const std::string& prefix);
std::string secret_key_path(const std::string& prefix);

// Writes PREFIX.key (0644) and PREFIX.key_secret (0600). Without `force`, refuses when
// either file exists and leaves both untouched. Each file is written to a fresh temporary
// file and moved into place, so a crash never leaves a half-written key, and an existing
// secret is never reopened (its mode or a symlink cannot widen who reads the new one).
// `comment` (one line, may be empty) is written as a '#' line above each key.
Status write_keypair(const std::string& prefix, const Keypair& keys, const std::string& comment,
                     bool force);

// Reads a secret key file and derives its public key. Like ssh, refuses a file that
// group or others may access (mode & 077), naming the path and the mode.
Result<Keypair> load_keypair(const std::string& secret_path);
// Reads a public key file.
Result<std::string> load_public_key(const std::string& path);

// The one key of a key file's `text`; `file` only names it in errors. Used by the
// loaders above and by readers of key files that came from elsewhere (the hub allowlist).
Result<std::string> parse_key_file(std::string_view text, const std::string& file);

}  // namespace reflex::curve
