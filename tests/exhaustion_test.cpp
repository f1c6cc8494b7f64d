// franz — exhaustion (reliability suite, part 8): a full disk, the
// descriptor limit, the file-size limit and failing allocations.
//
// The scenarios run in tests/reliability/exhaust_child (FRANZ_EXHAUST_CHILD):
// rlimits are per process and its replaced operator new must not reach this
// binary. Each case spawns it, requires exit code 0 and "PASS", and prints
// its "note:" lines (figures for the report); exit code 77 is a skip. A SIGBUS or SIGXFSZ death
// shows as exit code 128 + signal.
//
// ENOSPC needs root to mount an 8 MiB tmpfs; without it (or if the mount is
// refused) the case is skipped with a warning. The allocation cases run on
// /dev/shm when it exists (they fsync a lot and test no file system).
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "process_util.hpp"
#include "test_util.hpp"

namespace franz {

using namespace franz::test;

namespace {

// Runs exhaust_child with args; requires success and prints its notes.
void run_scenario(std::vector<std::string> args) {
  args.insert(args.begin(), FRANZ_EXHAUST_CHILD);
  const auto r = run(args);
  if (r.rc == 77) {
    WARN("skipped: " << r.out);
    SUCCEED();
    return;
  }
  INFO("exhaust_child " << args[1] << " exit code " << r.rc << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  for (const auto& line : lines_of(r.out))
    if (line.rfind("note: ", 0) == 0) std::printf("%s\n", line.c_str());
  CHECK(r.out.find("FAIL") == std::string::npos);
  REQUIRE(r.rc == 0);
  REQUIRE(r.out.find("PASS") != std::string::npos);
}

// An 8 MiB tmpfs on a fresh directory, unmounted (and removed) on scope exit.
class small_tmpfs {
 public:
  small_tmpfs() {
    if (::geteuid() != 0) {
      why_not_ = "not root: mounting a tmpfs needs root";
      return;
    }
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=0700") != 0) {
      why_not_ = std::string("mount -t tmpfs -o size=8m was refused: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~small_tmpfs() {
    if (mounted_ && ::umount(dir_.path().c_str()) != 0) (void)::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  small_tmpfs(const small_tmpfs&) = delete;
  small_tmpfs& operator=(const small_tmpfs&) = delete;
  [[nodiscard]] bool mounted() const noexcept { return mounted_; }
  [[nodiscard]] const std::string& why_not() const noexcept { return why_not_; }
  [[nodiscard]] const std::string& path() const noexcept { return dir_.path(); }

 private:
  temp_dir dir_;
  bool mounted_ = false;
  std::string why_not_;
};

// A scratch directory on /dev/shm if possible, else under the temp dir.
class scratch_dir {
 public:
  scratch_dir() {
    std::string tmpl = "/dev/shm/franz-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) {
      path_ = tmpl;
    } else {
      fallback_.emplace();
      path_ = fallback_->path();
    }
  }
  ~scratch_dir() {
    std::error_code ec;
    if (!fallback_) std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::optional<temp_dir> fallback_;
  std::string path_;
};

// Runs one allocation-failure operation, unless this build's operator new
// cannot be replaced (the child says so with exit code 77).
void run_alloc(const std::string& op) {
  {
    const auto self = run({FRANZ_EXHAUST_CHILD, "alloc-selftest"});
    if (self.rc == 77) {
      WARN("skipped: " << self.out);
      SUCCEED();
      return;
    }
    INFO("alloc-selftest: " << self.out << self.err);
    REQUIRE(self.rc == 0);
  }
  scratch_dir d;
  run_scenario({"alloc", op, d.path()});
}

}  // namespace

TEST_CASE("ENOSPC on a real 8 MiB tmpfs: OUT_OF_SPACE and never SIGBUS, nothing unacknowledged or partial after a "
          "reopen, appends resume once space is freed",
          "[reliability][exhaustion]") {
  small_tmpfs fs;
  if (!fs.mounted()) {
    WARN("skipped: " << fs.why_not());
    SUCCEED();
    return;
  }
  run_scenario({"enospc", fs.path()});
}

TEST_CASE("EMFILE at RLIMIT_NOFILE 64: a 100-partition topic fails cleanly, leaves no directory and no descriptor, "
          "and an open at the limit leaks nothing",
          "[reliability][exhaustion]") {
  temp_dir d;
  run_scenario({"emfile", d.path()});
}

TEST_CASE("a flush with no descriptor free fails without taking the log offline", "[reliability][exhaustion]") {
  temp_dir d;
  run_scenario({"emfile-flush", d.path()});
}

TEST_CASE("EFBIG at RLIMIT_FSIZE: OUT_OF_SPACE, no acknowledgement, no partial record, appends resume once the "
          "limit is lifted",
          "[reliability][exhaustion]") {
  temp_dir d;
  run_scenario({"efbig", d.path()});
}

TEST_CASE("bad_alloc at each allocation of opening a new data directory fails the open cleanly, leaking no "
          "descriptor",
          "[reliability][exhaustion][alloc]") {
  run_alloc("open_fresh");
}

TEST_CASE("bad_alloc at each allocation of a reopen (recovery, group offsets) changes no data and leaks no "
          "descriptor",
          "[reliability][exhaustion][alloc]") {
  run_alloc("reopen");
}

TEST_CASE("bad_alloc in create_topic leaves the topic wholly there or not at all, as the broker reports it",
          "[reliability][exhaustion][alloc]") {
  run_alloc("create_topic");
}

TEST_CASE("bad_alloc in send (linger.ms=0) leaks no buffer.memory and reports every accepted record once",
          "[reliability][exhaustion][alloc]") {
  run_alloc("send");
}

TEST_CASE("bad_alloc in send and flush of a lingering batch leaks no buffer.memory and reports every accepted "
          "record once",
          "[reliability][exhaustion][alloc]") {
  run_alloc("send_linger");
}

TEST_CASE("bad_alloc in poll does not move the position past records it did not return",
          "[reliability][exhaustion][alloc]") {
  run_alloc("poll");
}

TEST_CASE("bad_alloc in commit_sync leaves the old or the new committed offset, and a reopen agrees",
          "[reliability][exhaustion][alloc]") {
  run_alloc("commit");
}

TEST_CASE("bad_alloc in a group's first commit_sync leaves the broker showing what a reopen shows",
          "[reliability][exhaustion][alloc]") {
  run_alloc("commit_first");
}

}  // namespace franz
