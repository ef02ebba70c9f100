// Where a benchmark finds the programs it runs and where it puts its scratch directories.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace reflex::bench {

// `name` in the build tree's directory `dir` ("hub", "reflex-hub"), found from this
// benchmark's own path (build/bench/<benchmark>); `name` alone when that is unknown.
inline std::string sibling_binary(const std::string& dir, const std::string& name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return name;
  return (self.parent_path().parent_path() / dir / name).string();
}

// $TMPDIR, or /tmp.
inline std::string default_work_dir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

}  // namespace reflex::bench
