// franz dump — prints and verifies segment (.log) and index (.index,
// .timeindex) files, as Kafka's kafka-dump-log.sh does.
//
// Contract (doc/cli.md, "franz dump"):
// - Files are read directly and read-only: opened O_RDONLY, read with
//   pread (never mapped: an application may trim an active segment while it
//   is read, which would turn a mapping into SIGBUS), no lock taken. So it
//   works while an application has the data directory open. --data-dir is
//   not used.
// - .log: one line per batch. Every batch is checked the way recovery
//   checks it: format::probe_batch's structure rules, at least one record
//   and a timestamp, base offsets dense from the segment's base offset (the
//   file name). The checksum is verified in every mode (XXH3 is cheap; the
//   line shows isvalid). --deep-iteration also decompresses and decodes
//   every record (and checks the batch's max timestamp against them);
//   --print-data-log and --offsets-decoder imply it. A batch position whose
//   first bytes are zero is the end of the data (an active segment's
//   preallocated tail), not damage.
// - .index / .timeindex: one line per entry, each checked against the
//   sibling .log (see index_checker). An all-zero tail is preallocated
//   space, not entries. --verify-index-only prints only problems and a
//   summary per file (a .log is then verified without printing batches).
// - The first damage in a file is one line on stderr,
//   "franz dump: CORRUPT_MESSAGE: <file> at byte <n>: <why>". Dumping that
//   file stops; the other files are still dumped.
// - Exit codes: 2 (nothing dumped) without files, for a name that is not a
//   segment or index file, or for bad --max-bytes; otherwise the worst of
//   the files' outcomes: 4 damage > 3 a missing file > 1 another I/O error.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli.hpp"

namespace franz::cli {

namespace {

constexpr std::string_view command = "dump";

// What the flags ask for, resolved once.
struct dump_mode {
  bool quiet = false;           // --verify-index-only: only problems and summaries
  bool print_records = false;   // --print-data-log or --offsets-decoder
  bool decode = false;          // decode every record (--deep-iteration, or printing them)
  bool offsets = false;         // --offsets-decoder
  bool bar = false;             // a progress bar may be drawn (stdout is not the terminal it would garble)
  std::int64_t max_bytes = -1;  // whole batches within this many bytes of each log; -1: all
};

[[nodiscard]] error corrupt(std::string_view path, std::uint64_t pos, std::string_view why) {
  return make_error(errc::corrupt_message, fmt::format("{} at byte {}: {}", path, pos, why));
}

void emit(std::string_view s) { std::fwrite(s.data(), 1, s.size(), stdout); }

// "1 batch", "2 batches".
[[nodiscard]] std::string count_of(std::int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

[[nodiscard]] std::string base_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

[[nodiscard]] std::string dir_name(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  return slash == 0 ? "/" : std::string(path.substr(0, slash));
}

// --- reading ---------------------------------------------------------------------

// A file read through a window of preads. The size is taken at open; if
// the file shrinks meanwhile, reads just see less.
class file_reader {
 public:
  // A missing file is an error with sys_errno ENOENT and a plain message.
  [[nodiscard]] static result<file_reader> open(const std::string& path) {
    auto f = io::basic_file<io::posix_fs>::open(io::posix_fs::instance(), path, io::open_mode::read_only);
    if (!f) {
      if (f.error().sys_errno == ENOENT) return make_error(errc::kafka_storage_error, path + ": no such file", ENOENT);
      return std::move(f).error();
    }
    auto size = f->size();
    if (!size) return std::move(size).error();
    return file_reader(std::move(*f), *size);
  }

  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] const std::string& path() const noexcept { return file_.path(); }

  // Up to n bytes at pos (fewer at the end of the file). Valid until the
  // next call.
  [[nodiscard]] result<std::span<const std::byte>> read(std::uint64_t pos, std::size_t n) {
    if (pos >= size_) return std::span<const std::byte>{};
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - pos));
    if (pos < buf_pos_ || pos + n > buf_pos_ + len_) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(std::max(n, window), size_ - pos));
      if (buf_.size() < want) buf_.resize(want);
      auto got = file_.pread(buf_.data(), want, pos);
      if (!got) return std::move(got).error();
      buf_pos_ = pos;
      len_ = *got;
      if (len_ < want) size_ = pos + len_;  // trimmed under us
      n = std::min(n, len_);
    }
    return std::span<const std::byte>(buf_.data() + (pos - buf_pos_), n);
  }

 private:
  static constexpr std::size_t window = std::size_t{1} << 20;

  file_reader(io::basic_file<io::posix_fs> f, std::uint64_t size) : file_(std::move(f)), size_(size) {}

  io::basic_file<io::posix_fs> file_;
  std::uint64_t size_;
  std::vector<std::byte> buf_;
  std::uint64_t buf_pos_ = 0;
  std::size_t len_ = 0;
};

