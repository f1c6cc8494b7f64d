// franz — the fault-injecting file-system policy (see io/fault_fs.hpp).
#include "franz/io/fault_fs.hpp"

#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

#include <fmt/format.h>

namespace franz::io {

std::string fault_fs::dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string fault_fs::base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::optional<std::string> fault_fs::read_all(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  ::close(fd);
  return out;
}

fault_fs::file_id fault_fs::id_of_ino(std::uint64_t ino) {
  auto [it, fresh] = live_ids_.try_emplace(ino, next_id_);
  if (fresh) ++next_id_;
  return it->second;
}

fault_fs::file_id fault_fs::id_of_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  if (S_ISDIR(st.st_mode)) {
    const file_id id = id_of_ino(st.st_ino);
    dir_ids_.insert(id);
    return id;
  }
  if (!S_ISREG(st.st_mode)) return 0;
  return id_of_ino(st.st_ino);
}

void fault_fs::forget_if_unlinked(const struct stat& st) {
  if (st.st_nlink <= 1) live_ids_.erase(st.st_ino);
}

void fault_fs::track_dir(const std::string& dir) {
  if (durable_dirs_.count(dir) != 0) return;
  auto names = real_.list_dir(dir);
  auto& entries = durable_dirs_[dir];
  if (!names) return;
  for (const auto& n : *names) {
    const std::string p = dir + "/" + n;
    const file_id id = id_of_path(p);
    if (id == 0) continue;
    entries[n] = id;
    if (dir_ids_.count(id) == 0 && durable_data_.count(id) == 0) {
      if (auto data = read_all(p)) durable_data_[id] = std::move(*data);
    }
  }
}

error fault_fs::down_error(const char* op) const {
  return make_error(errc::kafka_storage_error, fmt::format("{}: fault_fs is down (crashed)", op), EIO);
}

status fault_fs::charge(std::uint64_t bytes) {
  if (!space_budget_) return {};
  if (bytes > *space_budget_) {
    return make_error(errc::out_of_space, "fault_fs: injected ENOSPC", ENOSPC);
  }
  *space_budget_ -= bytes;
  return {};
}

result<int> fault_fs::open(const std::string& path, open_mode mode) {
  return after_op([&]() -> result<int> {
    std::lock_guard g(mu_);
    if (down_ && mode != open_mode::read_only && mode != open_mode::read_write) return down_error("open");
    track_dir(dir_of(path));
    auto fd = real_.open(path, mode);
    if (!fd) return fd;
    struct stat st {};
    if (::fstat(*fd, &st) == 0) fds_[*fd] = {id_of_ino(st.st_ino), path};
    return fd;
  }());
}

status fault_fs::close(int fd) {
  std::lock_guard g(mu_);
  fds_.erase(fd);
  return real_.close(fd);
}

status fault_fs::pwrite(int fd, const void* buf, std::size_t n, std::uint64_t off) {
  return after_op([&]() -> status {
    std::lock_guard g(mu_);
    if (down_) return down_error("pwrite");
    if (write_errno_ != 0) return errno_error(write_errno_, "pwrite: injected error");
    auto size = real_.file_size(fd);
    if (!size) return std::move(size).error();
    if (off + n > *size) FRANZ_TRY(charge(off + n - *size));
    return real_.pwrite(fd, buf, n, off);
  }());
}

status fault_fs::write(int fd, const void* buf, std::size_t n) {
  return after_op([&]() -> status {
    std::lock_guard g(mu_);
    if (down_) return down_error("write");
    if (write_errno_ != 0) return errno_error(write_errno_, "write: injected error");
    FRANZ_TRY(charge(n));
    return real_.write(fd, buf, n);
  }());
}

status fault_fs::ftruncate(int fd, std::uint64_t size) {
  return after_op([&]() -> status {
    std::lock_guard g(mu_);
    if (down_) return down_error("ftruncate");
    return real_.ftruncate(fd, size);
  }());
}

status fault_fs::fallocate(int fd, std::uint64_t off, std::uint64_t len) {
  return after_op([&]() -> status {
    std::lock_guard g(mu_);
    if (down_) return down_error("fallocate");
    auto size = real_.file_size(fd);
    if (!size) return std::move(size).error();
    if (off + len > *size) FRANZ_TRY(charge(off + len - *size));
    return real_.fallocate(fd, off, len);
  }());
}

bool fault_fs::ignored(sync_site where) {
  std::string site = where.file;
  for (const char* root : {"include/franz/", "lib/", "tools/"}) {
    if (const auto at = site.rfind(root); at != std::string::npos) {
      site.erase(0, at);
      break;
    }
  }
  site = fmt::format("{}:{}", site, where.line);
  const bool skip = site == ignored_site_;
  sites_seen_.insert(std::move(site));
  return skip;
}

