// franz — batch compression: zstd and lz4 over a whole records section.
//
// A compressed records section is [u32 LE uncompressed length][payload]:
// zstd payloads are one zstd frame, lz4 payloads one LZ4 block. The length
// prefix lets the decoder size its buffer exactly and refuse a section that
// claims more than format::max_uncompressed_records_bytes.
// Thread-safety: free functions, no shared state.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "franz/error.hpp"
#include "franz/format/record_batch.hpp"

namespace franz::codec {

// Upper bound of the compressed section size for n uncompressed bytes.
[[nodiscard]] std::size_t compressed_bound(compression c, std::size_t n) noexcept;

// Compresses src into dst (compressed_bound() bytes of room), prefix
// included. Returns the compressed section size.
[[nodiscard]] result<std::size_t> compress(compression c, std::span<const std::byte> src, std::byte* dst);

// Decompresses a compressed section into out (resized to fit).
// UNSUPPORTED_COMPRESSION_TYPE for a codec other than lz4 and zstd;
// CORRUPT_MESSAGE for a section shorter than its prefix, a stated length
// above max_uncompressed_records_bytes or beyond what the payload could
// expand to, a zstd payload that is not one frame or whose frame states
// another size, or a payload that does not decompress to exactly the
// stated length. Refusals before decompression leave out untouched, so a
// hostile length costs no allocation.
[[nodiscard]] status decompress(compression c, std::span<const std::byte> section, std::vector<std::byte>& out);

// "none", "lz4", "zstd" (Kafka's compression.type values; also "producer"
// is handled by callers).
[[nodiscard]] result<compression> parse_compression(std::string_view name);
[[nodiscard]] std::string_view compression_name(compression c) noexcept;

}  // namespace franz::codec
