// franz — Kafka's log model as an embeddable C++20 library. Umbrella header.
#pragma once

#include "franz/error.hpp"
#include "franz/types.hpp"
#include "franz/format/record_batch.hpp"
#include "franz/format/checkpoint.hpp"
#include "franz/format/file_names.hpp"
#include "franz/format/index_entry.hpp"
#include "franz/io/posix_fs.hpp"
#include "franz/io/file.hpp"
#include "franz/codec/codec.hpp"
#include "franz/storage/config.hpp"
#include "franz/storage/index.hpp"
#include "franz/storage/segment.hpp"
#include "franz/storage/reader.hpp"
#include "franz/storage/log.hpp"
