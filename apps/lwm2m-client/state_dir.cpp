#include "state_dir.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/atomic_file.hpp>

namespace lwm2m::app {
namespace {

constexpr const char* kept_files[] = {"accounts.bin", "engine.bin", "firmware.json", "firmware.bin",
                                      "firmware.part"};
constexpr std::size_t max_firmware_json = std::size_t{64} * 1024;

Error errno_error(int e) {
    return {e, std::system_category()};
}

} // namespace

Result<void> StateDir::open() {
    if (::mkdir(path_.c_str(), 0700) != 0 && errno != EEXIST) return fail(errno_error(errno));
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) return fail(errno_error(errno));
    if (!S_ISDIR(st.st_mode)) return fail(errno_error(ENOTDIR));
    for (const char* f : kept_files)
        store::remove_stale_temporaries(file(f));
    return ok();
}

Result<void> StateDir::wipe() {
    for (const char* f : kept_files)
        if (::unlink(file(f).c_str()) != 0 && errno != ENOENT) return fail(errno_error(errno));
    return ok();
}

Result<Bytes> StateDir::read(const char* name, std::size_t max_size) const {
    return store::read_file(file(name), max_size);
}

Result<void> StateDir::write(const char* name, BytesView data) {
    if (auto old = read(name, data.size() + 1);
        old && old->size() == data.size() && std::equal(old->begin(), old->end(), data.begin()))
        return ok();
    return store::write_file_atomic(file(name), data);
}

std::optional<FirmwareRecord> StateDir::read_firmware() const {
    auto bytes = read("firmware.json", max_firmware_json);
    if (!bytes) return std::nullopt;
    const auto* p = reinterpret_cast<const char*>(bytes->data());
    auto j = nlohmann::json::parse(p, p + bytes->size(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    // A damaged file (wrong types) is a fresh start, never an exception.
    const auto& state = j["state"];
    const auto& result = j["result"];
    const auto& uri = j["package_uri"];
    const auto& version = j["version"];
    if (!state.is_number_integer() || !result.is_number_integer() || !uri.is_string() ||
        !version.is_string())
        return std::nullopt;
    const auto s = state.get<std::int64_t>();
    const auto res = result.get<std::int64_t>();
    if (s < 0 || s > 3 || res < 0 || res > 11) return std::nullopt;
    FirmwareRecord r;
    r.state = static_cast<client::FirmwareState>(s);
    r.result = static_cast<client::UpdateResult>(res);
    r.package_uri = uri.get<std::string>();
    r.version = version.get<std::string>();
    return r;
}

Result<void> StateDir::write_firmware(const FirmwareRecord& r) {
    nlohmann::json j = {{"state", static_cast<int>(r.state)},
                        {"result", static_cast<int>(r.result)},
                        {"package_uri", r.package_uri},
                        {"version", r.version}};
    const std::string text = j.dump(2) + "\n";
    return write("firmware.json", to_bytes(text));
}

} // namespace lwm2m::app
