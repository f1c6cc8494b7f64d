// franz — an owned file descriptor over a file-system policy FS.
//
// basic_file adds the path to every error and closes on destruction. It is
// move-only. Not thread-safe for mutation; concurrent preads are fine.
// Lifetime: the FS object must outlive the file.
#pragma once

#include <cerrno>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "franz/error.hpp"
#include "franz/io/posix_fs.hpp"

namespace franz::io {

// Prefixes an error's message with the file it concerns.
[[nodiscard]] inline error with_path(error e, const std::string& path) {
  e.message = fmt::format("{}: {}", path, e.message);
  return e;
}

template <class FS>
class basic_file {
 public:
  basic_file() = default;
  basic_file(FS* fs, int fd, std::string path) : fs_(fs), fd_(fd), path_(std::move(path)) {}
  basic_file(basic_file&& o) noexcept : fs_(o.fs_), fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}
  basic_file& operator=(basic_file&& o) noexcept {
    if (this != &o) {
      (void)close();
      fs_ = o.fs_;
      fd_ = std::exchange(o.fd_, -1);
      path_ = std::move(o.path_);
    }
    return *this;
  }
  basic_file(const basic_file&) = delete;
  basic_file& operator=(const basic_file&) = delete;
  ~basic_file() { (void)close(); }

  [[nodiscard]] static result<basic_file> open(FS& fs, std::string path, open_mode mode) {
    auto fd = fs.open(path, mode);
    if (!fd) return std::move(fd).error();
    return basic_file(&fs, *fd, std::move(path));
  }

  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] FS& fs() const noexcept { return *fs_; }

  [[nodiscard]] status close() {
    if (fd_ < 0) return {};
    return wrap(fs_->close(std::exchange(fd_, -1)));
  }
  [[nodiscard]] status pwrite(const void* buf, std::size_t n, std::uint64_t off) {
    return wrap(fs_->pwrite(fd_, buf, n, off));
  }
  [[nodiscard]] status write(const void* buf, std::size_t n) { return wrap(fs_->write(fd_, buf, n)); }
  [[nodiscard]] result<std::size_t> pread(void* buf, std::size_t n, std::uint64_t off) const {
    return wrap(fs_->pread(fd_, buf, n, off));
  }
  [[nodiscard]] status fsync(sync_site where = sync_site::here()) {
    return wrap(fs_->fsync(fd_, where));
  }
  [[nodiscard]] status fdatasync(sync_site where = sync_site::here()) {
    return wrap(fs_->fdatasync(fd_, where));
  }
  [[nodiscard]] status truncate(std::uint64_t size) { return wrap(fs_->ftruncate(fd_, size)); }
  [[nodiscard]] status allocate(std::uint64_t off, std::uint64_t len) {
    return wrap(fs_->fallocate(fd_, off, len));
  }
  [[nodiscard]] result<std::uint64_t> size() const { return wrap(fs_->file_size(fd_)); }
  [[nodiscard]] result<mapping> map(std::size_t len, bool writable) const {
    return wrap(fs_->mmap(fd_, len, writable));
  }
  [[nodiscard]] status lock() { return wrap(fs_->lock(fd_)); }

 private:
  template <class R>
  R wrap(R r) const {
    if (r.ok()) return r;
    return with_path(std::move(r).error(), path_);
  }

  FS* fs_ = nullptr;
  int fd_ = -1;
  std::string path_;
};

// Unmaps m if it is mapped, and clears it so a second call is a no-op.
template <class FS>
[[nodiscard]] status unmap(FS& fs, mapping& m) {
  if (m.data == nullptr) return {};
  auto s = fs.munmap(m);
  m = {};
  return s;
}

// Replaces path's contents atomically: write path.tmp, fsync it, rename it
// over path, fsync the directory. A crash leaves the old or the new file,
// plus perhaps a .tmp that the next open removes. *replaced (if given) tells
// whether the rename happened: after an error with *replaced true, the new
// contents are visible but perhaps not durable.
template <class FS>
[[nodiscard]] status write_file_atomically(FS& fs, const std::string& dir, const std::string& name,
                                           const void* data, std::size_t n, bool* replaced = nullptr) {
  if (replaced) *replaced = false;
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp";
  {
    auto f = basic_file<FS>::open(fs, tmp, open_mode::truncate);
    if (!f) return std::move(f).error();
    FRANZ_TRY(f->pwrite(data, n, 0));
    FRANZ_TRY(f->fsync());
    FRANZ_TRY(f->close());
  }
  FRANZ_TRY(fs.rename(tmp, path));
  if (replaced) *replaced = true;
  return fs.fsync_dir(dir);
}

// Whether a failed sync call may have dropped the data it was to make
// durable, so that the caller must poison what it guards. A directory fsync
// opens the directory first: EMFILE, ENFILE and ENOMEM come only from that
// open (fsync(2) never returns them), so nothing was written back or lost
// and the sync may simply be tried again.
[[nodiscard]] inline bool sync_may_have_lost_data(const error& e) noexcept {
  return e.sys_errno != EMFILE && e.sys_errno != ENFILE && e.sys_errno != ENOMEM;
}

// Creates directory dir (mode 0700) and fsyncs its parent, so the new
// entry survives a power loss (and everything later flushed into it). A
// missing parent is INVALID_LOG_DIR.
template <class FS>
[[nodiscard]] status make_dir_durable(FS& fs, const std::string& dir) {
  if (auto s = fs.mkdir(dir); !s.ok()) {
    auto e = std::move(s).error();
    if (e.sys_errno == ENOENT) e.code = errc::invalid_log_dir;
    return e;
  }
  const auto slash = dir.find_last_of('/');
  return fs.fsync_dir(slash == std::string::npos ? std::string(".")
                      : slash == 0               ? std::string("/")
                                                 : dir.substr(0, slash));
}

}  // namespace franz::io
