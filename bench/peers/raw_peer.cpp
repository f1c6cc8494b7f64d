// The raw append file in the peer benchmarks: the ceiling every system is
// measured against. No framing, no checksums, no index.
//
// Batches: one write() of the batch's bytes; fsync per batch = fdatasync
// after it. Single records: one write() per record. Reads: read() of 1 MiB
// (a whole number of records) at a time, records handed over in place.
// Handoff: the sender write()s; the receiver pread()s at its position,
// spinning until the file has grown (a file has no wake-up).
#include <fcntl.h>
#include <unistd.h>

#include "driver.hpp"

namespace {

using namespace peers;

// Reads whole records from fd at *pos into out: up to `max` records, as many
// as the file holds; returns how many.
std::size_t read_records(int fd, std::uint64_t* pos, std::size_t size, std::vector<std::byte>& buf, sink& out,
                         std::size_t max) {
  const std::size_t want = std::min(buf.size() / size, max) * size;
  ssize_t r;
  do {
    r = ::pread(fd, buf.data(), want, static_cast<off_t>(*pos));
  } while (r < 0 && errno == EINTR);
  if (r < 0) die("pread: %s", std::strerror(errno));
  const std::size_t n = static_cast<std::size_t>(r) / size;
  for (std::size_t k = 0; k < n; ++k) out(buf.data() + k * size, size);
  *pos += n * size;
  return n;
}

class raw_store final : public store {
 public:
  explicit raw_store(const open_params& p) : p_(p), path_(p.dir + "/raw.log") {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) die("open %s: %s", path_.c_str(), std::strerror(errno));
  }
  ~raw_store() override { close(); }
  void append_batch(std::uint64_t, const std::byte* recs, std::size_t count) override {
    write_all(fd_, reinterpret_cast<const char*>(recs), count * p_.record_bytes);
    if (p_.sync == durability::per_batch && ::fdatasync(fd_) != 0) die("fdatasync: %s", std::strerror(errno));
  }
  void append_one(std::uint64_t, const std::byte* rec) override {
    write_all(fd_, reinterpret_cast<const char*>(rec), p_.record_bytes);
  }
  void read_all(sink& out) override {
    std::vector<std::byte> buf(std::max<std::size_t>(1 << 20, p_.record_bytes));
    std::uint64_t pos = 0;
    while (read_records(fd_, &pos, p_.record_bytes, buf, out, SIZE_MAX) > 0) {
    }
  }
  void close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  open_params p_;
  std::string path_;
  int fd_ = -1;
};

class raw_handoff final : public handoff {
 public:
  explicit raw_handoff(const open_params& p) : w_(p), size_(p.record_bytes), buf_(std::max<std::size_t>(1 << 16, size_)) {
    rfd_ = ::open((p.dir + "/raw.log").c_str(), O_RDONLY | O_CLOEXEC);
    if (rfd_ < 0) die("open: %s", std::strerror(errno));
  }
  ~raw_handoff() override { close(); }
  void send(std::uint64_t seq, const std::byte* rec) override { w_.append_one(seq, rec); }
  std::size_t receive(sink& out, std::chrono::milliseconds wait) override {
    // Only whole records: a record the writer is part-way through stays.
    return spin_until(wait, [&] { return read_records(rfd_, &pos_, size_, buf_, out, SIZE_MAX); });
  }
  void close() override {
    w_.close();
    if (rfd_ >= 0) ::close(rfd_);
    rfd_ = -1;
  }

 private:
  raw_store w_;
  std::size_t size_;
  std::vector<std::byte> buf_;
  int rfd_ = -1;
  std::uint64_t pos_ = 0;
};

class raw_system final : public system {
 public:
  std::string name() const override { return "raw"; }
  std::string settings(durability d) const override {
    return d == durability::none ? "write() per batch (page cache)" : "write() + fdatasync() per batch";
  }
  std::unique_ptr<store> open(const open_params& p) override { return std::make_unique<raw_store>(p); }
  std::unique_ptr<handoff> open_handoff(const open_params& p) override { return std::make_unique<raw_handoff>(p); }
};

}  // namespace

int main(int argc, char** argv) {
  raw_system s;
  return peers::run(argc, argv, s);
}
