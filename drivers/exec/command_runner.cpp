#include "command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace racktel::exec {
namespace {

constexpr const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// After the command itself has exited, output still in the pipes is read for
// at most this long: a grandchild holding the pipe must not hold the read.
constexpr std::int64_t drain_after_exit_ms = 200;
// How long the agent waits for the reaper to clean up before killing it outright.
constexpr std::int64_t reaper_grace_ms = 2000;

// Messages on the status pipe, reaper -> agent: a tag byte and a 32-bit value.
constexpr char tag_exec_failed = 'E';  // value: errno of execve
constexpr char tag_exited = 'W';       // value: the command's wait status
constexpr char tag_no_subreaper = 'S'; // value: errno of PR_SET_CHILD_SUBREAPER (qemu-user, say)

std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- In the reaper and the command: async-signal-safe calls only (the agent is multi-threaded). ----

void send_status(int fd, char tag, std::int32_t value) {
  char msg[5] = {tag};
  std::memcpy(msg + 1, &value, sizeof value);
  (void)!::write(fd, msg, sizeof msg);
}

void sleep_ms(long ms) {
  timespec t{0, ms * 1'000'000L};
  ::nanosleep(&t, nullptr);
}

// SIGKILLs every process left under the reaper until none is left: the
// command's group, then each direct child (orphans re-parent here, so a
// killed parent's children show up in the next round). Gives up after ~2 s
// (a process in uninterruptible sleep cannot be killed).
void kill_tree(pid_t command) {
  char path[64] = "/proc/self/task/";
  {
    // The reaper is single-threaded: its one task id is its pid.
    char digits[24];
    int n = 0;
    for (long pid = ::getpid(); pid > 0; pid /= 10) digits[n++] = static_cast<char>('0' + pid % 10);
    std::size_t at = std::strlen(path);
    while (n > 0) path[at++] = digits[--n];
    std::memcpy(path + at, "/children", 10);
  }
  for (int round = 0; round < 400; ++round) {
    ::kill(-command, SIGKILL);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      const ssize_t n = ::read(fd, buf, sizeof buf - 1);
      ::close(fd);
      long pid = 0;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] >= '0' && buf[i] <= '9') {
          pid = pid * 10 + (buf[i] - '0');
        } else {
          if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
          pid = 0;
        }
      }
      if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
    pid_t reaped;
    while ((reaped = ::waitpid(-1, nullptr, WNOHANG)) > 0) {
    }
    if (reaped < 0 && errno == ECHILD) return;
    sleep_ms(5);
  }
}

void close_from(int first) {
  if (::close_range(static_cast<unsigned>(first), ~0U, 0) == 0) return;
  rlimit lim{};
  const rlim_t top = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY ? lim.rlim_cur : 65536;
  for (rlim_t fd = static_cast<rlim_t>(first); fd < top; ++fd) ::close(static_cast<int>(fd));
}

struct child_setup {
  const char* program;
  char* const* argv;
  char* const* envp;
  int null_fd, out_fd, err_fd, status_fd;
  pid_t agent;
};

