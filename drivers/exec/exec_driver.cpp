// The `exec` driver: runs a command at each poll and parses what it prints.
//
// Config keys:
//   command = ["/usr/local/bin/read-cdu", "--json"]   the argument vector, run without a shell
//   shell = "ipmitool sdr | my-filter"                 or a shell command line, run with /bin/sh -c
//   format = "json"                                    or "influx" (line protocol)
//   max_output_bytes = 1048576                         stdout beyond this is an error
//   resolution = 0.001                                 for sensors whose output gives none
//
// The command runs in its own process group. At the read's deadline, or when
// the host cancels, or when its output grows too large, the whole group is
// killed (SIGKILL), so children it left behind go too. stderr goes to the log.
// A non-zero exit or unparsable output yields error readings with the reason.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exec_output.h"
#include "racktel/driver.h"

extern char** environ;

namespace racktel::exec {
namespace {

struct run_result {
  std::string out;
  std::string err;
  std::string failure;  // why the run did not produce usable output; empty when it did
};

std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

run_result run_command(const std::vector<std::string>& argv, std::int64_t deadline_ns, const volatile int* cancel,
                       std::size_t max_output) {
  run_result result;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.failure = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.failure = std::string("pipe: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so that a kill reaches everything it started; and
  // default signal handling (the agent ignores SIGPIPE, the command should not).
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (spawned != 0) {
    result.failure = "cannot run " + argv[0] + ": " + std::strerror(spawned);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return result;
  }

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  bool open[2] = {true, true};
  char buf[8192];
  while (open[0] || open[1]) {
    if (*cancel != 0) {
      result.failure = "cancelled by the agent (deadline passed)";
      break;
    }
    const std::int64_t left_ms = (deadline_ns - monotonic_ns()) / 1'000'000;
    if (left_ms <= 0) {
      result.failure = "killed at the deadline";
      break;
    }
    for (int i = 0; i < 2; ++i) fds[i].fd = open[i] ? (i == 0 ? out_pipe[0] : err_pipe[0]) : -1;
    const int ready = ::poll(fds, 2, static_cast<int>(std::min<std::int64_t>(left_ms, 20)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (!open[i] || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        open[i] = false;
        continue;
      }
      std::string& sink = i == 0 ? result.out : result.err;
      if (i == 1 && sink.size() > 16384) continue;  // keep the log readable
      sink.append(buf, static_cast<std::size_t>(n));
    }
    if (result.out.size() > max_output) {
      result.failure = "output larger than " + std::to_string(max_output) + " bytes";
      break;
    }
  }
  // Whatever happened, nothing the command started outlives this read.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  if (result.failure.empty()) {
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
      result.failure = "exited with status " + std::to_string(WEXITSTATUS(status));
    } else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
      result.failure = std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
    }
  }
  return result;
}

struct sensor {
  std::string id, name, unit, location;
  unsigned kind = 0;
  double resolution = 0.001;
};

struct instance {
  const racktel_host* host = nullptr;
  std::vector<std::string> argv;
  bool influx = false;
  std::size_t max_output = 1U << 20U;
  double resolution = 0.001;
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
      inst->argv.emplace_back(a);
    }
    if (has_shell == 1) inst->argv = {"/bin/sh", "-c", shell};
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
    std::int64_t max_output = static_cast<std::int64_t>(inst->max_output);
    if (config->get_int(config->ctx, "max_output_bytes", &max_output) < 0) ok = false;
    if (max_output < 64 || max_output > (64LL << 20)) {
      config->error(config->ctx, "max_output_bytes", "expected 64 to 67108864 bytes");
      ok = false;
    }
    inst->max_output = static_cast<std::size_t>(max_output);
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

std::uint32_t exec_group_count(void*) noexcept { return 1; }
int exec_group_info(void*, std::uint32_t index, racktel_group_info* info) noexcept {
  if (index != 0) return RACKTEL_DRIVER_FAILED;
  info->name = "all";
  info->default_interval_ms = 0;
  return RACKTEL_DRIVER_OK;
}

void report_failure(instance& inst, const std::string& why) {
  ++inst.failures;
  // Once per change of reason, then every 100th time: a broken command must not flood the log.
  if (why != inst.last_failure || inst.failures % 100 == 0) {
    inst.log(RACKTEL_LOG_ERROR, inst.argv.back() + ": " + why + " (" + std::to_string(inst.failures) +
                                    " failed runs); its sensors read as errors");
  }
  inst.last_failure = why;
}

int exec_read(void* p, const racktel_read_request* request, std::uint32_t* written) noexcept {
  auto* inst = static_cast<instance*>(p);
  try {
    run_result run = run_command(inst->argv, request->deadline_ns, request->cancel, inst->max_output);
    std::size_t start = 0;
    while (start < run.err.size()) {
      const std::size_t end = run.err.find('\n', start);
      const std::string line = run.err.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!line.empty()) inst->log(RACKTEL_LOG_WARN, "stderr: " + line);
      if (end == std::string::npos) break;
      start = end + 1;
    }
    parse_result parsed;
    if (run.failure.empty()) {
      parsed = inst->influx ? parse_influx(run.out) : parse_json(run.out);
      if (!parsed.error.empty()) run.failure = "unparsable output: " + parsed.error;
    }
    if (!run.failure.empty()) {
      report_failure(*inst, run.failure);
      std::uint32_t n = 0;
      for (std::uint32_t i = 0; i < inst->sensors.size() && n < request->capacity; ++i) {
        request->samples[n++] = {i, RACKTEL_READING_ERROR, 0.0};
      }
      *written = n;
      return RACKTEL_DRIVER_OK;
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
    racktel::exec::exec_group_count,
    racktel::exec::exec_group_info,
    racktel::exec::exec_read,
    racktel::exec::exec_catalog_generation,
};