// One batch found by batch_walker.
struct found_batch {
  std::uint64_t pos = 0;
  format::batch_header h{};
  std::span<const std::byte> bytes;  // the whole batch; valid until the walker's next call

  [[nodiscard]] std::int64_t last_offset() const noexcept { return h.base_offset + h.last_offset_delta; }
};

// Walks the batches of a .log from byte 0 with recovery's checks, except
// the checksum (dumping verifies it, index checks do not need it). Stops at
// the end of the data, before a batch that would end past max_bytes, or at
// the first damage (problem()).
class batch_walker {
 public:
  enum class stop : std::uint8_t { none, end, max_bytes, problem };

  // base: the segment's base offset, which the first batch must have.
  batch_walker(file_reader& f, std::int64_t base, std::int64_t max_bytes, progress_bar* bar)
      : f_(f), expected_(base), max_bytes_(max_bytes), bar_(bar) {}

  bool next(found_batch& out) {
    if (stop_ != stop::none) return false;
    if (bar_ != nullptr) bar_->update(pos_);
    auto bytes = f_.read(pos_, format::batch_header_size);
    if (!bytes) return fail(std::move(bytes).error());
    const std::size_t declared = declared_size(*bytes);
    // --max-bytes: only whole batches within the limit are looked at.
    if (max_bytes_ >= 0 && pos_ + std::max<std::size_t>(declared, 1) > static_cast<std::uint64_t>(max_bytes_))
      return halt(stop::max_bytes);
    if (declared > bytes->size()) {
      bytes = f_.read(pos_, declared);  // fewer at the end of the file: probe_batch says incomplete
      if (!bytes) return fail(std::move(bytes).error());
    }
    const auto p = format::probe_batch(bytes->data(), bytes->size(), /*verify_checksum=*/false);
    if (p.kind == format::batch_probe::end) return halt(stop::end);
    if (p.kind != format::batch_probe::ok) return damage(p.why);
    const auto h = format::read_header(bytes->data());
    // base_offset is outside the checksum: continuity is what vouches for it.
    if (h.base_offset != expected_)
      return damage(fmt::format("batch base offset {} where {} was expected (offsets must be dense)", h.base_offset,
                                expected_));
    if (const char* why = format::stored_batch_problem(h)) return damage(why);
    out = {pos_, h, bytes->first(p.size)};
    pos_ += p.size;
    expected_ = out.last_offset() + 1;
    return true;
  }

  [[nodiscard]] stop stopped() const noexcept { return stop_; }
  // The damage or I/O error that stopped the walk.
  [[nodiscard]] const std::optional<error>& problem() const noexcept { return problem_; }
  // Where the walk is: after the last batch returned.
  [[nodiscard]] std::uint64_t position() const noexcept { return pos_; }

 private:
  // The size a header claims, or what is there when it claims nothing sane
  // (probe_batch then tells end from damage).
  static std::size_t declared_size(std::span<const std::byte> head) noexcept {
    if (head.size() < format::log_overhead) return head.size();
    const auto len = format::load_le<std::int32_t>(head.data() + offsetof(format::batch_header, batch_length));
    if (len < static_cast<std::int32_t>(format::batch_header_size - format::log_overhead)) return head.size();
    return format::log_overhead + static_cast<std::size_t>(len);
  }
  bool halt(stop s) {
    stop_ = s;
    return false;
  }
  bool fail(error e) {
    problem_ = std::move(e);
    return halt(stop::problem);
  }
  bool damage(std::string_view why) { return fail(corrupt(f_.path(), pos_, why)); }

