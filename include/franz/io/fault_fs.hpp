// franz — a fault-injecting file-system policy for tests.
//
// fault_fs passes every call through to posix_fs on real files, and on top:
//  - remembers what was durable: each file's contents at its last fsync or
//    fdatasync, and each directory's entries at its last directory fsync;
//  - crash(): from then on every mutating call fails with EIO (the machine
//    is down); reboot() then rewrites the tracked directories to their
//    durable image — unsynced data dropped, unsynced creates, renames and
//    unlinks rolled back — or, after a process_kill crash, keeps every file
//    as it is (the page cache survives a kill -9) while still remembering
//    what was durable, for a later power loss;
//  - fail_fsync_at(n): the n-th sync call from now fails with EIO;
//  - set_space_budget(bytes, unlink_refunds): writes and fallocates that
//    would allocate more than the budget fail with ENOSPC, writing nothing;
//    with unlink_refunds, unlinking a file gives its size back (as if no
//    one held it open: a real file system frees it at the last close);
//  - fail_writes(errno): every write/pwrite fails with that errno (0 stops).
//  - set_op_hook(f): f runs after every mutating call (on the caller's
//    thread, outside fault_fs's lock), so a test can look at the disk as a
//    crash at that instant would leave it: write_crash_image copies a
//    directory tree as a power loss could leave it — unsynced data dropped,
//    kept, or kept in part, zeroed or garbled, and unsynced directory
//    changes rolled back or kept (crash_kind).
//  - ignore_sync_site(site): syncs issued from that source location
//    ("file:line", see sync_sites()) succeed without making anything
//    durable — a build without that fsync, for the sensitivity test.
//
// A directory made by mkdir is an entry of its parent like a file: it
// survives a power loss only if the parent was fsynced after the mkdir.
// Thread-safety: all members lock one mutex; safe from any thread.
// Lifetime: must outlive every log opened on it.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "franz/io/posix_fs.hpp"

namespace franz::io {

enum class crash_mode : std::uint8_t {
  power_loss,    // unsynced data and directory changes are lost
  process_kill,  // everything written survives (kill -9)
};

// How write_crash_image treats data and directory entries not yet synced.
enum class crash_kind : std::uint8_t {
  drop,     // the durable image: unsynced data and directory changes lost
  keep,     // everything written reached the disk after all
  prefix,   // per file, unsynced bytes reached the disk up to a random cut
  zeroed,   // per file, the size reached the disk but unsynced bytes read 0
  garbled,  // per file, unsynced bytes read as random garbage
  pages,    // per file, each unsynced 4 KiB page independently old or new
  mixed,    // per file one of the above, per directory changes kept or not
};

class fault_fs {
 public:
  fault_fs() = default;
  fault_fs(const fault_fs&) = delete;
  fault_fs& operator=(const fault_fs&) = delete;

  // --- injection controls -------------------------------------------------
  void fail_fsync_at(std::uint64_t n) {
    std::lock_guard g(mu_);
    fail_sync_at_ = sync_calls_ + n;
  }
  void fail_writes(int err) {
    std::lock_guard g(mu_);
    write_errno_ = err;
  }
  void set_space_budget(std::optional<std::uint64_t> bytes, bool unlink_refunds = false) {
    std::lock_guard g(mu_);
    space_budget_ = bytes;
    unlink_refunds_ = unlink_refunds;
  }
  void crash(crash_mode mode = crash_mode::power_loss) {
    std::lock_guard g(mu_);
    down_ = true;
    crash_mode_ = mode;
  }
  // Restores the durable image (after a power_loss crash) and brings the
  // file system back up. Call after the crashed log objects are destroyed.
  [[nodiscard]] status reboot();

  [[nodiscard]] std::uint64_t sync_calls() const {
    std::lock_guard g(mu_);
    return sync_calls_;
  }

  // Runs after every mutating call (open for writing, write, pwrite,
  // ftruncate, fallocate, sync, directory sync, rename, unlink, mkdir,
  // rmdir), outside the lock, on the calling thread. Must not call
  // fault_fs's mutating members. Empty: none.
  void set_op_hook(std::function<void()> hook) {
    std::lock_guard g(mu_);
    hook_ = std::make_shared<const std::function<void()>>(std::move(hook));
  }
  [[nodiscard]] std::uint64_t op_count() const {
    std::lock_guard g(mu_);
    return ops_;
  }

  // Copies the tree at `from` (a tracked directory or an ancestor of the
  // tracked ones) to `to` (created, must not exist) as a power loss now
  // could leave it (see crash_kind); seed picks the random choices. Files
  // and directories never touched through this fault_fs are copied as they
  // are. The live tree is not changed.
  [[nodiscard]] status write_crash_image(const std::string& from, const std::string& to, crash_kind kind,
                                         std::uint64_t seed);

  // Every sync site seen so far, as "file:line" (relative to the source
  // tree when the path contains "include/" or "lib/").
  [[nodiscard]] std::set<std::string> sync_sites() const {
    std::lock_guard g(mu_);
    return sites_seen_;
  }
  void ignore_sync_site(std::string site) {
    std::lock_guard g(mu_);
    ignored_site_ = std::move(site);
  }

