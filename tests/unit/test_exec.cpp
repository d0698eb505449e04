// The exec driver: its output parsers, and real commands run through the ABI.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "drivers/driver_instance.h"
#include "driver_harness.h"
#include "exec_output.h"
#include "temp_dir.h"

extern "C" const racktel_driver racktel_exec_driver;

using namespace racktel;
using racktel::testing::opened_driver;
namespace fs = std::filesystem;

TEST_CASE("JSON: the sensors list with units, kinds and locations") {
  auto r = exec::parse_json(R"({"sensors": [
      {"id": "cdu1.supply_temp", "value": 31.5, "unit": "Cel", "kind": "temperature", "location": "cdu=1", "resolution": 0.1},
      {"id": "cdu1.pump", "value": null},
      {"id": "cdu1.leak", "value": false, "kind": "state"},
      {"id": "cdu1.flow", "value": 95, "status": "error"}]})");
  REQUIRE_MESSAGE(r.error.empty(), r.error);
  REQUIRE(r.sensors.size() == 4);
  CHECK(r.sensors[0].value == 31.5);
  CHECK(r.sensors[0].unit == "Cel");
  CHECK(exec::sensor_kind_from_name(r.sensors[0].kind) == RACKTEL_KIND_TEMPERATURE);
  CHECK(r.sensors[0].resolution == 0.1);
  CHECK_FALSE(r.sensors[1].value);
  CHECK(r.sensors[2].value == 0.0);
  CHECK_FALSE(r.sensors[3].value);  // reported as an error by the command
}

TEST_CASE("JSON: a flat object of id to value") {
  auto r = exec::parse_json(R"({"psu1.power": 512.25, "psu1.fan": 9000})");
  REQUIRE(r.error.empty());
  REQUIRE(r.sensors.size() == 2);
  CHECK(r.sensors[0].id == "psu1.power");
  CHECK(r.sensors[1].value == 9000.0);
}

TEST_CASE("JSON: malformed output says where and what") {
  CHECK(exec::parse_json("{\"a\": 1,\n \"b\": }").error.find("line 2, column") != std::string::npos);
  CHECK(exec::parse_json("[1, 2]").error.find("expected a JSON object") == 0);
  CHECK(exec::parse_json(R"({"sensors": [{"id": "bad id!", "value": 1}]})").error.find("sensors[0]") == 0);
  CHECK(exec::parse_json(R"({"x": "warm"})").error.find("must be a number") != std::string::npos);
  CHECK(exec::parse_json("").error.find("not valid JSON") != std::string::npos);
}

TEST_CASE("InfluxDB line protocol: tags become the location, one sensor per numeric field") {
  auto r = exec::parse_influx(
      "# comment\n"
      "pdu,rack=r01,outlet=3 power=812.5,current=3.52,state=\"on\" 1700000000000000000\n"
      "cdu,unit=1 flow=95i,leak=f\n");
  REQUIRE_MESSAGE(r.error.empty(), r.error);
  REQUIRE(r.sensors.size() == 4);
  CHECK(r.sensors[0].id == "pdu.r01.3.power");
  CHECK(r.sensors[0].location == "rack=r01,outlet=3");
  CHECK(r.sensors[0].value == 812.5);
  CHECK(r.sensors[2].id == "cdu.1.flow");
  CHECK(r.sensors[2].value == 95.0);
  CHECK(r.sensors[3].value == 0.0);
  CHECK(exec::parse_influx("pdu power\n").error == "line 1: field \"power\" is not name=value");
  CHECK(exec::parse_influx("pdu\n").error == "line 1: expected \"measurement[,tag=value] field=value [timestamp]\"");
  CHECK(exec::parse_influx("pdu power=abc\n").error.find("no numeric value") != std::string::npos);
}

namespace {

struct script_dir {
  racktel::testing::temp_dir tmp{"racktel-exec"};
  fs::path path = tmp.path;
  std::string script(const std::string& name, const std::string& body) {
    const fs::path p = path / name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
  }
};

// Whether this system lets a process adopt orphans (real kernels do; qemu-user does not).
bool subreaper_supported() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

opened_driver exec_instance(const std::string& toml_text) {
  return opened_driver(racktel_exec_driver, "exec", toml_text);
}

}  // namespace