  file_reader& f_;
  std::int64_t expected_;
  std::int64_t max_bytes_;
  progress_bar* bar_;
  std::uint64_t pos_ = 0;
  stop stop_ = stop::none;
  std::optional<error> problem_;
};

// A progress bar over a file when the mode allows one (it draws only when
// stderr is a terminal).
std::unique_ptr<progress_bar> bar_for(const dump_mode& m, std::string_view verb, const std::string& path,
                                      std::uint64_t total) {
  if (!m.bar) return nullptr;
  return std::make_unique<progress_bar>(fmt::format("{} {}", verb, base_name(path)), total);
}

// --- printing ----------------------------------------------------------------------

// Appends b as text: printable ASCII and well-formed UTF-8 as they are,
// everything else escaped (\n \r \t \\ and \xNN), so a line stays one line
// and control bytes never reach the terminal. A null b prints "null".
void append_text(std::string& out, bytes_view b) {
  if (b.data() == nullptr) {
    out += "null";
    return;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  const std::size_t n = b.size();
  // A well-formed UTF-8 character, unless it is a C1 control (U+0080-U+009F).
  auto utf8_len = [&](std::size_t i) -> std::size_t {
    if (p[i] == 0xc2 && i + 1 < n && p[i + 1] < 0xa0) return 0;
    return utf8_sequence_length(b, i);
  };
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (const std::size_t len = c >= 0x80 ? utf8_len(i) : 0; len > 0) {
      out.append(b.data() + i, len);
      i += len;
      continue;
    } else {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    }
    ++i;
  }
}

[[nodiscard]] std::string_view codec_name(std::uint16_t attributes) noexcept {
  switch (attributes & format::attr_compression_mask) {
    case 0: return "none";
    case 1: return "gzip";
    case 2: return "snappy";
    case 3: return "lz4";
    case 4: return "zstd";
    default: return "unknown";
  }
}

[[nodiscard]] std::string_view ts_label(std::uint16_t attributes) noexcept {
  return (attributes & format::attr_timestamp_type) ? "LogAppendTime" : "CreateTime";
}

[[nodiscard]] std::string batch_line(const found_batch& b, bool valid) {
  const auto& h = b.h;
  return fmt::format(
      "baseOffset: {} lastOffset: {} count: {} position: {} {}: {} size: {} magic: {} compresscodec: {} "
      "crc: 0x{:016x} isvalid: {} producerId: {} producerEpoch: {} baseSequence: {} isTransactional: {} "
      "isControl: {}\n",
      h.base_offset, b.last_offset(), h.record_count, b.pos, ts_label(h.attributes), h.max_timestamp, b.bytes.size(),
      h.magic, codec_name(h.attributes), h.checksum, valid, h.producer_id, h.producer_epoch, h.base_sequence,
      (h.attributes & format::attr_transactional) != 0, (h.attributes & format::attr_control) != 0);
}

[[nodiscard]] std::int64_t size_of(bytes_view b) noexcept {
  return b.data() == nullptr ? -1 : static_cast<std::int64_t>(b.size());
}

// A __consumer_offsets key and value as text, or an error if they do not
// decode (format/offsets_record.hpp).
[[nodiscard]] result<std::string> offsets_text(const record_view& r) {
  if (r.key.data() == nullptr) return make_error(errc::corrupt_message, "__consumer_offsets record without a key");
  auto version = format::offsets_key_version(r.key);
  if (!version) return std::move(version).error();
  if (*version == format::group_key_version) return std::string("key: group metadata (version 2) payload: not decoded");
  auto k = format::decode_offset_key(r.key);
  if (!k) return std::move(k).error();
  std::string s = "key: group=";
  append_text(s, k->group);
  s += " topic=";
  append_text(s, k->topic);
  fmt::format_to(std::back_inserter(s), " partition={} payload: ", k->partition);
  if (r.value.data() == nullptr) return s + "tombstone (the commit is deleted)";
  auto v = format::decode_offset_value(r.value);
  if (!v) return std::move(v).error();
  fmt::format_to(std::back_inserter(s), "offset={} metadata=", v->offset);
  append_text(s, v->metadata);
  fmt::format_to(std::back_inserter(s), " commitTime={}", v->commit_timestamp);
  return s;
}