  // --- the policy interface (see posix_fs) --------------------------------
  [[nodiscard]] result<int> open(const std::string& path, open_mode mode);
  [[nodiscard]] status close(int fd);
  [[nodiscard]] status pwrite(int fd, const void* buf, std::size_t n, std::uint64_t off);
  [[nodiscard]] status write(int fd, const void* buf, std::size_t n);
  [[nodiscard]] result<std::size_t> pread(int fd, void* buf, std::size_t n, std::uint64_t off) {
    return real_.pread(fd, buf, n, off);
  }
  [[nodiscard]] status fsync(int fd, sync_site where = sync_site::here()) {
    return after_op(sync(fd, where));
  }
  [[nodiscard]] status fdatasync(int fd, sync_site where = sync_site::here()) {
    return after_op(sync(fd, where));
  }
  [[nodiscard]] status ftruncate(int fd, std::uint64_t size);
  [[nodiscard]] status fallocate(int fd, std::uint64_t off, std::uint64_t len);
  [[nodiscard]] result<std::uint64_t> file_size(int fd) { return real_.file_size(fd); }
  [[nodiscard]] status rename(const std::string& from, const std::string& to);
  [[nodiscard]] status unlink(const std::string& path);
  [[nodiscard]] status mkdir(const std::string& path);
  // Removing a directory is not rolled back by a power loss (a limitation:
  // franz removes only directories it has already renamed out of the way).
  [[nodiscard]] status rmdir(const std::string& path);
  [[nodiscard]] status fsync_dir(const std::string& path,
                                 sync_site where = sync_site::here());
  [[nodiscard]] result<path_type> stat(const std::string& path) { return real_.stat(path); }
  [[nodiscard]] result<std::vector<std::string>> list_dir(const std::string& path) {
    return real_.list_dir(path);
  }
  [[nodiscard]] status lock(int fd) { return real_.lock(fd); }
  [[nodiscard]] result<mapping> mmap(int fd, std::size_t len, bool writable) {
    return real_.mmap(fd, len, writable);
  }
  [[nodiscard]] status munmap(mapping m) { return real_.munmap(m); }
  [[nodiscard]] status populate(mapping m, std::size_t off, std::size_t len) {
    return real_.populate(m, off, len);
  }
  [[nodiscard]] status drop_pages(mapping m, std::size_t off, std::size_t len) {
    return real_.drop_pages(m, off, len);
  }
  [[nodiscard]] result<std::size_t> sendfile(int out_fd, int in_fd, std::uint64_t off, std::size_t n) {
    return real_.sendfile(out_fd, in_fd, off, n);
  }

 private:
  // Files are known by an id, not their inode number: a new file may reuse
  // the inode of an unlinked one whose durable image must survive.
  using file_id = std::uint64_t;
  struct open_file {
    file_id id;
    std::string path;
  };

  [[nodiscard]] status sync(int fd, sync_site where);
  // Counts a mutating call and runs the op hook; returns r.
  template <class R>
  R after_op(R r) {
    std::shared_ptr<const std::function<void()>> h;
    {
      std::lock_guard g(mu_);
      ++ops_;
      h = hook_;
    }
    if (h && *h) (*h)();
    return r;
  }
  // Whether a sync from `where` is the ignored site (records it). mu_ held.
  bool ignored(sync_site where);
  [[nodiscard]] status sync_dir_locked(const std::string& path, sync_site where);
  struct image_ctx;
  [[nodiscard]] status image_dir(image_ctx& c, const std::string& src, const std::string& dst, bool known);
  [[nodiscard]] std::string image_file(image_ctx& c, file_id id, const std::string& cur_path);
  [[nodiscard]] error down_error(const char* op) const;
  // Start tracking dir (snapshotting its current entries and their contents
  // as durable) if it is not tracked yet. mu_ held.
  void track_dir(const std::string& dir);
  [[nodiscard]] status charge(std::uint64_t bytes);
  // The id of the file at path (mu_ held); 0 if it is not a regular file.
  file_id id_of_path(const std::string& path);
  file_id id_of_ino(std::uint64_t ino);
  // Forget the inode's id once its last link is gone.
  void forget_if_unlinked(const struct stat& before_unlink);
  static std::string dir_of(const std::string& path);
  static std::string base_of(const std::string& path);
  static std::optional<std::string> read_all(const std::string& path);

  mutable std::mutex mu_;
  posix_fs real_;
  bool down_ = false;
  crash_mode crash_mode_ = crash_mode::power_loss;
  std::uint64_t sync_calls_ = 0;
  std::uint64_t fail_sync_at_ = 0;  // 0: never
  std::optional<std::uint64_t> space_budget_;
  bool unlink_refunds_ = false;
  int write_errno_ = 0;
  std::shared_ptr<const std::function<void()>> hook_;
  std::uint64_t ops_ = 0;
  std::set<std::string> sites_seen_;
  std::string ignored_site_;
  std::map<int, open_file> fds_;
  std::map<std::uint64_t, file_id> live_ids_;  // inode -> id
  std::set<file_id> dir_ids_;                  // ids that name directories
  file_id next_id_ = 1;
  // Durable contents by file id; a missing entry means "empty".
  std::map<file_id, std::string> durable_data_;
  // Durable entries (name -> file id) of each tracked directory.
  std::map<std::string, std::map<std::string, file_id>> durable_dirs_;
};

}  // namespace franz::io
