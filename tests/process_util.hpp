// Runs the franz command and the example programs as real processes, the
// way a user does: argv, stdin from a file, stdout and stderr captured,
// environment inherited (plus overrides), exit status returned.
//
// posix_spawn (not fork) so the sanitizer builds can run it from a test
// process that may have threads. Files rather than pipes, so a chatty child
// can never block on a full pipe while the test waits for it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

extern char** environ;

namespace franz::test {

#ifdef FRANZ_CLI
inline const char* const franz_cli = FRANZ_CLI;
#endif
#ifdef FRANZ_EXAMPLES_DIR
inline const std::string examples_dir = FRANZ_EXAMPLES_DIR;
#endif

struct run_result {
  int rc = -1;      // exit code, or 128 + signal
  std::string out;  // stdout
  std::string err;  // stderr
};

// A started child; its output goes to files in a temp_dir.
class child {
 public:
  // argv[0] is the program path. env entries override the inherited ones
  // ("" as a value removes the variable).
  child(std::vector<std::string> argv, std::string_view stdin_data = {},
        const std::map<std::string, std::string>& env = {}) {
    write_file(files_.sub("in"), std::string(stdin_data));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, files_.sub("in").c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, files_.sub("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, files_.sub("err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view kv(*e);
      const auto name = std::string(kv.substr(0, kv.find('=')));
      if (!env.contains(name)) envs.emplace_back(kv);
    }
    for (const auto& [k, v] : env)
      if (!v.empty()) envs.push_back(k + "=" + v);
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0].c_str(), &fa, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    INFO("posix_spawn " << argv[0] << ": " << std::strerror(rc));
    REQUIRE(rc == 0);
  }
  ~child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] std::string out() const { return read_file(files_.sub("out")); }
  [[nodiscard]] std::string err() const { return read_file(files_.sub("err")); }
  void signal(int sig) const { ::kill(pid_, sig); }

  // Waits until stdout holds at least `lines` newlines (false on timeout or
  // if the child exited first).
  bool wait_for_lines(std::size_t lines, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto o = out();
      if (static_cast<std::size_t>(std::count(o.begin(), o.end(), '\n')) >= lines) return true;
      int st;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = st;
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  // Waits for the exit; returns the exit code (128 + signal if killed).
  run_result wait() {
    if (pid_ > 0) {
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      status_ = st;
      pid_ = -1;
    }
    run_result r;
    r.rc = WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
    r.out = out();
    r.err = err();
    return r;
  }

 private:
  temp_dir files_;
  pid_t pid_ = -1;
  int status_ = 0;
};

// Runs a program to completion.
inline run_result run(std::vector<std::string> argv, std::string_view stdin_data = {},
                      const std::map<std::string, std::string>& env = {}) {
  child c(std::move(argv), stdin_data, env);
  return c.wait();
}

#ifdef FRANZ_CLI
// Runs `franz --data-dir DIR args...`.
inline run_result franz(const std::string& data_dir, std::vector<std::string> args, std::string_view stdin_data = {},
                        const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), {franz_cli, "--data-dir", data_dir});
  return run(std::move(args), stdin_data, env);
}
#endif

// Lines of s, without their '\n'.
inline std::vector<std::string> lines_of(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto nl = s.find('\n');
    out.emplace_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace franz::test
