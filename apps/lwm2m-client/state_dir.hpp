// The state directory of lwm2m-client: every file is replaced atomically (store::write_file_atomic:
// temporary + fsync + rename + directory fsync), so a kill -9 at any moment leaves either the old
// or the new version of each file, never a mix; the next start continues from it.
//
//   accounts.bin    Objects 0 and 1 (client::encode_config; holds the keys: mode 0600)
//   engine.bin      registrations, attributes, observations, pending deadlines (no keys)
//   firmware.json   the Firmware Update state, result, package URI and the running version
//   firmware.bin    the last stored firmware package (firmware.part while it arrives)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/client/objects/firmware_update_object.hpp>

namespace lwm2m::app {

struct FirmwareRecord {
    client::FirmwareState state = client::FirmwareState::idle;
    client::UpdateResult result = client::UpdateResult::initial;
    std::string package_uri;
    std::string version; ///< the firmware version running (Device /3/0/3)
    friend bool operator==(const FirmwareRecord&, const FirmwareRecord&) = default;
};

class StateDir {
public:
    explicit StateDir(std::string path)
        : path_(std::move(path)) {}

    /// Creates the directory (mode 0700) when missing and removes temporaries of killed writers.
    /// Errors: errno codes (with the message logged by the caller).
    Result<void> open();
    /// Removes every file the client keeps (the directory stays).
    Result<void> wipe();

    [[nodiscard]] std::string file(const char* name) const { return path_ + "/" + name; }
    [[nodiscard]] const std::string& path() const { return path_; }

    /// Reads a file; the error is ENOENT when it does not exist yet.
    [[nodiscard]] Result<Bytes> read(const char* name, std::size_t max_size) const;
    /// Writes a file atomically unless it already holds exactly `data`.
    Result<void> write(const char* name, BytesView data);

    /// firmware.json; nullopt when missing or unreadable (logged by the caller as a fresh start).
    [[nodiscard]] std::optional<FirmwareRecord> read_firmware() const;
    Result<void> write_firmware(const FirmwareRecord& r);

private:
    std::string path_;
};

} // namespace lwm2m::app
