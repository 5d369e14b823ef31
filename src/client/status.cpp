#include <lwm2m/client/status.hpp>

#include <string>

namespace lwm2m::client {
namespace {

class StatusCategory final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "lwm2m.client.status"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<Status>(ev)) {
        case Status::bad_request:
            return "4.00 Bad Request";
        case Status::unauthorized:
            return "4.01 Unauthorized";
        case Status::bad_option:
            return "4.02 Bad Option";
        case Status::forbidden:
            return "4.03 Forbidden";
        case Status::not_found:
            return "4.04 Not Found";
        case Status::method_not_allowed:
            return "4.05 Method Not Allowed";
        case Status::not_acceptable:
            return "4.06 Not Acceptable";
        case Status::request_entity_incomplete:
            return "4.08 Request Entity Incomplete";
        case Status::precondition_failed:
            return "4.12 Precondition Failed";
        case Status::request_entity_too_large:
            return "4.13 Request Entity Too Large";
        case Status::unsupported_content_format:
            return "4.15 Unsupported Content-Format";
        case Status::internal_server_error:
            return "5.00 Internal Server Error";
        case Status::not_implemented:
            return "5.01 Not Implemented";
        case Status::service_unavailable:
            return "5.03 Service Unavailable";
        }
        return "unknown status";
    }
};

class ClientCategory final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "lwm2m.client"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::config_bad_magic:
            return "client state: not a client state file (bad magic)";
        case Errc::config_bad_version:
            return "client state: unsupported format version";
        case Errc::config_truncated:
            return "client state: truncated";
        case Errc::config_bad_length:
            return "client state: invalid length or count field";
        case Errc::config_crc_mismatch:
            return "client state: CRC-32 mismatch (corrupted)";
        case Errc::config_bad_value:
            return "client state: a value violates the Object 0/1 rules";
        case Errc::config_inconsistent:
            return "client state: configuration is not consistent";
        case Errc::config_trailing_bytes:
            return "client state: trailing bytes after content";
        }
        return "client: unknown error";
    }
};

} // namespace

const std::error_category& status_category() noexcept {
    static const StatusCategory c;
    return c;
}
std::error_code make_error_code(Status s) noexcept {
    return {static_cast<int>(s), status_category()};
}

const std::error_category& client_category() noexcept {
    static const ClientCategory c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), client_category()};
}

std::string_view code_text(Status s) noexcept {
    switch (s) {
    case Status::bad_request:
        return "4.00";
    case Status::unauthorized:
        return "4.01";
    case Status::bad_option:
        return "4.02";
    case Status::forbidden:
        return "4.03";
    case Status::not_found:
        return "4.04";
    case Status::method_not_allowed:
        return "4.05";
    case Status::not_acceptable:
        return "4.06";
    case Status::request_entity_incomplete:
        return "4.08";
    case Status::precondition_failed:
        return "4.12";
    case Status::request_entity_too_large:
        return "4.13";
    case Status::unsupported_content_format:
        return "4.15";
    case Status::internal_server_error:
        return "5.00";
    case Status::not_implemented:
        return "5.01";
    case Status::service_unavailable:
        return "5.03";
    }
    return "5.00";
}

Status status_of(const std::error_code& e) noexcept {
    if (e.category() == status_category()) return static_cast<Status>(e.value());
    return Status::internal_server_error;
}

} // namespace lwm2m::client
