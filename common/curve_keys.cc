#include "common/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace reflex::curve {
namespace {

constexpr size_t kZ85KeyChars = 40;
constexpr size_t kRawKeyBytes = 32;
// Key files are a few short lines; anything larger is not a key file.
constexpr size_t kMaxKeyFileBytes = 4096;
constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

Status io_error(const std::string& what, const std::string& path, int err) {
  return Status::error("io", what + " " + path + ": " + std::strerror(err));
}

std::string mode_string(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// Why `text` is not a Z85 key, or empty when it is one. Never quotes `text`: it may be a
// secret.
std::string z85_problem(std::string_view text) {
  if (text.size() != kZ85KeyChars) {
    return "not a Z85 key: " + std::to_string(text.size()) + " characters, expected 40";
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (kZ85Alphabet.find(text[i]) == std::string_view::npos) {
      return "not a Z85 key: character " + std::to_string(i + 1) + " is outside the Z85 alphabet";
    }
  }
  uint8_t raw[kRawKeyBytes];
  const std::string terminated(text);
  if (zmq_z85_decode(raw, terminated.c_str()) == nullptr) {
    return "not a Z85 key: it does not decode to 32 bytes";
  }
  return "";
}

Status curve_available() {
  if (zmq_has("curve")) return Status::ok();
  return Status::error("unsupported", "this libzmq was built without CURVE (libsodium) support");
}

// Reads a whole small file from an open descriptor.
Result<std::string> read_fd(int fd, const std::string& path) {
  std::string out;
  char buf[1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxKeyFileBytes) {
      return Status::error("invalid_key", path + ": larger than " +
                                              std::to_string(kMaxKeyFileBytes) +
                                              " bytes; a key file holds one short key line");
    }
  }
  return out;
}

Status write_all(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

// Writes `text` to a new temporary file beside `final_path` with `mode`; returns its path.
Result<std::string> write_temp(const std::string& final_path, const std::string& text,
                               mode_t mode) {
  std::string tmp = final_path + ".tmp-XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  // mkstemp creates the file 0600 with O_EXCL: nobody else can open it before fchmod.
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return io_error("cannot create a temporary file for", final_path, errno);
  tmp = name.data();
  Status st = Status::ok();
  if (::fchmod(fd, mode) != 0) {
    st = io_error("cannot set the mode of", tmp, errno);
  } else {
    st = write_all(fd, text, tmp);
    if (st && ::fsync(fd) != 0) st = io_error("cannot sync", tmp, errno);
  }
  if (::close(fd) != 0 && st) st = io_error("cannot close", tmp, errno);
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  return tmp;
}

// Moves `tmp` to `final_path`; without `replace`, fails if `final_path` exists (link()
// refuses atomically, so a file created meanwhile is never clobbered).
Status commit(const std::string& tmp, const std::string& final_path, bool replace) {
  if (replace) {
    if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
      return io_error("cannot replace", final_path, errno);
    }
    return Status::ok();
  }
  if (::link(tmp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    if (err == EEXIST) {
      return Status::error("exists", "refusing to overwrite " + final_path + ": it already exists");
    }
    return io_error("cannot create", final_path, err);
  }
  ::unlink(tmp.c_str());
  return Status::ok();
}

void sync_parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the files themselves are synced
  (void)::fsync(fd);
  ::close(fd);
}

std::string comment_lines(const std::string& comment) {
  if (comment.empty()) return "";
  std::string out = "# ";
  for (char c : comment) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out + "\n";
}

}  // namespace

Result<Keypair> generate() {
  REFLEX_RETURN_IF_ERROR(curve_available());
  char pub[kZ85KeyChars + 1];
  char sec[kZ85KeyChars + 1];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status::error("unsupported", std::string("cannot generate a CURVE keypair: ") +
                                            zmq_strerror(zmq_errno()));
  }
  return Keypair{pub, sec};
}

Result<std::string> public_from_secret(const std::string& secret_z85) {
  REFLEX_RETURN_IF_ERROR(curve_available());
  if (auto problem = z85_problem(secret_z85); !problem.empty()) {
    return Status::error("invalid_key", "secret key is " + problem);
  }
  char pub[kZ85KeyChars + 1];
  if (zmq_curve_public(pub, secret_z85.c_str()) != 0) {
    return Status::error("invalid_key",
                         std::string("cannot derive the public key: ") + zmq_strerror(zmq_errno()));
  }
  return std::string(pub);
}

