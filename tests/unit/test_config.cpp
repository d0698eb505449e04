#include <doctest/doctest.h>

#include <algorithm>

#include "config/config.h"
#include "drivers/driver_instance.h"
#include "drivers/validate.h"
#include "temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <tuple>

using namespace racktel;

namespace {

const char* const minimal = R"(
[agent]
site = "lab"
rack = "r01"
[mqtt]
brokers = ["tcp://127.0.0.1:1883"]
keepalive = "5s"
[[drivers]]
name = "rack"
type = "sim"
interval = "1s"
)";

// The single error of a config, as "line:column: message".
std::string only_error(const config_result& r) {
  REQUIRE_MESSAGE(r.errors.size() == 1, (r.errors.empty() ? "no error" : r.errors[0].to_string()));
  return std::to_string(r.errors[0].line) + ":" + std::to_string(r.errors[0].column) + ": " + r.errors[0].message;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<config_error> driver_errors(const std::string& text) {
  config_result r = parse_config(text, "t.toml");
  REQUIRE_MESSAGE(r.ok(), (r.errors.empty() ? "" : r.errors[0].to_string()));
  return validate_drivers(*r.config, driver_loader(builtin_drivers(), "/nonexistent"));
}

}  // namespace

TEST_CASE("the minimal config from the documentation loads with defaults") {
  config_result r = parse_config(minimal, "racktel.toml");
  REQUIRE(r.ok());
  const agent_config& c = *r.config;
  CHECK(c.site == "lab");
  CHECK(c.rack == "r01");
  CHECK(topic_root(c) == "racktel/v1/lab/r01");
  CHECK(c.mqtt.brokers == std::vector<std::string>{"tcp://127.0.0.1:1883"});
  CHECK(c.mqtt.keepalive == std::chrono::seconds(5));
  CHECK(c.mqtt.client_id == "racktel-lab-r01");
  CHECK(c.batch.interval == std::chrono::seconds(1));
  REQUIRE(c.drivers.size() == 1);
  CHECK(c.drivers[0].name == "rack");
  CHECK(c.drivers[0].interval == std::chrono::seconds(1));
  CHECK(validate_drivers(c, driver_loader(builtin_drivers(), "/nonexistent")).empty());
}

TEST_CASE("the demo config is valid") {
  config_result r = load_config_file(RACKTEL_SOURCE_DIR "/config/demo.toml");
  REQUIRE_MESSAGE(r.ok(), (r.errors.empty() ? "" : r.errors[0].to_string()));
  CHECK(validate_drivers(*r.config, driver_loader(builtin_drivers(), "/nonexistent")).empty());
}

