// The contracts between the client engine and the objects that need more than ObjectHandler:
// the Access Control Object (2) decides for the engine, the Firmware Update Object (5) asks the
// engine to download a package. The engine implements PackageFetcher; the objects implement
// AccessController and DownloadSink (include/lwm2m/client/objects/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/ids.hpp>
#include <lwm2m/client/access.hpp>
#include <lwm2m/client/object.hpp>
#include <lwm2m/dm/path.hpp>

namespace lwm2m::client {

/// Access control between several device-management servers (LwM2M TS 1.1 §7.3.2 and Appendix
/// E.3; TS 1.2 §7.3.2). The engine first applies the static policy access() (Object 0 is never
/// reachable by a DM server), then, when more than one DM server account exists, asks this.
class AccessController {
public:
    virtual ~AccessController() = default;
    /// Whether the DM server `ssid` may perform `op` on `path` (an object path for Create and for
    /// Discover/Read/Observe on a whole object; an instance or deeper path otherwise). Denials are
    /// 4.01 Unauthorized (TS 1.1 §7.3.2), or 4.04 when the target instance does not exist.
    [[nodiscard]] virtual Decision check(ShortServerId ssid, Operation op,
                                         const dm::Path& path) const = 0;
    /// A DM server created /oid/iid: create the matching Access Control instance (owner = creator,
    /// full rights for the owner) per TS 1.1 §E.3.
    virtual void on_instance_created(Oid oid, Iid iid, ShortServerId creator) = 0;
    /// /oid/iid was deleted (by any actor): remove its Access Control instance.
    virtual void on_instance_deleted(Oid oid, Iid iid) = 0;
};

/// Why a package download failed; maps to Firmware Update Result (Object 5 Resource 5) values.
enum class DownloadError : std::uint8_t {
    not_enough_storage,   ///< Update Result 2
    out_of_memory,        ///< Update Result 3
    connection_lost,      ///< Update Result 4 (timeout, reset, DTLS failure, 5.xx)
    invalid_uri,          ///< Update Result 7
    unsupported_protocol, ///< Update Result 9 (1.1: the URI scheme is not supported)
    not_found,            ///< Update Result 7 / 4 depending on the object version (4.04 answer)
    cancelled,            ///< the download was cancelled (no Update Result change)
};

/// Receives a package as it arrives (the engine may deliver it in one chunk or in several, in
/// order, offsets contiguous from 0).
class DownloadSink {
public:
    virtual ~DownloadSink() = default;
    /// `total` is the full size when the server announced it (Size2), else nullopt.
    virtual void on_download_chunk(std::size_t offset, BytesView data,
                                   std::optional<std::size_t> total) = 0;
    virtual void on_download_complete() = 0;
    virtual void on_download_failed(DownloadError error) = 0;
};

/// Implemented by the engine: fetches a package from a coap:// or coaps:// URI with Block2
/// (RFC 7959), for the Firmware Update Object's pull mode (TS 1.1 Appendix E.6). One download at
/// a time; the sink must outlive it (or cancel first).
class PackageFetcher {
public:
    virtual ~PackageFetcher() = default;
    /// Starts the download. Errors are reported through the sink (possibly before this returns:
    /// invalid_uri, unsupported_protocol).
    virtual void start_download(std::string_view uri, DownloadSink& sink) = 0;
    /// Stops a running download; the sink gets no further call.
    virtual void cancel_download() = 0;
};

} // namespace lwm2m::client