bool is_z85_key(std::string_view text) {
  return z85_problem(text).empty();
}

std::string z85_from_raw(std::string_view raw) {
  if (raw.size() != kRawKeyBytes) return "";
  char out[kZ85KeyChars + 1];
  if (zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(raw.data()), raw.size()) == nullptr) {
    return "";
  }
  return out;
}

std::string public_key_path(const std::string& prefix) {
  return prefix + ".key";
}

std::string secret_key_path(const std::string& prefix) {
  return prefix + ".key_secret";
}

Result<std::string> parse_key_file(std::string_view text, const std::string& file) {
  std::string key;
  int key_line = 0;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    const auto nl = text.find('\n', pos);
    const auto end = nl == std::string_view::npos ? text.size() : nl;
    const std::string_view line = trim(text.substr(pos, end - pos));
    ++line_no;
    pos = end + 1;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = file + ":" + std::to_string(line_no) + ": ";
    if (key_line != 0) {
      return Status::error("invalid_key", where + "a second key (the first is on line " +
                                              std::to_string(key_line) +
                                              "); a key file holds exactly one key");
    }
    if (auto problem = z85_problem(line); !problem.empty()) {
      return Status::error("invalid_key", where + problem);
    }
    key = std::string(line);
    key_line = line_no;
  }
  if (key_line == 0) {
    return Status::error("invalid_key",
                         file + ": no key found (expected one line of 40 Z85 characters)");
  }
  return key;
}

Status write_keypair(const std::string& prefix, const Keypair& keys, const std::string& comment,
                     bool force) {
  auto derived = public_from_secret(keys.secret_key);
  if (!derived) return derived.status();
  if (*derived != keys.public_key) {
    return Status::error("invalid_key", "the public key does not belong to the secret key");
  }
  const std::string pub_path = public_key_path(prefix);
  const std::string sec_path = secret_key_path(prefix);
  if (!force) {
    // Checked up front so an existing pair is reported before anything is written; the
    // link() in commit() still guards against a file appearing meanwhile.
    struct stat st;
    for (const auto* path : {&pub_path, &sec_path}) {
      if (::lstat(path->c_str(), &st) == 0) {
        return Status::error("exists", "refusing to overwrite " + *path + ": it already exists");
      }
    }
  }

  const std::string header = comment_lines(comment);
  auto sec_tmp = write_temp(
      sec_path,
      header + "# CURVE secret key: keep it private (mode 0600)\n" + keys.secret_key + "\n", 0600);
  if (!sec_tmp) return sec_tmp.status();
  auto pub_tmp = write_temp(pub_path, header + keys.public_key + "\n", 0644);
  if (!pub_tmp) {
    ::unlink(sec_tmp->c_str());
    return pub_tmp.status();
  }

  if (Status st = commit(*sec_tmp, sec_path, force); !st) {
    ::unlink(sec_tmp->c_str());
    ::unlink(pub_tmp->c_str());
    return st;
  }
  if (Status st = commit(*pub_tmp, pub_path, force); !st) {
    ::unlink(pub_tmp->c_str());
    // Without `force` the secret was created just now: take it back so no half pair stays.
    if (!force) ::unlink(sec_path.c_str());
    return st;
  }
  sync_parent_dir(sec_path);
  return Status::ok();
}

Result<Keypair> load_keypair(const std::string& secret_path) {
  const int fd = ::open(secret_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open secret key file", secret_path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return io_error("cannot stat secret key file", secret_path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error("invalid_key", secret_path + ": not a regular file");
  }
  // Checked on the open descriptor, so the file read is the file checked.
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::error("permissions",
                         "secret key file " + secret_path + " has mode " + mode_string(st.st_mode) +
                             ", which lets group or others read it; run: chmod 600 " + secret_path);
  }
  auto text = read_fd(fd, secret_path);
  ::close(fd);
  if (!text) return text.status();
  auto secret = parse_key_file(*text, secret_path);
  if (!secret) return secret.status();
  auto pub = public_from_secret(*secret);
  if (!pub) return pub.status().with_context(secret_path);
  return Keypair{std::move(*pub), std::move(*secret)};
}

Result<std::string> load_public_key(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open public key file", path, errno);
  auto text = read_fd(fd, path);
  ::close(fd);
  if (!text) return text.status();
  return parse_key_file(*text, path);
}

}  // namespace reflex::curve