TEST_CASE("the packaged config starts nothing until the rack is described, and then works") {
  std::ifstream in(RACKTEL_SOURCE_DIR "/config/racktel.toml");
  const std::string shipped((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  config_result r = parse_config(shipped, "racktel.toml");
  REQUIRE(r.errors.size() == 4);
  for (const char* what : {"\"site\" must be", "\"rack\" must be", "expected \"brokers\" to be a non-empty list",
                           "no [[drivers]] table: the agent would read nothing"}) {
    CHECK_MESSAGE(std::any_of(r.errors.begin(), r.errors.end(),
                              [&](const config_error& e) { return contains(e.message, what); }),
                  what);
  }

  // Filled in as its comments say, with the example drivers uncommented: valid.
  testing::temp_dir dir;
  const auto secret = dir.path / "bmc-password";
  std::ofstream(secret) << "s3cret\n";
  std::filesystem::permissions(secret, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string filled = shipped;
  auto set = [&](const std::string& from, const std::string& to) {
    const auto at = filled.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    filled.replace(at, from.size(), to);
  };
  set("site = \"\"", "site = \"dc1-hall2\"");
  set("rack = \"\"", "rack = \"r17\"");
  set("brokers = []", "brokers = [\"mqtts://broker-1.example:8883\"]");
  // Uncomment the example drivers: from the first "# [[drivers]]" on, every
  // commented line that is a table header or a key = value.
  const auto drivers = filled.find("# [[drivers]]");
  REQUIRE(drivers != std::string::npos);
  const std::regex setting(R"(^# (\[\[.*\]\]|[a-z_]+ = .*)$)");
  std::istringstream lines(filled.substr(drivers));
  std::string uncommented;
  for (std::string line; std::getline(lines, line);) {
    uncommented += (std::regex_match(line, setting) ? line.substr(2) : line) + "\n";
  }
  filled = filled.substr(0, drivers) + uncommented;
  set("/etc/racktel/bmc-password", secret.string());
  r = parse_config(filled, "racktel.toml");
  REQUIRE_MESSAGE(r.ok(), (r.errors.empty() ? "" : r.errors[0].to_string()));
  CHECK(r.config->drivers.size() == 2);
  CHECK(validate_drivers(*r.config, driver_loader(builtin_drivers(), "/nonexistent")).empty());
}

TEST_CASE("errors name the file, line and column and say what was expected") {
  std::string text = minimal;
  text.replace(text.find("keepalive = \"5s\""), 16, "keepalive = 5");
  config_result r = parse_config(text, "rack.toml");
  CHECK(only_error(r) == "7:13: expected \"keepalive\" to be a duration string such as \"500ms\", \"1s\" or \"2m\"");
  CHECK(r.errors[0].to_string().starts_with("rack.toml:7:13: "));
}

TEST_CASE("unknown keys are errors, not silently ignored") {
  std::string text = minimal;
  text.replace(text.find("rack = \"r01\""), 12, "rack = \"r01\"\nsiet = \"x\"");
  const std::string e = only_error(parse_config(text, "t.toml"));
  CHECK(e.starts_with("5:1: unknown key \"siet\" in [agent]"));
  CHECK(contains(e, "expected one of: site, rack"));
}

TEST_CASE("out-of-range values are errors") {
  std::string text = minimal;
  text.replace(text.find("interval = \"1s\""), 15, "interval = \"1ms\"");
  CHECK(contains(only_error(parse_config(text, "t.toml")), "\"interval\" must be between 10ms and 24h, got 1ms"));

  text = minimal;
  text.replace(text.find("[mqtt]"), 6, "[mqtt]\nmax_inflight = 0");
  CHECK(contains(only_error(parse_config(text, "t.toml")), "\"max_inflight\" to be an integer from 1 to 65535"));
}

TEST_CASE("missing required keys and tables are reported") {
  config_result r = parse_config("[agent]\nsite = \"lab\"\n", "t.toml");
  REQUIRE(r.errors.size() == 3);
  CHECK(contains(r.errors[0].to_string(), "missing key \"rack\""));
  CHECK(contains(r.errors[1].to_string(), "missing table [mqtt]"));
  CHECK(contains(r.errors[2].to_string(), "no [[drivers]] table: the agent would read nothing"));
}

TEST_CASE("site and rack must be usable as topic levels") {
  std::string text = minimal;
  text.replace(text.find("rack = \"r01\""), 12, "rack = \"r/01#\"");
  CHECK(contains(only_error(parse_config(text, "t.toml")), "becomes an MQTT topic level"));
}

TEST_CASE("broker URIs are checked; mqtt:// means tcp://") {
  std::string text = minimal;
  text.replace(text.find("tcp://127.0.0.1:1883"), 20, "mqtt://127.0.0.2:1883\", \"http://x");
  config_result r = parse_config(text, "t.toml");
  CHECK(contains(only_error(r), "6:37: expected a broker URI"));

  text = minimal;
  text.replace(text.find("tcp://"), 6, "mqtt://");
  r = parse_config(text, "t.toml");
  REQUIRE(r.ok());
  CHECK(r.config->mqtt.brokers[0] == "tcp://127.0.0.1:1883");
}

TEST_CASE("[mqtt] protocol is 5 or 3.1.1") {
  config_result r = parse_config(minimal, "t.toml");
  REQUIRE(r.ok());
  CHECK(r.config->mqtt.protocol == mqtt_protocol::v5);
  std::string text = minimal;
  text.replace(text.find("[mqtt]"), 6, "[mqtt]\nprotocol = \"3.1.1\"");
  r = parse_config(text, "t.toml");
  REQUIRE(r.ok());
  CHECK(r.config->mqtt.protocol == mqtt_protocol::v3_1_1);
  text = minimal;
  text.replace(text.find("[mqtt]"), 6, "[mqtt]\nprotocol = 5");
  CHECK(contains(only_error(parse_config(text, "t.toml")), "\"protocol\" must be \"5\" or \"3.1.1\""));
  // The ingest's keys are not the agent's.
  text = minimal;
  text.replace(text.find("[mqtt]"), 6, "[mqtt]\nshared_group = \"g\"");
  CHECK(contains(only_error(parse_config(text, "t.toml")), "unknown key \"shared_group\""));
}

TEST_CASE("TOML syntax errors keep their position") {
  config_result r = parse_config("[agent]\nsite = \"lab\nrack = 1\n", "broken.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 2);
  CHECK(contains(r.errors[0].message, "TOML syntax error"));
}

TEST_CASE("duplicate driver names are refused") {
  std::string text = std::string(minimal) + "[[drivers]]\nname = \"rack\"\ntype = \"sim\"\n";
  CHECK(contains(only_error(parse_config(text, "t.toml")), "is used twice"));
}

TEST_CASE("password and password_file are exclusive; the file's first line is the secret") {
  std::string text = minimal;
  text.replace(text.find("[mqtt]"), 6, "[mqtt]\npassword_file = \"/nonexistent/secret\"");
  CHECK(contains(only_error(parse_config(text, "t.toml")),
                 "cannot read \"/nonexistent/secret\": No such file or directory"));
}

TEST_CASE("secret files can come from systemd credentials") {
  racktel::testing::temp_dir dir("racktel-credentials");
  std::ofstream(dir.path / "mqtt-password") << "s3cret\n";
  std::string text = minimal;
  text.replace(text.find("[mqtt]"), 6, "[mqtt]\npassword_file = \"${CREDENTIALS_DIRECTORY}/mqtt-password\"");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  CHECK(contains(only_error(parse_config(text, "t.toml")), "uses ${CREDENTIALS_DIRECTORY}, which is not set"));
  ::setenv("CREDENTIALS_DIRECTORY", dir.path.c_str(), 1);
  config_result r = parse_config(text, "t.toml");
  REQUIRE(r.ok());
  CHECK(r.config->mqtt.password == "s3cret");
  ::unsetenv("CREDENTIALS_DIRECTORY");
}

TEST_CASE("mqtts:// brokers and TLS files") {
  std::string text = minimal;
  text.replace(text.find("tcp://127.0.0.1:1883"), 20, "mqtts://127.0.0.1:8883");
  config_result r = parse_config(text, "t.toml");
  REQUIRE(r.ok());
  CHECK(r.config->mqtt.brokers[0] == "ssl://127.0.0.1:8883");
  CHECK(r.config->mqtt.uses_tls());
  CHECK(r.config->mqtt.verify_hostname);
  racktel::testing::temp_dir dir("racktel-tls");
  std::ofstream(dir.path / "ca.pem") << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  text = minimal;
  text.replace(text.find("[mqtt]"), 6, "[mqtt]\nca_file = \"" + (dir.path / "ca.pem").string() + "\"");
  CHECK(contains(only_error(parse_config(text, "t.toml")), "no broker uses ssl:// or mqtts://"));
}

TEST_CASE("a driver's unknown key is reported at its position") {
  std::string text = std::string(minimal) + "sede = 4\n";
  auto errors = driver_errors(text);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].to_string() == "t.toml:12:1: driver \"rack\": unknown key \"sede\" for a driver of type \"sim\"");
}

TEST_CASE("a driver's own validation errors carry positions") {
  std::string text = std::string(minimal) + "[[drivers.faults]]\nkind = \"hot_chip\"\nchip = 99\n";
  auto errors = driver_errors(text);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line == 14);
  CHECK(contains(errors[0].message, "\"faults[0].chip\": expected an integer from 0 to 63, got 99"));

  text = std::string(minimal) + "[[drivers.faults]]\nkind = \"meltdown\"\n";
  errors = driver_errors(text);
  REQUIRE(errors.size() == 1);
  CHECK(contains(errors[0].message, "unknown fault kind \"meltdown\""));

  text = std::string(minimal) + "seed = \"seven\"\n";
  errors = driver_errors(text);
  REQUIRE(errors.size() == 1);
  CHECK(contains(errors[0].to_string(), "t.toml:12:8: driver \"rack\": expected \"seed\" to be an integer"));
}

TEST_CASE("an unknown driver type names where it looked") {
  std::string text = minimal;
  text.replace(text.find("type = \"sim\""), 12, "type = \"nope\"");
  auto errors = driver_errors(text);
  REQUIRE(errors.size() == 1);
  CHECK(contains(errors[0].to_string(), "t.toml:8:1: driver \"rack\": no driver of type \"nope\""));
  CHECK(contains(errors[0].message, "/nonexistent/racktel-driver-nope.so does not exist"));
}

namespace {

// The config with `line` added to [table] (which must exist in `minimal`).
std::string with(const std::string& table, const std::string& line) {
  std::string text = minimal;
  const std::string header = "[" + table + "]";
  text.replace(text.find(header), header.size(), header + "\n" + line);
  return text;
}

std::string first_error(const std::string& text) {
  config_result r = parse_config(text, "t.toml");
  return r.errors.empty() ? std::string("no error") : r.errors[0].message;
}

}  // namespace

TEST_CASE("configuration that passes the types but cannot work is refused at load") {
  racktel::testing::temp_dir dir("racktel-config");
  std::ofstream(dir.path / "not-pem") << "hello\n";
  std::string text = with("mqtt", "ca_file = \"" + dir.path.string() + "\"");
  text.replace(text.find("tcp://127.0.0.1:1883"), 20, "mqtts://127.0.0.1:8883");
  CHECK(first_error(text) == "ca_file: \"" + dir.path.string() + "\" is not a regular file");
  text.replace(text.find(dir.path.string()), dir.path.string().size(), (dir.path / "not-pem").string());
  CHECK(first_error(text) == "ca_file: \"" + (dir.path / "not-pem").string() + "\" is not a PEM certificate file");

  for (const char* uri : {"tcp://x", "ssl://[::1", "tcp://host name:1883", "tcp://:1883", "tcp://h:0", "tcp://h:65536",
                          "tcp://h:1883/path", "http://h:80"}) {
    std::string bad = minimal;
    bad.replace(bad.find("tcp://127.0.0.1:1883"), 20, uri);
    CHECK_MESSAGE(contains(first_error(bad), "expected a broker URI \"tcp://host:port\""), uri);
  }
  for (const char* uri : {"tcp://h:1", "tcp://h:65535", "ssl://[::1]:8883", "mqtt://broker-1.site.example:1883"}) {
    std::string good = minimal;
    good.replace(good.find("tcp://127.0.0.1:1883"), 20, uri);
    CHECK_MESSAGE(parse_config(good, "t.toml").ok(), uri);
  }

  CHECK(first_error(with("agent", "state_dir = \"\"")) ==
        "\"state_dir\" must not be empty; expected a directory such as \"/var/lib/racktel\"");
  const std::string at_limit(107, 'x');
  CHECK(parse_config(with("agent", "status_socket = \"/" + at_limit.substr(1) + "\""), "t.toml").ok());
  CHECK(first_error(with("agent", "status_socket = \"/" + at_limit + "\"")) ==
        "\"status_socket\" is 108 bytes long; a Unix socket path holds at most 107");
  CHECK(first_error(with("mqtt", "client_id = \"rack 01/#\"")).find("\"client_id\" must be 1-128 characters") == 0);
  CHECK(parse_config(with("mqtt", "client_id = \"racktel-lab.r01:a_b\""), "t.toml").ok());
  CHECK(first_error(with("mqtt", "password_file = \"/dev/zero\"")) == "\"/dev/zero\" is not a regular file");

  // A deadline longer than the interval can never be met; equal is fine.
  std::string deadline = minimal;
  deadline.replace(deadline.find("interval = \"1s\""), 15, "interval = \"1s\"\ndeadline = \"1s\"");
  CHECK(parse_config(deadline, "t.toml").ok());
  deadline.replace(deadline.find("deadline = \"1s\""), 15, "deadline = \"2s\"");
  CHECK(first_error(deadline) ==
        "\"deadline\" (2s) is longer than \"interval\" (1s); a read must end before the next one is due");
  deadline.replace(deadline.find("deadline = \"2s\""), 15, "deadline = \"500ms\"\ngroup_intervals = { power = \"100ms\" }");
  CHECK(first_error(deadline) == "\"deadline\" (500ms) is longer than group \"power\"'s interval (100ms)");
}

TEST_CASE("weaknesses are warnings, and errors with [agent] security = \"strict\"") {
  racktel::testing::temp_dir dir("racktel-secrets");
  const auto secret = dir.path / "password";
  std::ofstream(secret) << "s3cret\n";
  std::filesystem::permissions(secret, std::filesystem::perms(0644));
  const std::string text = with("mqtt", "username = \"rack\"\npassword_file = \"" + secret.string() + "\"");
  config_result r = parse_config(text, "t.toml");
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 2);
  CHECK(r.warnings[0].message == "\"" + secret.string() + "\" holds a secret and is readable or writable by its group "
                                 "or by everyone (mode 0644); make it 0600 or 0400");
  CHECK(r.warnings[1].message == "credentials are sent in cleartext to a tcp:// broker; use mqtts://");

  std::string strict = text;
  strict.replace(strict.find("[agent]"), 7, "[agent]\nsecurity = \"strict\"");
  r = parse_config(strict, "t.toml");
  REQUIRE(r.errors.size() == 2);
  CHECK(contains(r.errors[0].message, "(mode 0644); make it 0600 or 0400 (refused: [agent] security = \"strict\")"));

  std::filesystem::permissions(secret, std::filesystem::perms(0600));
  r = parse_config(text, "t.toml");
  REQUIRE(r.warnings.size() == 1);  // only the cleartext one is left

  r = parse_config(with("mqtt", "password = \"inline\""), "t.toml");
  REQUIRE(r.warnings.size() == 2);
  CHECK(contains(r.warnings[0].message, "the broker password is written in the configuration file"));
  CHECK(first_error(with("agent", "security = \"lax\"")) == "\"security\" must be \"warn\" or \"strict\"");
}

