// The messages lwm2m-server nodes exchange over Redis pub/sub (docs/cluster.md "Several
// nodes"): a REST device operation forwarded to the node that holds the device, its reply, and
// the REST events every node re-publishes to its own SSE subscribers.
//
// Binary, versioned: a version byte (1), a kind byte, then the fields in order (store::codec:
// LEB128 varints, strings as length + bytes). LwM2M content travels as its REST JSON text
// (http::content_to_json: typed, so no object model is needed to read it back), records one by
// one (path, type name, value JSON, optional time). Decoding is strict: a wrong version or kind, a
// truncated or over-long message, an unknown operation, event type or content format, a bad path or
// JSON is Errc::invalid_argument (the message is dropped and counted, never half-applied).
//
// Secrets: a forwarded request carries what the REST request carried (endpoint, paths, values,
// options); the nodes never put credentials (the SecurityStore's keys) in a message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

#include <lwm2m/base/result.hpp>
#include <lwm2m/http/api.hpp>
#include <lwm2m/http/events.hpp>
#include <lwm2m/http/message.hpp>

namespace lwm2m::app::cluster {

inline constexpr std::uint8_t version = 1;

enum class Kind : std::uint8_t {
    request = 1,
    reply = 2,
    event = 3,
    list_request = 4, ///< ListRequest (GET /api/clients across the nodes)
    list_reply = 5,   ///< ListReply
    remove = 6,       ///< RemoveRequest (DELETE /api/clients/{ep}); answered by a ForwardedReply
};

/// A device operation for the node that holds the device.
struct ForwardedRequest {
    std::uint64_t id = 0; ///< unique per asking node; the reply carries it back
    std::string from;     ///< the asking node's id (its channel gets the reply)
    http::DeviceRequest request;
};

/// The outcome of a ForwardedRequest, as the owner's engine produced it.
struct ForwardedReply {
    std::uint64_t id = 0;
    std::string from; ///< the node that executed it
    tl::expected<http::DeviceResponse, http::ApiError> outcome;
};

/// A REST event (SSE) published by node `from`.
struct ForwardedEvent {
    std::string from;
    http::Event event;
};

/// GET /api/clients asked of every live node: the node's own first `query.page.limit` matches
/// (offset 0 on the wire: the asker pages the merged list) and its total.
struct ListRequest {
    std::uint64_t id = 0;
    std::string from;
    http::ClientQuery query;
};

/// The answer to a ListRequest: the node's first matches in endpoint order, and its total.
struct ListReply {
    std::uint64_t id = 0;
    std::string from;
    http::ClientPage page; ///< only items and total travel
};

/// DELETE /api/clients/{ep} for the node holding the endpoint; the ForwardedReply carries an
/// empty DeviceResponse (removed) or the error (404 unknown_client).
struct RemoveRequest {
    std::uint64_t id = 0;
    std::string from;
    std::string endpoint;
};

using Message = std::variant<ForwardedRequest, ForwardedReply, ForwardedEvent, ListRequest,
                             ListReply, RemoveRequest>;

/// Upper bound of the items of one ListReply (and of a ListRequest's limit).
inline constexpr std::size_t max_list_items = 10000;

[[nodiscard]] std::string encode(const ForwardedRequest& m);
[[nodiscard]] std::string encode(const ForwardedReply& m);
[[nodiscard]] std::string encode(const ForwardedEvent& m);
[[nodiscard]] std::string encode(const ListRequest& m);
[[nodiscard]] std::string encode(const ListReply& m);
[[nodiscard]] std::string encode(const RemoveRequest& m);

/// Errors: lwm2m::Errc::invalid_argument (see above).
[[nodiscard]] Result<Message> decode(std::string_view data);

/// Merges the nodes' pages of GET /api/clients (each sorted by endpoint, as a node lists them)
/// into the page [offset, offset + limit) of the cluster's list. An endpoint listed by several
/// nodes (a takeover in progress) appears once: the entry with the latest last_update (on a tie,
/// the first list's). `duplicates` (if given) receives how many entries were dropped so.
[[nodiscard]] std::vector<http::ClientInfo>
merge_client_pages(std::vector<std::vector<http::ClientInfo>> lists, std::size_t offset,
                   std::size_t limit, std::size_t* duplicates = nullptr);

} // namespace lwm2m::app::cluster
