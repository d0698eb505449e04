// The `exec` driver: runs a command at each poll and parses what it prints.
//
// Config keys:
//   command = ["/usr/local/bin/read-cdu", "--json"]   the argument vector, run without a shell
//   shell = "ipmitool sdr | my-filter"                 or a shell command line, run with /bin/sh -c
//   format = "json"                                    or "influx" (line protocol)
//   max_output_bytes = 1048576                         stdout beyond this is an error
//   resolution = 0.001                                 for sensors whose output gives none
//   environment = ["IPMI_HOST=10.0.0.5"]               set in the command's environment
//   pass_environment = ["CREDENTIALS_DIRECTORY"]       copied from the agent's environment
//
// The command runs under a reaper (command_runner.h): when it exits, or at the
// read's deadline, or when the host cancels, or when its output grows too
// large, everything it started is killed. It gets a minimal environment and
// only its standard descriptors. stderr goes to the log, escaped and
// rate-limited. A non-zero exit or unparsable output yields error readings
// with the reason.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "command_runner.h"
#include "exec_output.h"
#include "racktel/driver.h"
#include "support/single_group.h"

namespace racktel::exec {
namespace {

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool valid_environment_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

struct sensor {
  std::string id, name, unit, location;
  unsigned kind = 0;
  double resolution = 0.001;
};

struct instance {
  const racktel_host* host = nullptr;
  command_spec command;
  bool influx = false;
  double resolution = 0.001;
  // stderr: at most 5 lines per run, 10 at once and 20 a minute per instance.
  log_budget stderr_budget{10, 20};
  bool warned_no_subreaper = false;
  std::vector<sensor> sensors;
  std::uint64_t generation = 0;
  std::string last_failure;
  std::uint64_t failures = 0;