TEST_CASE("characters beyond ASCII outside strings are refused before toml++ sees them") {
  // toml++ 3.3 reaches undefined behaviour on a bare key starting with U+00A1..U+0499 ("\xc3\xa9" is U+00E9).
  for (const char* text : {"[agent]\n\xc3\xa9 = 1\n", "[\xc3\xa9]\n", "x = { \xc3\xa9 = 1 }\n", "[[\xd2\x99]]\n",
                           "a.\xc2\xa1 = 2\n", "x = 1 \xc3\xa9\n"}) {
    config_result r = parse_config(text, "t.toml");
    REQUIRE(r.errors.size() == 1);
    CHECK_MESSAGE(contains(r.errors[0].message, "a character beyond ASCII outside a quoted string"), text);
  }
  config_result r = parse_config("[agent]\n  \xc3\xa9t\xc3\xa9 = 1\n", "t.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string().starts_with("t.toml:2:3: a character beyond ASCII"));

  // Inside strings and comments they are fine (every kind of string, escapes and closing quotes included).
  const std::string fine = "# caf\xc3\xa9\n"
                           "\"caf\xc3\xa9\" = 1\n"
                           "a = \"\\\"\xc3\xa9\\\\\"\n"
                           "b = '\xc3\xa9'\n"
                           "c = \"\"\"\n\xc3\xa9 \\\n \"\xc3\xa9\"\"\"\"\"\n"
                           "d = '''\xc3\xa9''''\n"
                           "e = 1 # \xc3\xa9\n";
  CHECK_FALSE(find_non_ascii_outside_strings(fine, "t.toml"));
  // ... and the scan resumes after each string ends.
  CHECK(find_non_ascii_outside_strings(fine + "\xc3\xa9 = 2\n", "t.toml")->line == 10);
}

TEST_CASE("drivers get the agent's security policy: cleartext credentials and inline passwords") {
  const std::string redfish = std::string(minimal).substr(0, std::string(minimal).find("[[drivers]]")) +
                              "[[drivers]]\nname = \"bmc\"\ntype = \"redfish\"\nusername = \"u\"\npassword = \"p\"\n"
                              "[[drivers.bmcs]]\nname = \"t0\"\nurl = \"http://127.0.0.1:8000\"\n";
  config_result r = parse_config(redfish, "t.toml");
  REQUIRE(r.ok());
  std::vector<config_error> warnings;
  auto errors = validate_drivers(*r.config, driver_loader(builtin_drivers(), "/nonexistent"), &warnings);
  CHECK(errors.empty());
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0].message, "\"password\": a password written in the configuration file"));

  std::string strict = redfish;
  strict.replace(strict.find("[agent]"), 7, "[agent]\nsecurity = \"strict\"");
  r = parse_config(strict, "t.toml");
  REQUIRE(r.ok());
  errors = validate_drivers(*r.config, driver_loader(builtin_drivers(), "/nonexistent"));
  REQUIRE(errors.size() == 2);
  CHECK(contains(errors[0].message, "(refused: [agent] security = \"strict\")"));
  CHECK(contains(errors[1].message, "BMC t0: the session login sends the password in cleartext over http://; use https://"));
}