// --- .log files --------------------------------------------------------------------

// Dumps one .log file (see the file comment).
class log_dumper {
 public:
  log_dumper(std::string path, std::int64_t base, const dump_mode& m) : path_(std::move(path)), base_(base), m_(m) {
    // Only records of a __consumer_offsets partition must decode as
    // commits; elsewhere --offsets-decoder is a mistake, not damage.
    const std::string dir_base = base_name(dir_name(path_));
    const auto dir = format::parse_data_entry(dir_base);  // views dir_base
    offsets_partition_ = dir.kind == format::data_entry_kind::partition && dir.topic == offsets_topic;
  }

  [[nodiscard]] status run() {
    auto f = file_reader::open(path_);
    if (!f) return std::move(f).error();
    if (!m_.quiet) emit(fmt::format("Dumping {}\nSegment base offset: {}\n", path_, base_));
    auto bar = bar_for(m_, "dump", path_, f->size());
    batch_walker w(*f, base_, m_.max_bytes, bar.get());
    found_batch b;
    while (w.next(b)) FRANZ_TRY(check_batch(b));
    if (bar) bar->finish();
    if (w.problem()) return *w.problem();
    print_summary(w, f->size());
    return {};
  }

 private:
  // Verifies the checksum, prints the batch line and (if asked) decodes and
  // prints the records.
  [[nodiscard]] status check_batch(const found_batch& b) {
    const bool valid = format::checksum_of(b.bytes.data(), b.bytes.size()) == b.h.checksum;
    if (!m_.quiet) emit(batch_line(b, valid));
    if (!valid) return corrupt(path_, b.pos, "checksum mismatch");
    ++batches_;
    records_ += b.h.record_count;
    if (first_ < 0) first_ = b.h.base_offset;
    last_ = b.last_offset();
    return m_.decode ? decode_records(b) : status{};
  }

  [[nodiscard]] status decode_records(const found_batch& b) {
    const batch_view v(b.bytes);
    auto section = v.records_section();
    if (v.codec() != compression::none) {
      if (auto s = codec::decompress(v.codec(), section, buffer_); !s.ok())
        return corrupt(path_, b.pos,
                       fmt::format("{} records section: {}", codec_name(b.h.attributes), s.error().message));
      section = buffer_;
    }
    record_decoder dec(v, section);
    record_view r;
    std::int64_t max_ts = -1;
    while (dec.next(r)) {
      max_ts = std::max(max_ts, r.ts.value());
      if (m_.print_records) FRANZ_TRY(print_record(b, r));
    }
    if (dec.failed()) return corrupt(path_, b.pos, fmt::format("a record does not decode: {}", dec.why()));
    // The time index and retention trust max_timestamp; under CreateTime it
    // must be the largest record timestamp (as log::append_batch requires).
    if (v.ts_type() == timestamp_type::create_time && max_ts != b.h.max_timestamp)
      return corrupt(path_, b.pos,
                     fmt::format("max timestamp {} is not the largest record timestamp {}", b.h.max_timestamp, max_ts));
    return {};
  }

  [[nodiscard]] status print_record(const found_batch& b, const record_view& r) {
    line_.clear();
    fmt::format_to(std::back_inserter(line_), "| offset: {} {}: {} keySize: {} valueSize: {} headerKeys: [",
                   r.off.value(), ts_label(b.h.attributes), r.ts.value(), size_of(r.key), size_of(r.value));
    header_iterator it(r);
    record_header h;
    for (bool first = true; it.next(h); first = false) {
      if (!first) line_ += ',';
      append_text(line_, h.key);
    }
    line_ += "] ";
    if (m_.offsets) {
      auto text = offsets_text(r);
      if (!text && offsets_partition_)
        return corrupt(path_, b.pos, fmt::format("offset {}: {}", r.off.value(), text.error().message));
      if (text) line_ += *text;
      else append_key_value(r, text.error().message);
    } else {
      append_key_value(r, {});
    }
    line_ += '\n';
    emit(line_);
    return {};
  }

  void append_key_value(const record_view& r, std::string_view not_offsets) {
    if (!not_offsets.empty()) fmt::format_to(std::back_inserter(line_), "(not a committed offset: {}) ", not_offsets);
    line_ += "key: ";
    append_text(line_, r.key);
    line_ += " payload: ";
    append_text(line_, r.value);
  }