TEST_CASE("exec: a command's JSON becomes the catalog and the readings") {
  script_dir d;
  const std::string cmd = d.script("cdu", R"(echo '{"sensors":[{"id":"cdu.supply","value":31.5,"unit":"Cel","kind":"temperature"},{"id":"cdu.dp","value":152.25,"unit":"kPa"}]}')");
  auto e = exec_instance("command = [\"" + cmd + "\"]\n");
  REQUIRE(e.instance);
  CHECK(e.catalog->sensors.empty());  // learnt at the first run, on the lane
  auto r = e.read();
  REQUIRE(e.catalog->sensors.size() == 2);
  CHECK(e.catalog->sensors[0].unit == "Cel");
  CHECK(e.catalog->sensors[0].kind == RACKTEL_KIND_TEMPERATURE);
  CHECK(r["cdu.supply"] == std::pair<std::uint32_t, double>{RACKTEL_READING_OK, 31.5});
  CHECK(r["cdu.dp"].second == 152.25);
}

TEST_CASE("exec: garbage, a failing command and a missing program give error readings") {
  script_dir d;
  const std::string path = (d.path / "out").string();
  std::ofstream(path) << R"({"a.b": 1})";
  const std::string cmd = d.script("flaky", "cat " + path);
  auto e = exec_instance("command = [\"" + cmd + "\"]\n");
  REQUIRE(e.instance);
  CHECK(e.read()["a.b"].first == RACKTEL_READING_OK);
  std::ofstream(path) << "<html>not json</html>";
  CHECK(e.read()["a.b"].first == RACKTEL_READING_ERROR);
  auto failing = exec_instance("shell = \"echo '{\\\"x\\\": 1}'; exit 3\"\n");
  REQUIRE(failing.instance);
  CHECK(failing.read().empty());  // nothing learnt from a failed run
  CHECK(failing.last_failed);     // and the read itself failed: the host counts it
  auto missing = exec_instance("command = [\"/nonexistent/tool\"]\n");
  REQUIRE(missing.instance);
  CHECK(missing.read().empty());
}

TEST_CASE("exec: a hung command and everything it started are killed at the deadline") {
  script_dir d;
  // A copy of sleep under a name of our own, so its processes can be counted.
  const std::string marker = "racktel-exec-sleeper-" + std::to_string(::getpid());
  fs::copy_file("/bin/sleep", d.path / marker);
  const std::string sleeper = (d.path / marker).string();
  // Leaves sleepers behind, then hangs: a fork bomb in miniature.
  const std::string cmd = d.script("hang", "for i in 1 2 3 4 5; do " + sleeper + " 300 & done\nexec " + sleeper + " 300");
  auto e = exec_instance("command = [\"" + cmd + "\"]\n");
  REQUIRE(e.instance);
  const auto t0 = std::chrono::steady_clock::now();
  e.read(nullptr, 300);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  ::usleep(200'000);
  // "[r]" keeps the pattern from matching the shell that runs pgrep.
  const int leftovers = std::system(("pgrep -f '[r]" + marker.substr(1) + "' >/dev/null").c_str());
  CHECK(leftovers != 0);  // pgrep found nothing
}

TEST_CASE("exec: output beyond the limit is refused") {
  script_dir d;
  const std::string cmd = d.script("flood", "head -c 5000000 /dev/zero | tr '\\0' 'x'");
  auto e = exec_instance("command = [\"" + cmd + "\"]\nmax_output_bytes = 65536\n");
  REQUIRE(e.instance);
  CHECK(e.read().empty());
}

TEST_CASE("exec: InfluxDB line protocol through a shell") {
  auto e = exec_instance("shell = \"printf 'pdu,outlet=1 power=120.5\\\\npdu,outlet=2 power=99\\\\n'\"\nformat = \"influx\"\n");
  REQUIRE(e.instance);
  auto r = e.read();
  CHECK(r["pdu.1.power"].second == 120.5);
  CHECK(r["pdu.2.power"].second == 99.0);
  REQUIRE(e.catalog->sensors.size() == 2);
  CHECK(e.catalog->sensors[0].location == std::vector<std::pair<std::string, std::string>>{{"outlet", "1"}});
}

TEST_CASE("exec: config errors") {
  auto both = exec_instance("command = [\"a\"]\nshell = \"b\"\n");
  CHECK_FALSE(both.instance);
  REQUIRE(both.errors.size() == 1);
  CHECK(both.errors[0].message.find("exactly one of \"command\"") != std::string::npos);
  auto fmt = exec_instance("command = [\"a\"]\nformat = \"xml\"\n");
  REQUIRE(fmt.errors.size() == 1);
  CHECK(fmt.errors[0].message.find("expected \"json\" or \"influx\"") != std::string::npos);
}

TEST_CASE("exec: the command gets only its three standard descriptors") {
  // A descriptor the agent holds without close-on-exec (a library's socket, say).
  const int leaked = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaked > 2);
  auto e = exec_instance("shell = \"echo fds count=$(ls /proc/self/fd | wc -l)\"\nformat = \"influx\"\n");
  REQUIRE(e.instance);
  auto r = e.read();
  ::close(leaked);
  // 0, 1, 2 and the directory ls itself reads, nothing more.
  CHECK(r["fds.count"] == std::pair<std::uint32_t, double>{RACKTEL_READING_OK, 4.0});
}