status fault_fs::sync(int fd, sync_site where) {
  std::lock_guard g(mu_);
  ++sync_calls_;
  if (down_) return down_error("fsync");
  if (sync_calls_ == fail_sync_at_) {
    return make_error(errc::kafka_storage_error, "fsync: injected EIO", EIO);
  }
  if (ignored(where)) return {};
  // The durable image is simulated, so the real fsync is skipped: tests that
  // sync thousands of times stay fast.
  auto it = fds_.find(fd);
  if (it == fds_.end()) return {};
  auto size = real_.file_size(fd);
  if (!size) return std::move(size).error();
  std::string data(*size, '\0');
  auto got = real_.pread(fd, data.data(), data.size(), 0);
  if (!got) return std::move(got).error();
  data.resize(*got);
  durable_data_[it->second.id] = std::move(data);
  return {};
}

status fault_fs::fsync_dir(const std::string& path, sync_site where) {
  return after_op(sync_dir_locked(path, where));
}

status fault_fs::sync_dir_locked(const std::string& path, sync_site where) {
  std::lock_guard g(mu_);
  ++sync_calls_;
  if (down_) return down_error("fsync directory");
  if (sync_calls_ == fail_sync_at_) {
    return make_error(errc::kafka_storage_error, "fsync directory: injected EIO", EIO);
  }
  if (ignored(where)) return {};
  track_dir(path);
  auto names = real_.list_dir(path);
  if (!names) return std::move(names).error();
  auto& entries = durable_dirs_[path];
  entries.clear();
  for (const auto& n : *names) {
    const file_id id = id_of_path(path + "/" + n);
    if (id != 0) entries[n] = id;
  }
  return {};
}

status fault_fs::rename(const std::string& from, const std::string& to) {
  return after_op([&]() -> status {
    std::lock_guard g(mu_);
    if (down_) return down_error("rename");
    track_dir(dir_of(from));
    track_dir(dir_of(to));
    struct stat st {};
    const bool replaced = ::stat(to.c_str(), &st) == 0;
    FRANZ_TRY(real_.rename(from, to));
    if (replaced) forget_if_unlinked(st);
    return {};
  }());
}

status fault_fs::unlink(const std::string& path) {
  return after_op([&]() -> status {
    std::lock_guard g(mu_);
    if (down_) return down_error("unlink");
    track_dir(dir_of(path));
    struct stat st {};
    const bool existed = ::stat(path.c_str(), &st) == 0;
    FRANZ_TRY(real_.unlink(path));
    if (existed) forget_if_unlinked(st);
    if (existed && space_budget_ && unlink_refunds_) *space_budget_ += static_cast<std::uint64_t>(st.st_size);
    return {};
  }());
}

status fault_fs::mkdir(const std::string& path) {
  return after_op([&]() -> status {
    std::lock_guard g(mu_);
    if (down_) return down_error("mkdir");
    track_dir(dir_of(path));
    return real_.mkdir(path);
  }());
}

status fault_fs::rmdir(const std::string& path) {
  return after_op([&]() -> status {
    std::lock_guard g(mu_);
    if (down_) return down_error("rmdir");
    track_dir(dir_of(path));
    durable_dirs_.erase(path);
    return real_.rmdir(path);
  }());
}

status fault_fs::reboot() {
  std::lock_guard g(mu_);
  if (crash_mode_ == crash_mode::power_loss) {
    for (const auto& [dir, entries] : durable_dirs_) {
      auto names = real_.list_dir(dir);
      if (!names) continue;
      for (const auto& n : *names) {
        const std::string p = dir + "/" + n;
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0 || entries.count(n) != 0) continue;
        if (S_ISREG(st.st_mode)) {
          FRANZ_TRY(real_.unlink(p));
        } else if (S_ISDIR(st.st_mode)) {
          // A directory whose creation never reached the disk, with all in it.
          std::error_code ec;
          std::filesystem::remove_all(p, ec);
        }
      }
      for (const auto& [n, id] : entries) {
        if (dir_ids_.count(id) != 0) continue;
        auto fd = real_.open(dir + "/" + n, open_mode::truncate);
        if (!fd) return std::move(fd).error();
        auto it = durable_data_.find(id);
        status s;
        if (it != durable_data_.end() && !it->second.empty())
          s = real_.pwrite(*fd, it->second.data(), it->second.size(), 0);
        (void)real_.close(*fd);
        FRANZ_TRY(std::move(s));
      }
    }
  }
  fds_.clear();  // the processes that held them are gone
  if (crash_mode_ == crash_mode::power_loss) {
    // Files were rewritten from the durable image: start tracking afresh.
    dir_ids_.clear();
    live_ids_.clear();
    durable_data_.clear();
    durable_dirs_.clear();
  }
  // After a kill -9 the files are untouched and nothing became durable: the
  // durable image stays, so a later power loss still drops what was never
  // synced.
  down_ = false;
  return {};
}