  void print_summary(const batch_walker& w, std::uint64_t file_size) {
    const std::uint64_t end = w.position();
    const std::string what =
        batches_ == 0 ? fmt::format("0 batches, {} bytes of data", end)
                      : fmt::format("{}, {}, offsets {} to {}, {} bytes of data", count_of(batches_, "batch", "batches"),
                                    count_of(records_, "record", "records"), first_, last_, end);
    if (m_.quiet) {
      emit(fmt::format("{}: {}\n", path_, what));
      return;
    }
    if (w.stopped() == batch_walker::stop::max_bytes)
      emit(fmt::format("Stopped at byte {}: --max-bytes {}\n", end, m_.max_bytes));
    else if (end < file_size)
      emit(fmt::format("End of data at byte {}; the file's remaining {} bytes are preallocated space\n", end,
                       file_size - end));
    emit(fmt::format("Summary: {}\n", what));
  }

  std::string path_;
  std::int64_t base_;
  const dump_mode& m_;
  bool offsets_partition_ = false;
  std::vector<std::byte> buffer_;  // decompressed records
  std::string line_;
  std::int64_t batches_ = 0, records_ = 0, first_ = -1, last_ = -1;
};

// --- .index and .timeindex files -----------------------------------------------

// Checks (and unless quiet prints) the entries of one index against its
// sibling .log, walking both in step: entries are sorted, so one pass over
// the log suffices and nothing is held in memory per batch.
//
// An offset-index entry (R, P) must name a batch start P whose base offset
// is base + R (the writer indexes a batch by its first offset); R strictly
// increases, P never decreases. A time-index entry (T, R) must name the
// last offset of a batch (the writer stores the offset just before the
// batch it indexes, or the segment's last offset when sealing), and every
// record up to it must have a timestamp <= T (what lookups rely on); T
// strictly increases, R never decreases.
class index_checker {
 public:
  index_checker(std::string path, format::file_kind kind, std::int64_t base, const dump_mode& m)
      : path_(std::move(path)),
        log_path_(dir_name(path_) + "/" + format::segment_file(base, format::log_suffix)),
        kind_(kind),
        base_(base),
        entry_size_(kind == format::file_kind::index ? format::offset_entry::size : format::time_entry::size),
        m_(m) {}

  [[nodiscard]] status run() {
    auto idx = file_reader::open(path_);
    if (!idx) return std::move(idx).error();
    // Index files are small (segment.index.bytes, 10 MiB by default).
    auto bytes = idx->read(0, static_cast<std::size_t>(idx->size()));
    if (!bytes) return std::move(bytes).error();
    FRANZ_ASSIGN_OR_RETURN(const std::size_t n, count_entries(*bytes));
    auto log = file_reader::open(log_path_);
    if (!log) return std::move(log).error();
    if (!m_.quiet) emit(fmt::format("Dumping {}\n", path_));
    auto bar = bar_for(m_, "verify", path_, log->size());
    walker_.emplace(*log, base_, -1, bar.get());
    for (std::size_t i = 0; i < n; ++i) FRANZ_TRY(check_entry(*bytes, i));
    if (bar) bar->finish();
    print_summary(n, bytes->size());
    return {};
  }

 private:
  // Whole entries before the zero-filled tail an active segment's index is
  // preallocated with. An all-zero entry is taken as preallocation: an
  // offset-index entry never has position 0 (the first batch needs none),
  // and a time-index entry (0, 0) would need records timestamped 0.
  // Trailing bytes short of an entry must be zero as well.
  [[nodiscard]] result<std::size_t> count_entries(std::span<const std::byte> bytes) const {
    const std::size_t whole = bytes.size() / entry_size_;
    for (std::size_t i = whole * entry_size_; i < bytes.size(); ++i)
      if (bytes[i] != std::byte{0})
        return corrupt(path_, whole * entry_size_, "a partial entry at the end of the file");
    std::size_t n = whole;
    while (n > 0 && is_zero(bytes.subspan((n - 1) * entry_size_, entry_size_))) --n;
    return n;
  }