TEST_CASE("group_intervals keys must name the driver's read groups") {
  const std::string text = std::string(minimal) + "group_intervals = { power = \"200ms\", powr = \"200ms\" }\n";
  auto errors = driver_errors(text);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].to_string() ==
        "t.toml:12:38: driver \"rack\": unknown read group \"powr\" in \"group_intervals\"; a driver of type "
        "\"sim\" has: power, thermal, status");
  CHECK(driver_errors(std::string(minimal) + "group_intervals = { thermal = \"2s\" }\n").empty());

  // A driver that does not declare its groups (ABI 1.1 and older) is checked
  // when an instance opens for reading, not by check-config.
  const auto builtin = builtin_drivers();
  const auto sim = std::find_if(builtin.begin(), builtin.end(),
                                [](const racktel_driver* d) { return std::string_view(d->type_name) == "sim"; });
  REQUIRE(sim != builtin.end());
  racktel_driver undeclared = **sim;
  undeclared.type_name = "undeclared";
  undeclared.group_names = nullptr;
  const driver_loader loader({&undeclared}, "/nonexistent");
  config_result r = parse_config(text, "t.toml");
  REQUIRE(r.ok());
  r.config->drivers[0].type = undeclared.type_name;
  CHECK(validate_drivers(*r.config, loader).empty());
  auto opened = driver_instance::open(r.config->drivers[0], *loader.load(undeclared.type_name, std::nullopt).driver, 0);
  CHECK_FALSE(opened.instance);
  REQUIRE(opened.errors.size() == 1);
  CHECK(contains(opened.errors[0].message, "unknown read group \"powr\""));
}

