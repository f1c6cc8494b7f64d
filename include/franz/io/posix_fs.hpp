// franz — the system-call seam, and its POSIX implementation.
//
// Every system call franz's storage makes goes through a file-system policy
// object with exactly this set of members. The storage core is a template
// over the policy (basic_log<FS>), so tests substitute io::fault_fs, which
// drops unsynced data, fails the Nth fsync with EIO or returns ENOSPC, and
// production code pays nothing for the seam.
//
// Thread-safety: posix_fs is stateless and thread-safe. Errors carry errno
// and the path or operation involved.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "franz/error.hpp"

namespace franz::io {

// A memory mapping of [0, size) of a file.
struct mapping {
  std::byte* data = nullptr;
  std::size_t size = 0;
};

enum class path_type : std::uint8_t { missing, directory, regular, other };

enum class open_mode : std::uint8_t {
  read_only,         // O_RDONLY
  read_write,        // O_RDWR, must exist
  create,            // O_RDWR | O_CREAT
  create_exclusive,  // O_RDWR | O_CREAT | O_EXCL
  truncate,          // O_RDWR | O_CREAT | O_TRUNC
};

// Where a sync call was made: the caller's file and line, taken by a
// default argument (std::source_location is unusable with clang 14 and
// libstdc++ 12, which lack __builtin_source_location).
struct sync_site {
  const char* file = "";
  unsigned line = 0;
  static constexpr sync_site here(const char* f = __builtin_FILE(), unsigned l = __builtin_LINE()) noexcept {
    return {f, l};
  }
};

class posix_fs {
 public:
  // Files are created with mode 0600, directories with 0700 (see mkdir).
  [[nodiscard]] result<int> open(const std::string& path, open_mode mode);
  [[nodiscard]] status close(int fd);
  // Writes all n bytes at off (loops over short writes).
  [[nodiscard]] status pwrite(int fd, const void* buf, std::size_t n, std::uint64_t off);
  // Appends all n bytes at the file position (O_APPEND-free plain write).
  [[nodiscard]] status write(int fd, const void* buf, std::size_t n);
  // Reads up to n bytes at off; fewer only at end of file.
  [[nodiscard]] result<std::size_t> pread(int fd, void* buf, std::size_t n, std::uint64_t off);
  // The sync calls take the caller's source location: posix_fs ignores it;
  // fault_fs uses it to tell sync sites apart (tests drop one site's syncs
  // to show the power-loss suite notices).
  [[nodiscard]] status fsync(int fd, sync_site where = sync_site::here());
  [[nodiscard]] status fdatasync(int fd, sync_site where = sync_site::here());
  [[nodiscard]] status ftruncate(int fd, std::uint64_t size);
  // Reserves [off, off + len) so later writes (and mmap stores) cannot hit
  // ENOSPC; extends the file size. Falls back to ftruncate where the file
  // system has no fallocate (then space is not reserved).
  [[nodiscard]] status fallocate(int fd, std::uint64_t off, std::uint64_t len);
  [[nodiscard]] result<std::uint64_t> file_size(int fd);
  [[nodiscard]] status rename(const std::string& from, const std::string& to);
  [[nodiscard]] status unlink(const std::string& path);
  [[nodiscard]] status mkdir(const std::string& path);
  // Removes an empty directory.
  [[nodiscard]] status rmdir(const std::string& path);
  [[nodiscard]] status fsync_dir(const std::string& path,
                                 sync_site where = sync_site::here());
  [[nodiscard]] result<path_type> stat(const std::string& path);
  // Names in dir, without "." and "..", unsorted.
  [[nodiscard]] result<std::vector<std::string>> list_dir(const std::string& path);
  // Exclusive, non-blocking advisory lock (flock) on an open file.
  // Fails with log_dir_locked if another open file description holds it.
  [[nodiscard]] status lock(int fd);
  // MAP_SHARED mapping of the first len bytes; len may exceed the file size
  // (pages past EOF must not be touched until the file grows).
  [[nodiscard]] result<mapping> mmap(int fd, std::size_t len, bool writable);
  [[nodiscard]] status munmap(mapping m);
  // Prefaults [off, off + len) of a writable mapping so the hot path does
  // not take page faults (MADV_POPULATE_WRITE; a no-op where unsupported).
  [[nodiscard]] status populate(mapping m, std::size_t off, std::size_t len);
  // Drops this process's page-table entries for [off, off + len) of a
  // shared file mapping (MADV_DONTNEED): resident memory shrinks, the bytes
  // stay in the file and the page cache, and an access faults them back.
  [[nodiscard]] status drop_pages(mapping m, std::size_t off, std::size_t len);
  // Copies n bytes of in_fd at off to out_fd in the kernel. Returns bytes sent.
  [[nodiscard]] result<std::size_t> sendfile(int out_fd, int in_fd, std::uint64_t off, std::size_t n);

  // A process-wide instance for callers that do not inject one.
  static posix_fs& instance() noexcept {
    static posix_fs fs;
    return fs;
  }
};

}  // namespace franz::io
