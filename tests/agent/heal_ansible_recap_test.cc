#include "agent/heal/ansible_recap.h"

#include <catch2/catch.hpp>
#include <string>

using namespace reflex::agent::heal;

namespace {

// The captures below mark ESC as "\e"; this puts the real byte back.
std::string ansi(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "\\e") == 0) {
      out += '\x1b';
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Real output of ansible-playbook 2.14.18 (Debian 12), run as
// `ansible-playbook -i localhost, -c local <playbook>` unless said otherwise.

// Two tasks, one changed (stdout).
const std::string kSucceeded = ansi(R"ansible(
PLAY [all] *********************************************************************

TASK [write the service name] **************************************************
changed: [localhost]

TASK [say done] ****************************************************************
ok: [localhost] => {
    "msg": "done"
}

PLAY RECAP *********************************************************************
localhost                  : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   

)ansible");

// The second task fails (stdout).
const std::string kTaskFailed = ansi(R"ansible(
PLAY [all] *********************************************************************

TASK [first step] **************************************************************
ok: [localhost] => {
    "msg": "starting"
}

TASK [restart the broken service] **********************************************
fatal: [localhost]: FAILED! => {"ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}, "changed": true, "cmd": ["/bin/false"], "delta": "0:00:00.009428", "end": "2026-11-26 01:32:38.868583", "msg": "non-zero return code", "rc": 1, "start": "2026-11-26 01:32:38.859155", "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}

PLAY RECAP *********************************************************************
localhost                  : ok=1    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0   

)ansible");

// The same with ANSIBLE_FORCE_COLOR=1 (stdout).
const std::string kTaskFailedInColour = ansi(R"ansible(
PLAY [all] *********************************************************************

TASK [first step] **************************************************************
\e[0;32mok: [localhost] => {\e[0m
\e[0;32m    "msg": "starting"\e[0m
\e[0;32m}\e[0m

TASK [restart the broken service] **********************************************
\e[0;31mfatal: [localhost]: FAILED! => {"ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}, "changed": true, "cmd": ["/bin/false"], "delta": "0:00:00.006051", "end": "2026-11-26 01:32:40.911344", "msg": "non-zero return code", "rc": 1, "start": "2026-11-26 01:32:40.905293", "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}\e[0m

PLAY RECAP *********************************************************************
\e[0;31mlocalhost\e[0m                  : \e[0;32mok=1   \e[0m changed=0    unreachable=0    \e[0;31mfailed=1   \e[0m skipped=0    rescued=0    ignored=0   

)ansible");

// An ignore_errors failure, a rescued failure, then a loop with a failing item (stdout).
const std::string kIgnoredRescuedAndLoopFailures = ansi(R"ansible(
PLAY [all] *********************************************************************

TASK [tolerated failure] *******************************************************
fatal: [localhost]: FAILED! => {"ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}, "changed": true, "cmd": ["/bin/false"], "delta": "0:00:00.005142", "end": "2026-11-26 01:32:50.654099", "msg": "non-zero return code", "rc": 1, "start": "2026-11-26 01:32:50.648957", "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}
...ignoring

TASK [failure that is rescued] *************************************************
fatal: [localhost]: FAILED! => {"ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}, "changed": true, "cmd": ["/bin/false"], "delta": "0:00:00.005252", "end": "2026-11-26 01:32:51.156977", "msg": "non-zero return code", "rc": 1, "start": "2026-11-26 01:32:51.151725", "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}

TASK [the rescue] **************************************************************
ok: [localhost] => {
    "msg": "rescued"
}

TASK [loop with a failing item] ************************************************
changed: [localhost] => (item=/bin/true)
failed: [localhost] (item=/bin/false) => {"ansible_loop_var": "item", "changed": true, "cmd": ["/bin/false"], "delta": "0:00:00.005480", "end": "2026-11-26 01:32:51.870454", "item": "/bin/false", "msg": "non-zero return code", "rc": 1, "start": "2026-11-26 01:32:51.864974", "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}

PLAY RECAP *********************************************************************
localhost                  : ok=2    changed=1    unreachable=0    failed=1    skipped=0    rescued=1    ignored=1   

)ansible");

// Two hosts, one fails, with ANSIBLE_FORCE_COLOR=1 (stdout).
const std::string kTwoHostsInColour = ansi(R"ansible(
PLAY [all] *********************************************************************

TASK [fail on one host only] ***************************************************
\e[0;36mskipping: [localhost]\e[0m
\e[0;31mfatal: [127.0.0.1]: FAILED! => {"ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}, "changed": true, "cmd": ["/bin/false"], "delta": "0:00:00.006168", "end": "2026-11-26 01:33:07.826721", "msg": "non-zero return code", "rc": 1, "start": "2026-11-26 01:33:07.820553", "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}\e[0m

PLAY RECAP *********************************************************************
\e[0;31m127.0.0.1\e[0m                  : ok=0    changed=0    unreachable=0    \e[0;31mfailed=1   \e[0m skipped=0    rescued=0    ignored=0   
\e[0;32mlocalhost\e[0m                  : ok=0    changed=0    unreachable=0    failed=0    \e[0;36mskipped=1   \e[0m rescued=0    ignored=0   

)ansible");

// An ssh connection refused (stdout).
const std::string kUnreachable = ansi(R"ansible(
PLAY [all] *********************************************************************

TASK [write the service name] **************************************************
fatal: [127.0.0.1]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused", "unreachable": true}

PLAY RECAP *********************************************************************
127.0.0.1                  : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0   

)ansible");

// `hosts: webservers` with only localhost in the inventory; exit code 0 (stdout).
const std::string kNoHostsMatched = ansi(R"ansible(
PLAY [webservers] **************************************************************
skipping: no hosts matched

PLAY RECAP *********************************************************************

)ansible");

// A playbook that is not valid YAML: ansible prints only to stderr; stdout is empty.
const std::string kSyntaxErrorStderr = ansi(
    R"ansible(ERROR! We were unable to read either as JSON nor YAML, these are the errors we got from each:
JSON: Expecting value: line 1 column 1 (char 0)

Syntax Error while loading YAML.
  could not find expected ':'

The error appears to be in '/tmp/h1cap/syntax.yml': line 5, column 13, but may
be elsewhere in the file depending on the exact syntax problem.

The offending line appears to be:

      ansible.builtin.copy
        dest: x
            ^ here
)ansible");

}  // namespace

TEST_CASE("the recap of a successful run gives each host's counts", "[agent][heal][ansible]") {
  auto recap = parse_ansible_recap(kSucceeded);
  REQUIRE(recap);
  REQUIRE(recap->hosts.size() == 1);
  const auto& h = recap->hosts[0];
  CHECK(h.host == "localhost");
  CHECK(h.ok == 2);
  CHECK(h.changed == 1);
  CHECK(h.unreachable == 0);
  CHECK(h.failed == 0);
  CHECK(h.skipped == 0);
  CHECK(recap->ok());
  CHECK(summarize(*recap) == "localhost: ok=2 changed=1 failed=0 unreachable=0");
  CHECK_FALSE(failed_task(kSucceeded));
}

TEST_CASE("a failed task makes the recap not ok and is named", "[agent][heal][ansible]") {
  auto recap = parse_ansible_recap(kTaskFailed);
  REQUIRE(recap);
  CHECK_FALSE(recap->ok());
  CHECK(summarize(*recap) == "localhost: ok=1 changed=0 failed=1 unreachable=0");
  CHECK(failed_task(kTaskFailed) == "restart the broken service");
}

TEST_CASE("colour codes around counts, hosts and failures are ignored", "[agent][heal][ansible]") {
  REQUIRE(kTaskFailedInColour.find('\x1b') != std::string::npos);
  auto recap = parse_ansible_recap(kTaskFailedInColour);
  REQUIRE(recap);
  CHECK(summarize(*recap) == "localhost: ok=1 changed=0 failed=1 unreachable=0");
  CHECK(failed_task(kTaskFailedInColour) == "restart the broken service");

  recap = parse_ansible_recap(kTwoHostsInColour);
  REQUIRE(recap);
  REQUIRE(recap->hosts.size() == 2);
  CHECK(recap->hosts[1].skipped == 1);
  CHECK_FALSE(recap->ok());
  CHECK(summarize(*recap) ==
        "127.0.0.1: ok=0 changed=0 failed=1 unreachable=0; "
        "localhost: ok=0 changed=0 failed=0 unreachable=0");
  CHECK(failed_task(kTwoHostsInColour) == "fail on one host only");
}

TEST_CASE("an ignored failure is not the failed task, a failed loop item is",
          "[agent][heal][ansible]") {
  auto recap = parse_ansible_recap(kIgnoredRescuedAndLoopFailures);
  REQUIRE(recap);
  CHECK(recap->hosts[0].rescued == 1);
  CHECK(recap->hosts[0].ignored == 1);
  CHECK(failed_task(kIgnoredRescuedAndLoopFailures) == "loop with a failing item");
  // Without the loop task, the last failure left is the rescued one (see the header).
  const std::string before_loop =
      kIgnoredRescuedAndLoopFailures.substr(0, kIgnoredRescuedAndLoopFailures.find("TASK [loop"));
  CHECK(failed_task(before_loop) == "failure that is rescued");
  const std::string ignored_only = before_loop.substr(0, before_loop.find("TASK [failure"));
  CHECK_FALSE(failed_task(ignored_only));
}

TEST_CASE("an unreachable host makes the recap not ok and names its task",
          "[agent][heal][ansible]") {
  auto recap = parse_ansible_recap(kUnreachable);
  REQUIRE(recap);
  CHECK_FALSE(recap->ok());
  CHECK(summarize(*recap) == "127.0.0.1: ok=0 changed=0 failed=0 unreachable=1");
  CHECK(failed_task(kUnreachable) == "write the service name");
}

TEST_CASE("a play that matched no host gives an empty recap that is not ok",
          "[agent][heal][ansible]") {
  auto recap = parse_ansible_recap(kNoHostsMatched);
  REQUIRE(recap);
  CHECK(recap->hosts.empty());
  CHECK_FALSE(recap->ok());
  CHECK(summarize(*recap) == "no hosts");
}

TEST_CASE("output without a recap, as after a syntax error, gives none", "[agent][heal][ansible]") {
  CHECK_FALSE(parse_ansible_recap(kSyntaxErrorStderr));
  CHECK_FALSE(failed_task(kSyntaxErrorStderr));
  CHECK_FALSE(parse_ansible_recap(""));
  // A run cut short (killed on timeout) before its recap.
  const std::string cut = kTaskFailed.substr(0, kTaskFailed.find("PLAY RECAP"));
  CHECK_FALSE(parse_ansible_recap(cut));
  CHECK(failed_task(cut) == "restart the broken service");
}

TEST_CASE("a recap as older versions print it, with odd spacing and CRLF, is read",
          "[agent][heal][ansible]") {
  // Hand-written: ansible before 2.8 printed four counts; a handler may fail; only the
  // last recap counts; a line without the four required counts is not a host line.
  const std::string out =
      "PLAY RECAP ****\r\n"
      "stale : ok=1 changed=0 unreachable=0 failed=0\r\n"
      "RUNNING HANDLER [restart [nginx]] *****\r\n"
      "fatal: [web-1.example]: FAILED! => {\"msg\": \"x\"}\r\n"
      "PLAY RECAP *********\r\n"
      "  web-1.example:  ok=3   changed=2 unreachable=0\tfailed=1  future=7 \r\n"
      "db : ok=1 changed=0 failed=0\r\n"
      "::1 : ok=1 changed=0 unreachable=0 failed=0\r\n"
      "[WARNING]: not a host line: ok=1\r\n";
  auto recap = parse_ansible_recap(out);
  REQUIRE(recap);
  CHECK(summarize(*recap) ==
        "web-1.example: ok=3 changed=2 failed=1 unreachable=0; ::1: ok=1 changed=0 failed=0 "
        "unreachable=0");
  CHECK(recap->hosts[0].rescued == 0);
  CHECK(failed_task(out) == "restart [nginx]");
}