// --- crash images ------------------------------------------------------------

struct fault_fs::image_ctx {
  crash_kind kind;
  std::uint64_t rng;
  std::map<file_id, std::string> cur_path;  // where each live file is now
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
};

std::string fault_fs::image_file(image_ctx& c, file_id id, const std::string& cur_path) {
  const auto d = durable_data_.find(id);
  const std::string dur = d == durable_data_.end() ? std::string() : d->second;
  if (cur_path.empty()) return dur;  // unlinked: its unsynced writes died with it
  const std::string cur = read_all(cur_path).value_or(std::string());
  if (cur == dur) return cur;
  crash_kind k = c.kind;
  if (k == crash_kind::mixed) k = static_cast<crash_kind>(c.below(6));
  if (k == crash_kind::drop) return dur;
  if (k == crash_kind::keep) return cur;
  std::size_t first = 0;  // the first byte the unsynced writes changed
  while (first < cur.size() && first < dur.size() && cur[first] == dur[first]) ++first;
  std::string out = cur;  // the size reached the disk (the old size is `drop`)
  auto old_byte = [&](std::size_t i) { return i < dur.size() ? dur[i] : '\0'; };
  switch (k) {
    case crash_kind::prefix: {
      const std::size_t cut = first + c.below(out.size() - first + 1);
      for (std::size_t i = cut; i < out.size(); ++i) out[i] = old_byte(i);
      break;
    }
    case crash_kind::zeroed:
    case crash_kind::garbled:
      for (std::size_t i = first; i < out.size(); ++i)
        if (i >= dur.size() || out[i] != dur[i])
          out[i] = k == crash_kind::zeroed ? '\0' : static_cast<char>(c.next());
      break;
    case crash_kind::pages:
      for (std::size_t page = first / 4096 * 4096; page < out.size(); page += 4096)
        if (c.below(2) == 0)
          for (std::size_t i = page; i < out.size() && i < page + 4096; ++i) out[i] = old_byte(i);
      break;
    default:
      break;
  }
  return out;
}

status fault_fs::image_dir(image_ctx& c, const std::string& src, const std::string& dst, bool known) {
  FRANZ_TRY(real_.mkdir(dst));
  // Which entries this directory holds after the crash: the durable ones if
  // its changes are rolled back, else the current ones.
  bool rollback = false;
  const auto tracked = durable_dirs_.find(src);
  if (tracked != durable_dirs_.end()) {
    rollback = c.kind == crash_kind::drop || (c.kind != crash_kind::keep && c.below(2) == 0);
  }
  std::map<std::string, file_id> entries;
  if (rollback) {
    entries = tracked->second;
  } else if (known) {
    auto names = real_.list_dir(src);
    if (names) {
      for (const auto& n : *names) {
        const file_id id = id_of_path(src + "/" + n);
        if (id != 0) entries[n] = id;
      }
    }
  }
  for (const auto& [name, id] : entries) {
    const auto at = c.cur_path.find(id);
    const std::string now = at == c.cur_path.end() ? std::string() : at->second;
    if (dir_ids_.count(id) != 0) {
      // A directory: its entries as they are at its current place (a rolled
      // back rename still holds what the directory holds now).
      FRANZ_TRY(image_dir(c, now.empty() ? src + "/" + name : now, dst + "/" + name, !now.empty()));
      continue;
    }
    // A file in a directory never tracked was never touched through this
    // fault_fs (opening or renaming a file tracks its directory): as it is.
    const bool untouched = tracked == durable_dirs_.end() && durable_data_.count(id) == 0 && !now.empty();
    const std::string data = untouched ? read_all(now).value_or(std::string()) : image_file(c, id, now);
    auto fd = real_.open(dst + "/" + name, open_mode::truncate);
    if (!fd) return std::move(fd).error();
    status st;
    if (!data.empty()) st = real_.pwrite(*fd, data.data(), data.size(), 0);
    (void)real_.close(*fd);
    FRANZ_TRY(std::move(st));
  }
  return {};
}

status fault_fs::write_crash_image(const std::string& from, const std::string& to, crash_kind kind,
                                   std::uint64_t seed) {
  std::lock_guard g(mu_);
  image_ctx c{kind, seed, {}};
  // Where every file and directory is now, walking the live tree.
  std::vector<std::string> todo{from};
  while (!todo.empty()) {
    const std::string d = todo.back();
    todo.pop_back();
    auto names = real_.list_dir(d);
    if (!names) continue;
    for (const auto& n : *names) {
      const std::string p = d + "/" + n;
      const file_id id = id_of_path(p);
      if (id == 0) continue;
      c.cur_path[id] = p;
      if (dir_ids_.count(id) != 0) todo.push_back(p);
    }
  }
  return image_dir(c, from, to, true);
}

}  // namespace franz::io
