// franz — iterating batches and records out of bytes read from a log.
//
// batch_reader walks whole batches in a byte range, verifying each checksum
// as it goes. record_reader adds record decoding, transparent decompression
// and the skipping of records before the requested offset.
//
// Thread-safety: one thread per reader object. Lifetime: views returned by
// next() are valid until the next call on the same reader (records of a
// compressed batch live in the reader's buffer) and while the bytes read
// from the log are pinned (see log_read).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "franz/codec/codec.hpp"
#include "franz/error.hpp"
#include "franz/format/record_batch.hpp"

namespace franz {

class batch_reader {
 public:
  batch_reader() = default;
  // source/base_position only label errors ("file at byte N"); source must
  // outlive the reader (a log_read's source does: it pins its segment).
  explicit batch_reader(std::span<const std::byte> data, bool verify_checksums = true, std::string_view source = {},
                        std::uint64_t base_position = 0)
      : data_(data), verify_(verify_checksums), source_(source), base_pos_(base_position) {}

  // The next whole batch, or false at the end or on damage (see status()).
  bool next(batch_view& out) {
    if (pos_ >= data_.size() || !status_.ok()) return false;
    const auto p = format::probe_batch(data_.data() + pos_, data_.size() - pos_, verify_);
    if (p.kind != format::batch_probe::ok) {
      status_ = corrupt_at(pos_, p.kind == format::batch_probe::end ? "zeroed batch" : p.why);
      return false;
    }
    out = batch_view(data_.subspan(pos_, p.size));
    // Offsets are dense within a read: base_offset lies outside the
    // checksum, so continuity is what vouches for it.
    if (expected_ >= 0 && out.base_offset().value() != expected_) {
      status_ = corrupt_at(pos_, fmt::format("batch base offset {} where {} was expected", out.base_offset().value(),
                                             expected_));
      return false;
    }
    // next_offset() saturates at INT64_MAX: nothing may follow such a batch.
    if (ended_at_max_) {
      status_ = corrupt_at(pos_, "a batch after one that ends at the largest offset");
      return false;
    }
    ended_at_max_ = out.last_offset().value() == INT64_MAX;
    expected_ = out.next_offset().value();
    last_pos_ = pos_;
    pos_ += p.size;
    return true;
  }

  [[nodiscard]] const franz::status& status() const noexcept { return status_; }

  // Requires the first batch to start at `base` (later ones follow from
  // it). For readers that start at a position they have not walked to: a
  // batch's base offset lies outside its checksum.
  void expect(offset base) noexcept { expected_ = base.value(); }

  // CORRUPT_MESSAGE naming the source and the byte position of the batch
  // that starts at `at` in this reader's data (the last one next() returned:
  // last_position()).
  [[nodiscard]] error corrupt_at(std::size_t at, std::string_view why) const {
    return make_error(errc::corrupt_message,
                      fmt::format("{} at byte {}: {}", source_.empty() ? "batch data" : source_, base_pos_ + at, why));
  }
  // Where in data the batch next() returned last starts.
  [[nodiscard]] std::size_t last_position() const noexcept { return last_pos_; }

 private:
  std::span<const std::byte> data_;
  std::size_t pos_ = 0;
  std::size_t last_pos_ = 0;
  std::int64_t expected_ = -1;
  bool ended_at_max_ = false;
  bool verify_ = true;
  std::string_view source_;
  std::uint64_t base_pos_ = 0;
  franz::status status_;
};

class record_reader {
 public:
  record_reader() = default;
  // Records at offsets >= from in the batches of data.
  explicit record_reader(std::span<const std::byte> data, offset from = offset{0}, bool verify_checksums = true,
                         std::string_view source = {}, std::uint64_t base_position = 0)
      : batches_(data, verify_checksums, source, base_position), from_(from) {}

  void reset(std::span<const std::byte> data, offset from = offset{0}, bool verify_checksums = true,
             std::string_view source = {}, std::uint64_t base_position = 0) {
    batches_ = batch_reader(data, verify_checksums, source, base_position);
    from_ = from;
    dec_.reset();
    status_ = {};
  }

  // The next record, or false at the end or on damage (see status()).
  bool next(record_view& out) {
    while (true) {
      if (dec_) {
        if (dec_->next(out)) {
          if (out.off < from_) continue;
          return true;
        }
        if (dec_->failed()) {
          const std::int64_t base = batch_.base_offset().value();
          status_ = batches_.corrupt_at(batches_.last_position(),
                                        fmt::format("batch at offset {}: {}", base, dec_->why()));
          return false;
        }
        dec_.reset();
      }
      if (!status_.ok()) return false;
      if (!batches_.next(batch_)) {
        status_ = batches_.status();
        return false;
      }
      if (batch_.last_offset() < from_) continue;
      auto section = batch_.records_section();
      if (batch_.codec() != compression::none) {
        if (auto s = codec::decompress(batch_.codec(), section, buffer_); !s.ok()) {
          // Name the file and byte, keeping the codec's code (a codec
          // franz cannot decode is UNSUPPORTED_COMPRESSION_TYPE, not damage).
          auto e = batches_.corrupt_at(batches_.last_position(), s.error().message);
          e.code = s.code();
          status_ = std::move(e);
          return false;
        }
        section = buffer_;
      }
      dec_.emplace(batch_, section);
    }
  }

  // See batch_reader::expect.
  void expect(offset base) noexcept { batches_.expect(base); }

  // The batch the last record came from.
  [[nodiscard]] const batch_view& batch() const noexcept { return batch_; }
  [[nodiscard]] const franz::status& status() const noexcept { return status_; }

 private:
  batch_reader batches_;
  batch_view batch_;
  std::optional<record_decoder> dec_;
  std::vector<std::byte> buffer_;
  offset from_{0};
  franz::status status_;
};

}  // namespace franz
