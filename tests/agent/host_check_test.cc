#include "agent/checks/host_check.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::agent;

namespace {

constexpr const char* kStat1 =
    "cpu  100 0 50 800 50 0 0 0 0 0\n"
    "cpu0 100 0 50 800 50 0 0 0 0 0\n"
    "intr 12345\n";
constexpr const char* kStat2 =
    "cpu  160 10 80 880 60 5 5 0 0 0\n"
    "cpu0 160 10 80 880 60 5 5 0 0 0\n";

constexpr const char* kMeminfo =
    "MemTotal:       16000000 kB\n"
    "MemFree:         1000000 kB\n"
    "MemAvailable:    4000000 kB\n"
    "Buffers:          200000 kB\n";

constexpr const char* kMounts =
    "proc /proc proc rw,relatime 0 0\n"
    "sysfs /sys sysfs rw 0 0\n"
    "/dev/vda1 / ext4 rw,relatime 0 0\n"
    "tmpfs /run tmpfs rw 0 0\n"
    "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
    "overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n"
    "/dev/vdb1 /srv/my\\040data xfs rw 0 0\n"
    "/dev/vda1 / ext4 rw,relatime 0 0\n";

const PerfValue* find(const CheckResult& r, const std::string& name, const Labels& labels = {}) {
  for (const auto& p : r.perf) {
    if (p.name == name && p.labels == labels) return &p;
  }
  return nullptr;
}

CheckSpec host_spec() {
  CheckSpec spec;
  spec.name = "host";
  spec.type = "host";
  return spec;
}

CheckResult run_once(PeriodicCheck& check) {
  std::optional<CheckResult> got;
  check.run([&](CheckResult r) { got = std::move(r); });
  REQUIRE(got);
  return *got;
}

}  // namespace

TEST_CASE("cpu use is the busy share of the jiffies between two /proc/stat samples",
          "[agent][host]") {
  auto a = parse_proc_stat(kStat1);
  auto b = parse_proc_stat(kStat2);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->busy == 150);
  CHECK(a->total == 1000);
  // busy +110 (user 60, nice 10, system 30, irq 5, softirq 5) of total +200.
  CHECK(cpu_busy_pct(*a, *b) == Approx(55));
  CHECK_FALSE(cpu_busy_pct(*a, *a));
  CHECK_FALSE(parse_proc_stat("intr 1 2 3\n"));
  CHECK_FALSE(parse_proc_stat("cpu  1 x 3 4\n"));
}

TEST_CASE("memory use comes from MemTotal and MemAvailable", "[agent][host]") {
  auto m = parse_meminfo(kMeminfo);
  REQUIRE(m);
  CHECK(m->total_bytes == 16000000ull * 1024);
  CHECK(m->available_bytes == 4000000ull * 1024);
  CHECK(m->used_pct() == Approx(75));
  auto missing = parse_meminfo("MemTotal: 100 kB\nMemFree: 50 kB\n");
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.status().message(), Catch::Contains("MemAvailable"));
}

TEST_CASE("load averages are the first three fields of /proc/loadavg", "[agent][host]") {
  auto l = parse_loadavg("0.52 0.58 0.59 2/1234 56789\n");
  REQUIRE(l);
  CHECK(l->load1 == 0.52);
  CHECK(l->load5 == 0.58);
  CHECK(l->load15 == 0.59);
  CHECK_FALSE(parse_loadavg("0.52 0.58\n"));
  CHECK_FALSE(parse_loadavg("a b c\n"));
}

TEST_CASE("only real filesystems' mounts are watched, each once, with escapes decoded",
          "[agent][host]") {
  CHECK(parse_real_mounts(kMounts) ==
        std::vector<std::string>{"/", "/var/lib/docker/overlay2/x/merged", "/srv/my data"});
}

TEST_CASE("a host check over a fake /proc reports cpu from its second run, memory and load",
          "[agent][host]") {
  testing::TempDir dir;
  dir.write("stat", kStat1);
  dir.write("meminfo", kMeminfo);
  dir.write("loadavg", "1.50 1.00 0.50 1/100 42\n");
  std::filesystem::create_directories(dir.path() / "self");
  dir.write("self/mounts", "/dev/root / ext4 rw 0 0\nproc /proc proc rw 0 0\n");
  auto check = make_host_check(host_spec(), {.mounts = {}, .proc_root = dir.path().string()});

  auto first = run_once(*check);
  CHECK(first.state == CheckState::kOk);
  CHECK_FALSE(find(first, "cpu_used"));
  REQUIRE(find(first, "mem_used"));
  CHECK(find(first, "mem_used")->value == Approx(75));
  CHECK(find(first, "mem_used")->unit == "%");
  CHECK(find(first, "mem_available")->value == 4000000.0 * 1024);
  CHECK(find(first, "mem_available")->unit == "B");
  CHECK(find(first, "load1")->value == 1.5);
  CHECK(find(first, "load15")->value == 0.5);
  REQUIRE(find(first, "disk_used", {{"mount", "/"}}));
  CHECK(find(first, "disk_free", {{"mount", "/"}}));
  CHECK_FALSE(find(first, "disk_used", {{"mount", "/proc"}}));

  dir.write("stat", kStat2);
  auto second = run_once(*check);
  REQUIRE(find(second, "cpu_used"));
  CHECK(find(second, "cpu_used")->value == Approx(55));
}

TEST_CASE("a host check with an unreadable /proc reports UNKNOWN with the reason",
          "[agent][host]") {
  testing::TempDir dir;
  auto check = make_host_check(host_spec(), {.mounts = {}, .proc_root = dir.file("none")});
  auto r = run_once(*check);
  CHECK(r.state == CheckState::kUnknown);
  CHECK_THAT(r.message, Catch::Contains(dir.file("none") + "/stat"));
  CHECK(r.perf.empty());

  dir.write("stat", "garbage\n");
  auto garbled = make_host_check(host_spec(), {.mounts = {}, .proc_root = dir.path()});
  r = run_once(*garbled);
  CHECK(r.state == CheckState::kUnknown);
  CHECK_THAT(r.message, Catch::Contains("cpu"));
}

TEST_CASE("a host check on the real /proc reports sane values including the root mount",
          "[agent][host]") {
  auto check = make_host_check(host_spec(), {});
  auto first = run_once(*check);
  REQUIRE(first.state == CheckState::kOk);
  auto second = run_once(*check);
  REQUIRE(second.state == CheckState::kOk);
  for (const auto& p : second.perf) {
    INFO(p.name);
    if (p.unit == "%") {
      CHECK(p.value >= 0);
      CHECK(p.value <= 100);
    } else {
      CHECK(p.value >= 0);
    }
  }
  CHECK(find(second, "mem_available")->value > 0);
  CHECK(find(second, "load1"));
  REQUIRE(find(second, "disk_used", {{"mount", "/"}}));
  CHECK(find(second, "disk_free", {{"mount", "/"}})->value > 0);
}

TEST_CASE("configured mounts replace discovery and a bad one is named", "[agent][host]") {
  testing::TempDir dir;
  auto check = make_host_check(host_spec(), {.mounts = {"/", dir.file("gone")}});
  auto r = run_once(*check);
  CHECK(r.state == CheckState::kOk);
  CHECK(find(r, "disk_used", {{"mount", "/"}}));
  CHECK_FALSE(find(r, "disk_used", {{"mount", dir.file("gone")}}));
  CHECK_THAT(r.message, Catch::Contains(dir.file("gone")));
  size_t disks = 0;
  for (const auto& p : r.perf) disks += p.name == "disk_used" ? 1 : 0;
  CHECK(disks == 1);
}