TEST_CASE("exec: a command that daemonizes is read to its exit and leaves nothing behind") {
  script_dir d;
  const std::string marker = "racktel-exec-daemon-" + std::to_string(::getpid());
  fs::copy_file("/bin/sleep", d.path / marker);
  const std::string sleeper = (d.path / marker).string();
  // setsid leaves the process group and the double fork leaves the parent;
  // the daemon keeps stdout open, so EOF never comes while it lives.
  const std::string cmd = d.script("daemonize", "setsid sh -c '" + sleeper + " 300 & ' \necho '{\"x\": 1}'");
  auto e = exec_instance("command = [\"" + cmd + "\"]\n");
  REQUIRE(e.instance);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = e.read(nullptr, 10'000);
  CHECK(r["x"] == std::pair<std::uint32_t, double>{RACKTEL_READING_OK, 1.0});  // not "killed at the deadline"
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  const int leftovers = std::system(("pgrep -f '[r]" + marker.substr(1) + "' >/dev/null").c_str());
  if (subreaper_supported()) {
    CHECK(leftovers != 0);
  } else {
    // qemu-user (the cross-build tests) does not emulate PR_SET_CHILD_SUBREAPER.
    MESSAGE("PR_SET_CHILD_SUBREAPER is not available here; the daemon's clean-up is not checked");
    std::system(("pkill -f '[r]" + marker.substr(1) + "'").c_str());
  }
}

TEST_CASE("exec: the environment is minimal plus what the table asks for") {
  ::setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
  ::setenv("RACKTEL_TEST_PASSED", "7", 1);
  auto e = exec_instance(
      "shell = \"echo env notify=${#NOTIFY_SOCKET}i,passed=${RACKTEL_TEST_PASSED:-0},set=$SITE_NO,count=$(env | wc -l)\"\n"
      "format = \"influx\"\n"
      "environment = [\"SITE_NO=42\"]\n"
      "pass_environment = [\"RACKTEL_TEST_PASSED\", \"RACKTEL_TEST_UNSET\"]\n");
  ::unsetenv("NOTIFY_SOCKET");
  REQUIRE(e.instance);
  auto r = e.read();
  CHECK(r["env.notify"].second == 0.0);
  CHECK(r["env.passed"].second == 7.0);
  CHECK(r["env.set"].second == 42.0);
  // PATH, LC_ALL, SITE_NO, RACKTEL_TEST_PASSED, and what sh itself adds (PWD, SHLVL, _).
  CHECK(r["env.count"].second <= 7.0);
  auto bad = exec_instance("command = [\"a\"]\nenvironment = [\"NO_EQUALS\"]\npass_environment = [\"BAD NAME\"]\n");
  CHECK_FALSE(bad.instance);
  REQUIRE(bad.errors.size() == 2);
  CHECK(bad.errors[0].message.find("expected \"NAME=value\"") != std::string::npos);
}

TEST_CASE("exec: stderr is escaped, cut and rate-limited") {
  CHECK(exec::escape_for_log("ok \x1b[31mred\x1b[0m\tnew\\", 100) == "ok \\x1b[31mred\\x1b[0m\\x09new\\\\");
  CHECK(exec::escape_for_log("25 \xc2\xb0" "C", 100) == "25 \xc2\xb0" "C");           // valid UTF-8 kept
  CHECK(exec::escape_for_log("bad \xc0\xaf \xed\xa0\x80", 100) == "bad \\xc0\\xaf \\xed\\xa0\\x80");
  CHECK(exec::escape_for_log("abcdef", 3) == "abc...");
  auto lines = exec::stderr_for_log("one\r\n\ntwo\nthree\nfour", 2, 100);
  CHECK(lines.lines == std::vector<std::string>{"one", "two"});
  CHECK(lines.more == 2);

  exec::log_budget budget(10, 20);  // 10 at once, 20 a minute
  CHECK(budget.take(8, 0) == 8);
  CHECK(budget.take(8, 0) == 2);
  CHECK(budget.take_suppressed() == 6);
  CHECK(budget.take(5, 3'000) == 1);   // 3 s refill one line
  CHECK(budget.take(5, 63'000) == 5);  // a minute later, up to the burst again
  CHECK(budget.take(100, 63'000) == 5);
}