[[noreturn]] void run_reaper(const child_setup& s) {
  // Die with the lane thread that started us (SIGTERM: clean up first).
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != s.agent) ::_exit(127);
  const bool subreaper = ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
  const int subreaper_errno = errno;
  ::setpgid(0, 0);
  // Handlers and ignored signals of the agent are not the command's. (All
  // signals are blocked since before the fork.)
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t waited;
  sigemptyset(&waited);
  sigaddset(&waited, SIGCHLD);
  sigaddset(&waited, SIGTERM);
  ::sigprocmask(SIG_SETMASK, &waited, nullptr);

  // stdin, stdout, stderr, and the status pipe as 3; nothing else.
  if (::dup2(s.null_fd, 0) < 0 || ::dup2(s.out_fd, 1) < 0 || ::dup2(s.err_fd, 2) < 0 ||
      ::dup2(s.status_fd, 3) < 0) {
    ::_exit(127);
  }
  close_from(4);
  // Without it, orphans go to init: the command's process group is still killed.
  if (!subreaper) send_status(3, tag_no_subreaper, subreaper_errno);

  const pid_t command = ::fork();
  if (command < 0) {
    send_status(3, tag_exec_failed, errno);
    ::_exit(0);
  }
  if (command == 0) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::fcntl(3, F_SETFD, FD_CLOEXEC);  // only to report a failed exec
    ::execve(s.program, s.argv, s.envp);
    send_status(3, tag_exec_failed, errno);
    ::_exit(127);
  }
  ::setpgid(command, command);  // both sides, so a kill never misses the group

  for (;;) {
    siginfo_t info{};
    if (::sigwaitinfo(&waited, &info) < 0) continue;
    if (info.si_signo == SIGTERM) {
      kill_tree(command);
      ::_exit(0);
    }
    int status = 0;
    pid_t pid;
    bool command_done = false;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == command) {
        send_status(3, tag_exited, status);
        command_done = true;
      }
    }
    if (command_done) {
      // The command is done; whatever it left running is not wanted.
      kill_tree(command);
      ::_exit(0);
    }
  }
}

// ---- In the agent. ----

struct pipe_pair {
  int read = -1, write = -1;
  ~pipe_pair() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
  void close_write() {
    if (write >= 0) ::close(write);
    write = -1;
  }
};

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return e.substr(name.size() + 1);
    }
  }
  return {};
}

// argv[0] with a slash is used as it is; otherwise it is looked up in the
// child's PATH here, before fork, where allocating is allowed.
std::string resolve_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = env_value(env, "PATH");
  if (path.empty()) path = default_path;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

// Waits for the reaper; kills it (and its group) if it does not finish cleaning up in time.
int wait_reaper(pid_t reaper) {
  int status = 0;
  const std::int64_t give_up = monotonic_ns() + reaper_grace_ms * 1'000'000;
  for (;;) {
    const pid_t r = ::waitpid(reaper, &status, WNOHANG);
    if (r == reaper || (r < 0 && errno != EINTR)) return status;
    if (monotonic_ns() > give_up) {
      ::kill(-reaper, SIGKILL);
      ::kill(reaper, SIGKILL);
      while (::waitpid(reaper, &status, 0) < 0 && errno == EINTR) {
      }
      return status;
    }
    sleep_ms(2);
  }
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
  return {};
}

}  // namespace

std::vector<std::string> command_environment(const std::vector<std::string>& pass,
                                             const std::vector<std::string>& set) {
  std::vector<std::string> env = {std::string("PATH=") + default_path, "LC_ALL=C"};
  auto put = [&env](const std::string& entry) {
    const std::size_t eq = entry.find('=');
    const std::string prefix = entry.substr(0, eq + 1);
    auto same = std::find_if(env.begin(), env.end(), [&](const std::string& e) { return e.starts_with(prefix); });
    if (same != env.end()) {
      *same = entry;
    } else {
      env.push_back(entry);
    }
  };
  for (const std::string& name : pass) {
    if (const char* value = std::getenv(name.c_str())) put(name + "=" + value);
  }
  for (const std::string& entry : set) put(entry);
  return env;
}