  void log(racktel_log_level level, const std::string& m) const { host->log(host->ctx, level, m.c_str()); }
};

int exec_open(const racktel_host* host, const racktel_config* config, std::uint32_t, void** out) noexcept {
  try {
    auto inst = std::make_unique<instance>();
    inst->host = host;
    bool ok = true;
    const int args = config->array_size(config->ctx, "command");
    const char* shell = nullptr;
    const int has_shell = config->get_string(config->ctx, "shell", &shell);
    if (has_shell < 0) ok = false;
    if ((args > 0) == (has_shell == 1)) {
      config->error(config->ctx, args > 0 ? "shell" : "command",
                    "give exactly one of \"command\" (an argument vector) or \"shell\" (a /bin/sh command line)");
      ok = false;
    }
    for (int i = 0; i < args; ++i) {
      const std::string key = "command[" + std::to_string(i) + "]";
      const char* a = nullptr;
      if (config->get_string(config->ctx, key.c_str(), &a) != 1) {
        ok = false;
        continue;
      }
      inst->command.argv.emplace_back(a);
    }
    if (has_shell == 1) inst->command.argv = {"/bin/sh", "-c", shell};
    // The environment: minimal, plus what the table asks for.
    std::vector<std::string> pass, set;
    auto read_list = [&](const char* list, std::vector<std::string>& into, bool assignments) {
      const int n = config->array_size(config->ctx, list);
      for (int i = 0; i < n; ++i) {
        const std::string key = std::string(list) + "[" + std::to_string(i) + "]";
        const char* v = nullptr;
        if (config->get_string(config->ctx, key.c_str(), &v) != 1) {
          ok = false;
          continue;
        }
        const std::string entry = v;
        const std::string name = assignments ? entry.substr(0, entry.find('=')) : entry;
        if ((assignments && entry.find('=') == std::string::npos) || !valid_environment_name(name)) {
          config->error(config->ctx, key.c_str(),
                        assignments ? "expected \"NAME=value\" with NAME of letters, digits and _"
                                    : "expected a variable name of letters, digits and _");
          ok = false;
          continue;
        }
        into.push_back(entry);
      }
    };
    read_list("environment", set, true);
    read_list("pass_environment", pass, false);
    inst->command.environment = command_environment(pass, set);
    const char* format = nullptr;
    if (const int f = config->get_string(config->ctx, "format", &format); f == 1) {
      const std::string fmt = format;
      if (fmt != "json" && fmt != "influx") {
        config->error(config->ctx, "format", "expected \"json\" or \"influx\"");
        ok = false;
      }
      inst->influx = fmt == "influx";
    } else if (f < 0) {
      ok = false;
    }
    std::int64_t max_output = static_cast<std::int64_t>(inst->command.max_output);
    if (config->get_int(config->ctx, "max_output_bytes", &max_output) < 0) ok = false;
    if (max_output < 64 || max_output > (64LL << 20)) {
      config->error(config->ctx, "max_output_bytes", "expected 64 to 67108864 bytes");
      ok = false;
    }
    inst->command.max_output = static_cast<std::size_t>(max_output);
    if (config->get_double(config->ctx, "resolution", &inst->resolution) < 0) ok = false;
    if (!(inst->resolution > 0 && std::isfinite(inst->resolution))) {
      config->error(config->ctx, "resolution", "expected a positive number");
      ok = false;
    }
    if (!ok) return RACKTEL_DRIVER_FAILED;
    *out = inst.release();  // the sensors are learnt from the first run, on the lane
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    host->log(host->ctx, RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

void exec_close(void* p) noexcept { delete static_cast<instance*>(p); }
std::uint32_t exec_sensor_count(void* p) noexcept {
  return static_cast<std::uint32_t>(static_cast<instance*>(p)->sensors.size());
}

int exec_sensor_info(void* p, std::uint32_t index, racktel_sensor_info* info) noexcept {
  const auto& sensors = static_cast<instance*>(p)->sensors;
  if (index >= sensors.size()) return RACKTEL_DRIVER_FAILED;
  const sensor& s = sensors[index];
  info->id = s.id.c_str();
  info->name = s.name.c_str();
  info->kind = s.kind;
  info->unit = s.unit.c_str();
  info->location = s.location.c_str();
  info->resolution = s.resolution;
  info->group = 0;
  return RACKTEL_DRIVER_OK;
}


void report_failure(instance& inst, const std::string& why) {
  ++inst.failures;
  // Once per change of reason, then every 100th time: a broken command must not flood the log.
  if (why != inst.last_failure || inst.failures % 100 == 0) {
    inst.log(RACKTEL_LOG_ERROR, escape_for_log(inst.command.argv.back(), 200) + ": " + why + " (" + std::to_string(inst.failures) +
                                    " failed runs); its sensors read as errors");
  }
  inst.last_failure = why;
}

void log_stderr(instance& inst, const command_result& run) {
  constexpr std::size_t lines_per_run = 5, line_bytes = 300;
  const stderr_lines err = stderr_for_log(run.err, lines_per_run, line_bytes);
  const std::size_t allowed = inst.stderr_budget.take(err.lines.size(), unix_now_ms());
  inst.stderr_budget.suppress(err.more);
  if (allowed == 0) return;  // what was left out is reported with the next lines that are logged
  for (std::size_t i = 0; i < allowed; ++i) inst.log(RACKTEL_LOG_WARN, "stderr: " + err.lines[i]);
  if (const std::uint64_t suppressed = inst.stderr_budget.take_suppressed(); suppressed > 0 || run.err_truncated) {
    inst.log(RACKTEL_LOG_WARN, "stderr: " + std::to_string(suppressed) + " more line(s) not logged" +
                                   (run.err_truncated ? "; stderr beyond 16 KiB was not read" : ""));
  }
}

int exec_read(void* p, const racktel_read_request* request, std::uint32_t* written) noexcept {
  auto* inst = static_cast<instance*>(p);
  try {
    command_result run = run_command(inst->command, request->deadline_ns, request->cancel);
    if (run.no_subreaper && !inst->warned_no_subreaper) {
      inst->warned_no_subreaper = true;
      inst->log(RACKTEL_LOG_WARN, "this system refuses PR_SET_CHILD_SUBREAPER: processes a command leaves behind "
                                  "outside its process group (a daemon started with setsid) are not cleaned up");
    }
    log_stderr(*inst, run);
    parse_result parsed;
    if (run.failure.empty()) {
      parsed = inst->influx ? parse_influx(run.out) : parse_json(run.out);
      if (!parsed.error.empty()) run.failure = "unparsable output: " + parsed.error;
    }
    if (!run.failure.empty()) {
      // A failed run is a failed read: the host counts it as one and makes
      // every sensor an error reading.
      report_failure(*inst, run.failure);
      *written = 0;
      return RACKTEL_DRIVER_FAILED;
    }
    if (!inst->last_failure.empty()) inst->log(RACKTEL_LOG_INFO, "command works again");
    inst->last_failure.clear();

    // The output defines the sensors; a new set is a new catalog generation.
    std::vector<sensor> now;
    for (const parsed_sensor& ps : parsed.sensors) {
      now.push_back({ps.id, ps.name.empty() ? ps.id : ps.name, ps.unit, ps.location, sensor_kind_from_name(ps.kind),
                     ps.resolution && *ps.resolution > 0 ? *ps.resolution : inst->resolution});
    }
    bool same = now.size() == inst->sensors.size();
    for (std::size_t i = 0; same && i < now.size(); ++i) {
      same = now[i].id == inst->sensors[i].id && now[i].unit == inst->sensors[i].unit &&
             now[i].resolution == inst->sensors[i].resolution && now[i].location == inst->sensors[i].location;
    }
    if (!same) {
      inst->sensors = std::move(now);
      ++inst->generation;
    }
    std::uint32_t n = 0;
    for (std::uint32_t i = 0; i < parsed.sensors.size() && n < request->capacity; ++i) {
      const auto& v = parsed.sensors[i].value;
      request->samples[n++] = {i, static_cast<std::uint32_t>(v ? RACKTEL_READING_OK : RACKTEL_READING_ERROR),
                               v.value_or(0.0)};
    }
    *written = n;
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    report_failure(*inst, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

std::uint64_t exec_catalog_generation(void* p) noexcept { return static_cast<instance*>(p)->generation; }

}  // namespace
}  // namespace racktel::exec

extern "C" const racktel_driver racktel_exec_driver = {
    sizeof(racktel_driver),
    RACKTEL_DRIVER_ABI_MAJOR,
    RACKTEL_DRIVER_ABI_MINOR,
    "exec",
    "runs a command and parses its JSON or InfluxDB line protocol output",
    RACKTEL_DRIVER_MAY_BLOCK,
    racktel::exec::exec_open,
    racktel::exec::exec_close,
    racktel::exec::exec_sensor_count,
    racktel::exec::exec_sensor_info,
    racktel::drivers::single_group_count,
    racktel::drivers::single_group_info,
    racktel::exec::exec_read,
    racktel::exec::exec_catalog_generation,
    racktel::drivers::single_group_names,
};
