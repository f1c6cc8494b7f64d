// franz — error names and construction.
#include "franz/error.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace franz {

std::string_view errc_name(errc c) noexcept {
  switch (c) {
    case errc::none: return "NONE";
    case errc::offset_out_of_range: return "OFFSET_OUT_OF_RANGE";
    case errc::corrupt_message: return "CORRUPT_MESSAGE";
    case errc::record_too_large: return "RECORD_TOO_LARGE";
    case errc::invalid_config: return "INVALID_CONFIG";
    case errc::invalid_record: return "INVALID_RECORD";
    case errc::invalid_timestamp: return "INVALID_TIMESTAMP";
    case errc::unsupported_compression_type: return "UNSUPPORTED_COMPRESSION_TYPE";
    case errc::kafka_storage_error: return "KAFKA_STORAGE_ERROR";
    case errc::out_of_space: return "OUT_OF_SPACE";
    case errc::log_offline: return "LOG_OFFLINE";
    case errc::log_dir_locked: return "LOG_DIR_LOCKED";
    case errc::invalid_log_dir: return "INVALID_LOG_DIR";
    case errc::foreign_file: return "FOREIGN_FILE";
    case errc::illegal_state: return "ILLEGAL_STATE";
    case errc::invalid_topic_exception: return "INVALID_TOPIC_EXCEPTION";
    case errc::topic_already_exists: return "TOPIC_ALREADY_EXISTS";
    case errc::unknown_topic_or_partition: return "UNKNOWN_TOPIC_OR_PARTITION";
    case errc::request_timed_out: return "REQUEST_TIMED_OUT";
    case errc::illegal_generation: return "ILLEGAL_GENERATION";
    case errc::rebalance_in_progress: return "REBALANCE_IN_PROGRESS";
    case errc::unknown_member_id: return "UNKNOWN_MEMBER_ID";
    case errc::invalid_partitions: return "INVALID_PARTITIONS";
    case errc::no_offset_for_partition: return "NO_OFFSET_FOR_PARTITION";
    case errc::wakeup: return "WAKEUP";
    case errc::invalid_group_id: return "INVALID_GROUP_ID";
    case errc::group_id_not_found: return "GROUP_ID_NOT_FOUND";
    case errc::non_empty_group: return "NON_EMPTY_GROUP";
    case errc::inconsistent_group_protocol: return "INCONSISTENT_GROUP_PROTOCOL";
    case errc::unreleased_instance_id: return "UNRELEASED_INSTANCE_ID";
    case errc::offset_metadata_too_large: return "OFFSET_METADATA_TOO_LARGE";
    case errc::invalid_regular_expression: return "INVALID_REGULAR_EXPRESSION";
  }
  return "UNKNOWN_SERVER_ERROR";
}

std::string error::to_string() const {
  if (sys_errno != 0) return fmt::format("{}: {} ({})", errc_name(code), message, std::strerror(sys_errno));
  return fmt::format("{}: {}", errc_name(code), message);
}

error make_error(errc code, std::string message, int sys_errno) {
  return error{code, sys_errno, std::move(message)};
}

error errno_error(int sys_errno, std::string_view what) {
  const errc c = (sys_errno == ENOSPC || sys_errno == EDQUOT || sys_errno == EFBIG) ? errc::out_of_space
                                                                                   : errc::kafka_storage_error;
  return error{c, sys_errno, std::string(what)};
}

}  // namespace franz