command_result run_command(const command_spec& spec, std::int64_t deadline_ns, const volatile int* cancel) {
  command_result result;
  if (spec.argv.empty()) {
    result.failure = "no command to run";
    return result;
  }
  const std::string program = resolve_program(spec.argv.front(), spec.environment);
  if (program.empty()) {
    result.failure = "cannot run " + spec.argv.front() + ": not found in PATH " + env_value(spec.environment, "PATH");
    return result;
  }
  // Everything the child needs is made before fork: after it, no allocation.
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pipe_pair out, err, status;
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || !out.open() || !err.open() || !status.open()) {
    result.failure = std::string("cannot make pipes: ") + std::strerror(errno);
    if (null_fd >= 0) ::close(null_fd);
    return result;
  }
  const child_setup setup{program.c_str(), argv.data(), envp.data(), null_fd, out.write, err.write, status.write,
                          ::getpid()};
  // No signal handler of the agent may run in the reaper before it resets them.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t reaper = ::fork();
  if (reaper == 0) run_reaper(setup);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::close(null_fd);
  out.close_write();
  err.close_write();
  status.close_write();
  if (reaper < 0) {
    result.failure = std::string("cannot fork: ") + std::strerror(errno);
    return result;
  }

  pollfd fds[3] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}, {status.read, POLLIN, 0}};
  bool open[3] = {true, true, true};
  std::string status_bytes;
  std::int64_t exited_at_ns = 0;  // when the command (or the reaper) was seen to end
  bool gave_up = false;
  char buf[8192];
  for (;;) {
    if (exited_at_ns != 0 && !open[0] && !open[1]) break;
    const std::int64_t now = monotonic_ns();
    if (*cancel != 0) {
      result.failure = "cancelled by the agent (deadline passed)";
      gave_up = true;
      break;
    }
    if (now >= deadline_ns) {
      result.failure = "killed at the deadline";
      gave_up = true;
      break;
    }
    if (exited_at_ns != 0 && now - exited_at_ns > drain_after_exit_ms * 1'000'000) break;
    const std::int64_t wait_ms = std::clamp<std::int64_t>((deadline_ns - now) / 1'000'000, 1, 20);
    if (::poll(fds, 3, static_cast<int>(wait_ms)) < 0 && errno != EINTR) {
      result.failure = std::string("poll: ") + std::strerror(errno);
      gave_up = true;
      break;
    }
    for (int i = 0; i < 3; ++i) {
      if (!open[i] || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        open[i] = false;
        fds[i].fd = -1;  // poll ignores it from now on
        if (i == 2 && exited_at_ns == 0) exited_at_ns = monotonic_ns();
        continue;
      }
      const auto bytes = static_cast<std::size_t>(n);
      if (i == 0) {
        result.out.append(buf, bytes);
      } else if (i == 1) {
        const std::size_t room = spec.max_stderr - std::min(spec.max_stderr, result.err.size());
        result.err.append(buf, std::min(room, bytes));
        if (bytes > room) result.err_truncated = true;
      } else {
        status_bytes.append(buf, bytes);
        // Any message but the subreaper notice means the command has ended.
        for (std::size_t at = 0; exited_at_ns == 0 && at + 5 <= status_bytes.size(); at += 5) {
          if (status_bytes[at] != tag_no_subreaper) exited_at_ns = monotonic_ns();
        }
      }
    }
    if (result.out.size() > spec.max_output) {
      result.failure = "output larger than " + std::to_string(spec.max_output) + " bytes";
      gave_up = true;
      break;
    }
  }
  if (gave_up) ::kill(reaper, SIGTERM);  // the reaper kills the command's whole tree
  (void)wait_reaper(reaper);
  // The last status bytes may have arrived after the output closed.
  for (ssize_t n; (n = ::read(status.read, buf, sizeof buf)) > 0;) status_bytes.append(buf, static_cast<std::size_t>(n));

  for (std::size_t at = 0; at + 5 <= status_bytes.size(); at += 5) {
    if (status_bytes[at] == tag_no_subreaper) result.no_subreaper = true;
  }
  if (!result.failure.empty()) return result;
  for (std::size_t at = 0; at + 5 <= status_bytes.size(); at += 5) {
    std::int32_t value = 0;
    std::memcpy(&value, status_bytes.data() + at + 1, sizeof value);
    if (status_bytes[at] == tag_exec_failed) {
      result.failure = "cannot run " + program + ": " + std::strerror(value);
      return result;
    }
    if (status_bytes[at] == tag_exited) {
      result.failure = describe_wait_status(value);
      return result;
    }
  }
  result.failure = "the command's exit status was lost";
  return result;
}

}  // namespace racktel::exec