TEST_CASE("every error of a file is reported in one pass, in file order") {
  testing::temp_dir dir;
  const auto file = dir.path / "racktel.toml";
  std::ofstream(file) << R"([agent]
site = "lab"
rack = "r01"
intervall = "1s"
[mqtt]
brokers = ["tcp://127.0.0.1:1883"]
broker = "tcp://127.0.0.1:1884"
[[drivers]]
name = "rack"
type = "sim"
seeed = 3
group_intervals = { powr = "200ms" }
[[drivers]]
name = "other"
type = "sim"
fautls = []
)";
  const config_result r = check_configuration(file.string(), nullptr);
  CHECK_FALSE(r.ok());
  std::vector<std::string> where;
  for (const auto& e : r.errors) where.push_back(std::to_string(e.line) + ":" + std::to_string(e.column));
  CHECK(where == std::vector<std::string>{"4:1", "7:1", "11:1", "12:21", "16:1"});
  CHECK(contains(r.errors[2].message, "unknown key \"seeed\""));
  CHECK(contains(r.errors[4].message, "driver \"other\": unknown key \"fautls\""));
}

TEST_CASE("limits hold exactly: the bound itself is accepted, one step past it is refused") {
  // (table text appended to the minimal file, what the one error must say; empty: valid)
  const std::vector<std::pair<std::string, std::string>> cases{
      {"[spool]\nsegment_size = 65536\n", ""},
      {"[spool]\nsegment_size = 65535\n", "\"segment_size\" to be a size from"},
      {"[spool]\nsegment_size = \"1MiB\"\nmax_size = \"2MiB\"\n", ""},
      {"[spool]\nsegment_size = \"1MiB\"\nmax_size = 2097151\n", "\"max_size\" must be at least twice \"segment_size\""},
      {"[spool]\nsync_interval = \"10ms\"\n", ""},
      {"[spool]\nsync_interval = \"9ms\"\n", "\"sync_interval\" must be between 10ms"},
      {"[spool]\nreplay_rate = 100\n", ""},
      {"[spool]\nreplay_rate = 99\n", "\"replay_rate\" to be an integer from 100"},
      {"[batch]\ninterval = \"50ms\"\n", ""},
      {"[batch]\ninterval = \"49ms\"\n", "\"interval\" must be between 50ms"},
      {"[batch]\ninterval = \"1m\"\n", ""},
      {"[batch]\ninterval = \"60001ms\"\n", "\"interval\" must be between 50ms"},
      {"[batch]\nmax_readings = 1\n", ""},
      {"[batch]\nmax_readings = 0\n", "\"max_readings\" to be an integer from 1 to 1000000"},
      {"[batch]\nmax_readings = 1000000\n", ""},
      {"[batch]\nmax_readings = 1000001\n", "\"max_readings\" to be an integer from 1 to 1000000"},
  };
  for (const auto& [table, expected] : cases) {
    CAPTURE(table);
    const config_result r = parse_config(std::string(minimal) + table, "t.toml");
    if (expected.empty()) {
      CHECK_MESSAGE(r.ok(), (r.errors.empty() ? "" : r.errors[0].to_string()));
    } else {
      CHECK(contains(only_error(r), expected));
    }
  }
  // Keys of tables the minimal file already has.
  const std::vector<std::tuple<std::string, std::string, std::string>> in_place{
      {"agent", "stale_after = 1", ""},
      {"agent", "stale_after = 0", "\"stale_after\" to be an integer from 1 to 1000"},
      {"agent", "stale_after = 1000", ""},
      {"agent", "stale_after = 1001", "\"stale_after\" to be an integer from 1 to 1000"},
      {"mqtt", "reconnect_min = \"10ms\"", ""},
      {"mqtt", "reconnect_min = \"9ms\"", "\"reconnect_min\" must be between 10ms"},
      {"mqtt", "reconnect_min = \"2s\"\nreconnect_max = \"2s\"", ""},
      {"mqtt", "reconnect_min = \"2s\"\nreconnect_max = \"1999ms\"", "\"reconnect_max\" must not be shorter than \"reconnect_min\""},
  };
  for (const auto& [table, line, expected] : in_place) {
    CAPTURE(line);
    const config_result r = parse_config(with(table, line), "t.toml");
    if (expected.empty()) {
      CHECK_MESSAGE(r.ok(), (r.errors.empty() ? "" : r.errors[0].to_string()));
    } else {
      CHECK(contains(only_error(r), expected));
    }
  }
}