  static bool is_zero(std::span<const std::byte> b) noexcept {
    return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
  }

  [[nodiscard]] status check_entry(std::span<const std::byte> bytes, std::size_t i) {
    const std::byte* p = bytes.data() + i * entry_size_;
    if (kind_ == format::file_kind::index) {
      const auto e = format::offset_entry::load(p);
      const auto prev = i > 0 ? std::optional(format::offset_entry::load(p - entry_size_)) : std::nullopt;
      if (!m_.quiet) emit(fmt::format("offset: {} position: {}\n", base_ + e.relative_offset, e.position));
      return check_offset_entry(i, e, prev);
    }
    const auto e = format::time_entry::load(p);
    const auto prev = i > 0 ? std::optional(format::time_entry::load(p - entry_size_)) : std::nullopt;
    if (!m_.quiet) emit(fmt::format("timestamp: {} offset: {}\n", e.timestamp, base_ + e.relative_offset));
    return check_time_entry(i, e, prev);
  }

  [[nodiscard]] status check_offset_entry(std::size_t i, format::offset_entry e,
                                          const std::optional<format::offset_entry>& prev) {
    const std::int64_t off = base_ + e.relative_offset;
    if (prev && e.relative_offset <= prev->relative_offset)
      return bad(i, fmt::format("offset {} does not increase (the previous entry has {})", off,
                                base_ + prev->relative_offset));
    if (prev && e.position < prev->position)
      return bad(i, fmt::format("position {} decreases (the previous entry has {})", e.position, prev->position));
    FRANZ_ASSIGN_OR_RETURN(const bool found, advance([&](const found_batch& b) { return b.pos >= e.position; }));
    if (!found)
      return bad(i, fmt::format("position {} is past the end of the log data ({} bytes in {})", e.position,
                                walker_->position(), base_name(log_path_)));
    if (cur_.pos != e.position)
      return bad(i, fmt::format("position {} is not at a batch boundary of {} (the next batch starts at byte {})",
                                e.position, base_name(log_path_), cur_.pos));
    if (cur_.h.base_offset != off)
      return bad(i, fmt::format("offset {} is not the first offset of the batch at position {} (offsets {} to {})",
                                off, e.position, cur_.h.base_offset, cur_.last_offset()));
    return {};
  }

  [[nodiscard]] status check_time_entry(std::size_t i, format::time_entry e,
                                        const std::optional<format::time_entry>& prev) {
    const std::int64_t off = base_ + e.relative_offset;
    if (prev && e.timestamp <= prev->timestamp)
      return bad(i, fmt::format("timestamp {} does not increase (the previous entry has {})", e.timestamp,
                                prev->timestamp));
    if (prev && e.relative_offset < prev->relative_offset)
      return bad(i, fmt::format("offset {} decreases (the previous entry has {})", off, base_ + prev->relative_offset));
    FRANZ_ASSIGN_OR_RETURN(const bool found, advance([&](const found_batch& b) { return b.last_offset() >= off; }));
    if (!found && !have_)
      return bad(i, fmt::format("offset {} is outside the segment ({} holds no batches)", off, base_name(log_path_)));
    if (!found)
      return bad(i, fmt::format("offset {} is outside the segment ({} holds offsets {} to {})", off,
                                base_name(log_path_), base_, cur_.last_offset()));
    if (cur_.last_offset() != off)
      return bad(i, fmt::format("offset {} is not the last offset of a batch (the batch at position {} holds {} to {})",
                                off, cur_.pos, cur_.h.base_offset, cur_.last_offset()));
    if (e.timestamp < max_ts_)
      return bad(i, fmt::format("timestamp {} is below the largest timestamp {} at or before offset {}", e.timestamp,
                                max_ts_, off));
    return {};
  }

  // Walks the log to the first batch for which done(batch) holds; false if
  // the data ends first. Damage in the log is reported against the log.
  template <class Done>
  [[nodiscard]] result<bool> advance(Done done) {
    while (!have_ || !done(cur_)) {
      if (!walker_->next(cur_)) {
        if (walker_->problem()) return *walker_->problem();
        return false;
      }
      have_ = true;
      max_ts_ = std::max(max_ts_, cur_.h.max_timestamp);
    }
    return true;
  }

