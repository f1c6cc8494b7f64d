// franz — zstd and lz4 codecs (see codec/codec.hpp).
#include "franz/codec/codec.hpp"

#include <lz4.h>
#include <zstd.h>

#include <fmt/format.h>

namespace franz::codec {

namespace {
// Level 1 (zstd) and the default LZ4 acceleration: franz compresses on the
// append path, where speed beats the last few percent of ratio.
constexpr int zstd_level = 1;

// The most a payload byte can expand to. LZ4: a match-length byte of 255
// adds 255 bytes of output, nothing adds more. zstd: a block yields at most
// ZSTD_BLOCKSIZE_MAX (128 KiB) and costs at least 4 bytes (an RLE block: a
// 3-byte header and the byte). A stated length beyond payload * ratio
// cannot be met, so it is refused before the buffer is allocated: without
// this, a 6-byte section claiming 256 MiB cost a 256 MiB allocation.
constexpr std::uint64_t lz4_max_ratio = 255;
constexpr std::uint64_t zstd_max_ratio = ZSTD_BLOCKSIZE_MAX / 4;
}  // namespace

std::size_t compressed_bound(compression c, std::size_t n) noexcept {
  switch (c) {
    case compression::zstd: return format::compressed_prefix_size + ZSTD_compressBound(n);
    case compression::lz4: return format::compressed_prefix_size + static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(n)));
    case compression::none: return n;
  }
  return n;
}

result<std::size_t> compress(compression c, std::span<const std::byte> src, std::byte* dst) {
  if (c != compression::zstd && c != compression::lz4)
    return make_error(errc::unsupported_compression_type, fmt::format("cannot compress with codec {}", static_cast<int>(c)));
  if (src.size() > format::max_uncompressed_records_bytes)
    return make_error(errc::record_too_large, fmt::format("{} bytes exceed the compressible maximum", src.size()));
  format::store_le(dst, static_cast<std::uint32_t>(src.size()));
  std::byte* out = dst + format::compressed_prefix_size;
  const std::size_t cap = compressed_bound(c, src.size()) - format::compressed_prefix_size;
  switch (c) {
    case compression::zstd: {
      const std::size_t n = ZSTD_compress(out, cap, src.data(), src.size(), zstd_level);
      if (ZSTD_isError(n)) return make_error(errc::invalid_record, fmt::format("zstd: {}", ZSTD_getErrorName(n)));
      return format::compressed_prefix_size + n;
    }
    case compression::lz4: {
      const int n = LZ4_compress_default(reinterpret_cast<const char*>(src.data()), reinterpret_cast<char*>(out),
                                         static_cast<int>(src.size()), static_cast<int>(cap));
      if (n <= 0) return make_error(errc::invalid_record, "lz4: compression failed");
      return format::compressed_prefix_size + static_cast<std::size_t>(n);
    }
    case compression::none: break;
  }
  return make_error(errc::unsupported_compression_type, "unreachable");
}

status decompress(compression c, std::span<const std::byte> section, std::vector<std::byte>& out) {
  // Everything a section can be refused for is checked before out grows.
  if (c != compression::zstd && c != compression::lz4)
    return make_error(errc::unsupported_compression_type, fmt::format("codec {}", static_cast<int>(c)));
  if (section.size() < format::compressed_prefix_size)
    return make_error(errc::corrupt_message, "compressed section shorter than its length prefix");
  const auto n = format::load_le<std::uint32_t>(section.data());
  if (n > format::max_uncompressed_records_bytes)
    return make_error(errc::corrupt_message, fmt::format("compressed section claims {} bytes", n));
  const auto payload = section.subspan(format::compressed_prefix_size);
  const std::uint64_t ratio = c == compression::zstd ? zstd_max_ratio : lz4_max_ratio;
  if (n > payload.size() * ratio)
    return make_error(errc::corrupt_message, fmt::format("compressed section claims {} bytes from a {}-byte {} payload",
                                                         n, payload.size(), compression_name(c)));
  if (c == compression::zstd) {
    // One frame (doc/format.md), and the size its header states, if it
    // states one, is the section's.
    const std::size_t frame = ZSTD_findFrameCompressedSize(payload.data(), payload.size());
    if (ZSTD_isError(frame) || frame != payload.size())
      return make_error(errc::corrupt_message, "zstd payload is not exactly one zstd frame");
    const unsigned long long stated = ZSTD_getFrameContentSize(payload.data(), payload.size());
    if (stated == ZSTD_CONTENTSIZE_ERROR || (stated != ZSTD_CONTENTSIZE_UNKNOWN && stated != n))
      return make_error(errc::corrupt_message, "zstd section does not decompress to its stated length");
  }
  out.resize(n);
  switch (c) {
    case compression::zstd: {
      const std::size_t got = ZSTD_decompress(out.data(), n, payload.data(), payload.size());
      if (ZSTD_isError(got) || got != n)
        return make_error(errc::corrupt_message, "zstd section does not decompress to its stated length");
      return {};
    }
    case compression::lz4: {
      const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(payload.data()), reinterpret_cast<char*>(out.data()),
                                          static_cast<int>(payload.size()), static_cast<int>(n));
      if (got < 0 || static_cast<std::uint32_t>(got) != n)
        return make_error(errc::corrupt_message, "lz4 section does not decompress to its stated length");
      return {};
    }
    case compression::none: break;
  }
  return make_error(errc::unsupported_compression_type, fmt::format("codec {}", static_cast<int>(c)));
}

result<compression> parse_compression(std::string_view name) {
  if (name == "none" || name == "uncompressed") return compression::none;
  if (name == "lz4") return compression::lz4;
  if (name == "zstd") return compression::zstd;
  return make_error(errc::invalid_config, fmt::format("compression.type '{}' is not one of none, lz4, zstd", name));
}

std::string_view compression_name(compression c) noexcept {
  switch (c) {
    case compression::none: return "none";
    case compression::lz4: return "lz4";
    case compression::zstd: return "zstd";
  }
  return "unknown";
}

}  // namespace franz::codec