TEST_CASE("[[alarms]] rules load in file order, and what cannot work is refused at its key") {
  const std::string good = std::string(minimal) + R"(
[[alarms]]
name = "die hot"
match = "rack/chip*.die_temp"
warn_high = 85
crit_high = 95.5
hysteresis = 2
on_delay = "5s"
on_readings = 3
[[alarms]]
match = "tray*.leak"
location = { tray = "1?" }
severity = "critical"
failing_after = "10s"
failing_severity = "critical"
)";
  config_result r = parse_config(good, "t.toml");
  REQUIRE_MESSAGE(r.ok(), (r.errors.empty() ? "" : r.errors[0].to_string()));
  REQUIRE(r.config->alarms.size() == 2);
  const alarm_rule& die = r.config->alarms[0];
  CHECK(die.name == "die hot");
  CHECK(die.warn_high == 85.0);
  CHECK(die.crit_high == 95.5);
  CHECK(die.hysteresis == 2.0);
  CHECK(die.on_delay == std::chrono::seconds(5));
  CHECK(die.on_readings == 3U);
  const alarm_rule& leak = r.config->alarms[1];
  CHECK(leak.location == std::vector<std::pair<std::string, std::string>>{{"tray", "1?"}});
  CHECK(leak.severity == alarm_severity::critical);
  CHECK(leak.failing_after == std::chrono::seconds(10));

  auto only = [](const std::string& rule) { return only_error(parse_config(std::string(minimal) + rule, "t.toml")); };
  CHECK(only("[[alarms]]\nmatch = \"*\"\nwarn_high = 96\ncrit_high = 95\n") ==
        "14:13: \"warn_high\" is above \"crit_high\": a value would be critical before it is a warning");
  CHECK(only("[[alarms]]\nmatch = \"*\"\nhysteresis = -1\n") == "14:14: \"hysteresis\" must not be negative");
  CHECK(only("[[alarms]]\nmatch = \"\"\n") == "13:9: \"match\" must name the sensors, e.g. \"rack/chip*.die_temp\"");
  CHECK(contains(only("[[alarms]]\nwarn_high = 1\n"), "missing key \"match\""));
  CHECK(contains(only("[[alarms]]\nmatch = \"*\"\nseverity = \"major\"\n"),
                 "14:12: expected \"severity\" to be \"warning\" or \"critical\""));
  CHECK(contains(only("[[alarms]]\nmatch = \"*\"\nwarn_hi = 3\n"), "unknown key \"warn_hi\" in [alarms]"));
  CHECK(contains(only("[[alarms]]\nmatch = \"*\"\non_readings = 0\n"), "\"on_readings\" to be an integer from 1"));
  CHECK(contains(only("[[alarms]]\nmatch = \"*\"\non_readings = 65536\n"), "\"on_readings\" to be an integer from 1 to 65535"));
}
