// franz — POSIX implementation of the system-call seam.
#include "franz/io/posix_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace franz::io {

namespace {

error sys(std::string_view op, const std::string& subject) {
  const int e = errno;
  return errno_error(e, subject.empty() ? std::string(op) : fmt::format("{} {}", op, subject));
}

error sys_fd(std::string_view op, int fd) { return sys(op, fmt::format("(fd {})", fd)); }

}  // namespace

result<int> posix_fs::open(const std::string& path, open_mode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case open_mode::read_only: flags |= O_RDONLY; break;
    case open_mode::read_write: flags |= O_RDWR; break;
    case open_mode::create: flags |= O_RDWR | O_CREAT; break;
    case open_mode::create_exclusive: flags |= O_RDWR | O_CREAT | O_EXCL; break;
    case open_mode::truncate: flags |= O_RDWR | O_CREAT | O_TRUNC; break;
  }
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return sys("open", path);
  return fd;
}

status posix_fs::close(int fd) {
  // close is not retried on EINTR: on Linux the descriptor is gone either way.
  if (::close(fd) != 0 && errno != EINTR) return sys_fd("close", fd);
  return {};
}

status posix_fs::pwrite(int fd, const void* buf, std::size_t n, std::uint64_t off) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return sys_fd("pwrite", fd);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    off += static_cast<std::uint64_t>(w);
  }
  return {};
}

status posix_fs::write(int fd, const void* buf, std::size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return sys_fd("write", fd);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

result<std::size_t> posix_fs::pread(int fd, void* buf, std::size_t n, std::uint64_t off) {
  auto* p = static_cast<char*>(buf);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, p + got, n - got, static_cast<off_t>(off + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return sys_fd("pread", fd);
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

status posix_fs::fsync(int fd, sync_site) {
  // Never retried: after a failed fsync the kernel may have dropped the
  // dirty pages, so a second fsync "succeeding" proves nothing.
  if (::fsync(fd) != 0) return sys_fd("fsync", fd);
  return {};
}

status posix_fs::fdatasync(int fd, sync_site) {
  if (::fdatasync(fd) != 0) return sys_fd("fdatasync", fd);
  return {};
}

status posix_fs::ftruncate(int fd, std::uint64_t size) {
  int r;
  do {
    r = ::ftruncate(fd, static_cast<off_t>(size));
  } while (r != 0 && errno == EINTR);
  if (r != 0) return sys_fd("ftruncate", fd);
  return {};
}

status posix_fs::fallocate(int fd, std::uint64_t off, std::uint64_t len) {
  int r;
  do {
    r = ::fallocate(fd, 0, static_cast<off_t>(off), static_cast<off_t>(len));
  } while (r != 0 && errno == EINTR);
  if (r == 0) return {};
  if (errno == EOPNOTSUPP || errno == ENOSYS) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return sys_fd("fstat", fd);
    if (static_cast<std::uint64_t>(st.st_size) >= off + len) return {};
    return ftruncate(fd, off + len);
  }
  return sys_fd("fallocate", fd);
}

result<std::uint64_t> posix_fs::file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return sys_fd("fstat", fd);
  return static_cast<std::uint64_t>(st.st_size);
}

status posix_fs::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return sys("rename", from + " -> " + to);
  return {};
}

status posix_fs::unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return sys("unlink", path);
  return {};
}

status posix_fs::mkdir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0) return sys("mkdir", path);
  return {};
}

status posix_fs::rmdir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0) return sys("rmdir", path);
  return {};
}

status posix_fs::fsync_dir(const std::string& path, sync_site) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys("open directory", path);
  const int r = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (r != 0) {
    errno = e;
    return sys("fsync directory", path);
  }
  return {};
}

result<path_type> posix_fs::stat(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return path_type::missing;
    return sys("stat", path);
  }
  if (S_ISDIR(st.st_mode)) return path_type::directory;
  if (S_ISREG(st.st_mode)) return path_type::regular;
  return path_type::other;
}

result<std::vector<std::string>> posix_fs::list_dir(const std::string& path) {
  // Owned, so a bad_alloc from names closes it too.
  const std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
  if (!d) return sys("opendir", path);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d.get())) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
    errno = 0;
  }
  const int err = errno;
  if (err != 0) {
    errno = err;
    return sys("readdir", path);
  }
  return names;
}

status posix_fs::lock(int fd) {
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return make_error(errc::log_dir_locked, "another writer holds the lock", EWOULDBLOCK);
    return sys_fd("flock", fd);
  }
  return {};
}

result<mapping> posix_fs::mmap(int fd, std::size_t len, bool writable) {
  if (len == 0) return mapping{};
  const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* p = ::mmap(nullptr, len, prot, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return sys_fd("mmap", fd);
  return mapping{static_cast<std::byte*>(p), len};
}

status posix_fs::munmap(mapping m) {
  if (m.data == nullptr) return {};
  if (::munmap(m.data, m.size) != 0) return sys("munmap", "");
  return {};
}

status posix_fs::populate(mapping m, std::size_t off, std::size_t len) {
#ifdef MADV_POPULATE_WRITE
  // Page-align the range; madvise needs an aligned start.
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t start = off / page * page;
  if (start >= m.size) return {};
  len = std::min(m.size - start, len + (off - start));
  if (::madvise(m.data + start, len, MADV_POPULATE_WRITE) != 0) {
    // EINVAL: kernel older than 5.14; the hot path then faults lazily.
    if (errno == EINVAL || errno == ENOSYS) return {};
    return sys("madvise(MADV_POPULATE_WRITE)", "");
  }
#else
  (void)m, (void)off, (void)len;
#endif
  return {};
}

status posix_fs::drop_pages(mapping m, std::size_t off, std::size_t len) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t start = off / page * page;
  if (start >= m.size || len == 0) return {};
  len = std::min(m.size - start, len + (off - start));
  if (::madvise(m.data + start, len, MADV_DONTNEED) != 0) return sys("madvise(MADV_DONTNEED)", "");
  return {};
}

result<std::size_t> posix_fs::sendfile(int out_fd, int in_fd, std::uint64_t off, std::size_t n) {
  auto o = static_cast<off_t>(off);
  std::size_t sent = 0;
  while (sent < n) {
    const ssize_t r = ::sendfile(out_fd, in_fd, &o, n - sent);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && sent > 0) break;
      return sys_fd("sendfile", in_fd);
    }
    if (r == 0) break;
    sent += static_cast<std::size_t>(r);
  }
  return sent;
}

}  // namespace franz::io