  [[nodiscard]] error bad(std::size_t i, std::string_view why) const {
    return corrupt(path_, i * entry_size_, fmt::format("entry {}: {}", i, why));
  }

  void print_summary(std::size_t n, std::size_t file_bytes) const {
    const std::size_t tail = file_bytes - n * entry_size_;
    const std::string what = fmt::format("{}, consistent with {}{}",
                                         count_of(static_cast<std::int64_t>(n), "entry", "entries"),
                                         base_name(log_path_),
                                         tail > 0 ? fmt::format("; {} bytes of preallocated space", tail) : "");
    emit(m_.quiet ? fmt::format("{}: {}\n", path_, what) : fmt::format("Summary: {}\n", what));
  }

  std::string path_, log_path_;
  format::file_kind kind_;
  std::int64_t base_;
  std::size_t entry_size_;
  const dump_mode& m_;
  std::optional<batch_walker> walker_;
  found_batch cur_;           // the batch the walk is at
  bool have_ = false;         // cur_ holds a batch
  std::int64_t max_ts_ = -1;  // largest batch timestamp up to and including cur_
};

// --- the command -------------------------------------------------------------------

struct target {
  std::string path;
  format::parsed_name name;
};

// The file's kind from its name, or a usage error.
[[nodiscard]] std::optional<target> classify(const std::string& path) {
  const std::string name = base_name(path);
  const auto parsed = format::parse_file_name(name);
  switch (parsed.kind) {
    case format::file_kind::log:
    case format::file_kind::index:
    case format::file_kind::time_index: break;
    default: {
      const bool ours = name.ends_with(format::log_suffix) || name.ends_with(format::index_suffix) ||
                        name.ends_with(format::time_index_suffix);
      report(command, exit_usage,
             ours ? fmt::format("{}: not a segment file name (20 digits of base offset, then .log, .index or "
                                ".timeindex)",
                                path)
                  : fmt::format("{}: unknown file type (expected .log, .index or .timeindex)", path));
      return std::nullopt;
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    report(command, exit_usage, fmt::format("{}: not a regular file", path));
    return std::nullopt;
  }
  return target{path, parsed};
}

// 4 (damage) > 3 (missing) > 1 (other failures) > 0.
[[nodiscard]] int worse(int a, int b) noexcept {
  auto rank = [](int c) { return c == exit_corrupt ? 3 : c == exit_not_found ? 2 : c != exit_ok ? 1 : 0; };
  return rank(b) > rank(a) ? b : a;
}

[[nodiscard]] int dump_one(const target& t, const dump_mode& m) {
  const status s = t.name.kind == format::file_kind::log
                       ? log_dumper(t.path, t.name.base_offset, m).run()
                       : index_checker(t.path, t.name.kind, t.name.base_offset, m).run();
  if (s.ok()) return exit_ok;
  std::fflush(stdout);  // what was printed before the problem comes first
  if (s.error().sys_errno == ENOENT) return report(command, exit_not_found, s.error().message);
  return report(command, s.error());
}

}  // namespace

int run_dump(const context&, const dump_args& a) {
  if (a.files.empty())
    return report(command, exit_usage,
                  "no files given: name .log, .index or .timeindex files of a partition directory");
  if (a.max_bytes < -1) return report(command, exit_usage, "--max-bytes must be >= 0 (or -1: no limit)");
  std::vector<target> targets;
  for (const auto& f : a.files) {
    auto t = classify(f);
    if (!t) return exit_usage;
    targets.push_back(std::move(*t));
  }
  dump_mode m;
  m.quiet = a.verify_index_only;
  m.offsets = a.offsets_decoder;
  m.print_records = (a.print_data_log || a.offsets_decoder) && !m.quiet;
  m.decode = a.deep_iteration || m.print_records;
  m.max_bytes = a.max_bytes;
  // Batch lines on the same terminal would be garbled by the bar's redraws.
  m.bar = m.quiet || ::isatty(STDOUT_FILENO) != 1;
  int rc = exit_ok;
  for (const auto& t : targets) rc = worse(rc, dump_one(t, m));
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0)
    rc = worse(rc, report(command, exit_failed, "writing to stdout failed"));
  return rc;
}

}  // namespace franz::cli
