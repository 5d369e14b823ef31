// In-memory implementations of the server-side stores: tests, benchmarks and deployments that do
// not need durability across process restarts (the engine's durability protocol still runs: a
// commit here is immediate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <lwm2m/base/slot_index.hpp>
#include <lwm2m/store/event_log.hpp>
#include <lwm2m/store/registration_store.hpp>
#include <lwm2m/store/security_store.hpp>

namespace lwm2m::store {

namespace detail {
/// Heterogeneous string hashing, so string_view lookups do not build a std::string.
/// Deliberately not noexcept: libstdc++ then keeps each key's hash code in its node, so a lookup
/// walking a bucket chain compares the stored codes instead of comparing (and re-hashing, to
/// find the bucket's end) the other keys.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct StringEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, StringEq>;
} // namespace detail

/// Registrations in a slab of entries indexed by a flat hash index (no allocation per entry:
/// a replaced or re-used entry keeps its strings' storage), so committing 10^5 registrations
/// costs what the engine costs.
class MemoryRegistrationStore final : public RegistrationStore {
public:
    [[nodiscard]] Result<void> commit(std::span<const Change> batch) override;
    [[nodiscard]] Result<void>
    load(const std::function<void(RegistrationRecord&&)>& on_registration,
         const std::function<void(ObservationRecord&&)>& on_observation) const override;
    [[nodiscard]] Result<std::optional<RegistrationRecord>>
    find(std::string_view endpoint) const override;
    [[nodiscard]] Result<std::size_t> size() const override;

    /// Observations of one endpoint, in insertion order (tests, REST).
    [[nodiscard]] std::vector<ObservationRecord> observations(std::string_view endpoint) const;
    /// Number of successful commit() calls (tests check that commits are grouped).
    [[nodiscard]] std::uint64_t commits() const noexcept { return commits_; }
    /// Test hook: while set, commit() fails with this error and changes nothing.
    void fail_commits(std::optional<Error> error) { fail_ = error; }

private:
    struct Entry {
        bool used = false;
        RegistrationRecord record;
        std::vector<ObservationRecord> observations;
    };
    [[nodiscard]] std::optional<std::uint32_t> slot_of(std::string_view endpoint) const;
    [[nodiscard]] std::optional<std::uint32_t> slot_of(std::string_view endpoint,
                                                       std::uint32_t tag) const;
    std::vector<Entry> entries_;
    std::vector<std::uint32_t> tags_; ///< commit(): the batch's index tags (storage reused)
    std::vector<std::uint32_t> free_;
    SlotIndex index_;
    std::uint64_t commits_ = 0;
    std::optional<Error> fail_;
};

/// Credentials in chunks of records that never move, indexed by flat hash indexes (endpoint,
/// PSK identity, raw public key, certificate name): a look-up reads one index line and the
/// record, where chained hash maps read a bucket, the node before, the node, the key's own block
/// and then the record. Every DTLS handshake looks its PSK identity up and every Register its
/// endpoint, among 10^5 records in cold memory. The SQLite and Redis stores keep their cache in
/// one. A pointer returned stays valid until that endpoint's record is replaced or removed.
class MemorySecurityStore final : public SecurityStore {
public:
    [[nodiscard]] Result<void> put(SecurityInfo info, std::string* why = nullptr) override;
    [[nodiscard]] Result<bool> remove(std::string_view endpoint) override;
    [[nodiscard]] const SecurityInfo* find(std::string_view endpoint) const override;
    [[nodiscard]] const SecurityInfo* find_by_psk_identity(BytesView identity) const override;
    [[nodiscard]] const SecurityInfo* find_by_rpk(BytesView spki) const override;
    [[nodiscard]] const SecurityInfo* find_by_x509_cn(std::string_view common_name) const override;
    void for_each(const std::function<void(const SecurityInfo&)>& fn) const override;
    [[nodiscard]] std::size_t size() const override { return by_endpoint_.size(); }

private:
    static constexpr std::size_t kChunk = 256; ///< records per chunk
    /// Record `s`; a free one has an empty endpoint (validate() refuses that for a live one).
    [[nodiscard]] SecurityInfo& record(std::uint32_t s) const noexcept {
        return chunks_[s / kChunk][s % kChunk];
    }
    /// The record whose key is `k`; `key(info)` gives a record's key in that index, or nullopt
    /// when the record has none there (another mode).
    template <class Key>
    [[nodiscard]] std::optional<std::uint32_t> slot_in(const SlotIndex& index, std::string_view k,
                                                       Key key) const;
    template <class Key>
    [[nodiscard]] const SecurityInfo* find_in(const SlotIndex& index, std::string_view k,
                                              Key key) const;
    void index(std::uint32_t s);
    void unindex(std::uint32_t s);

    std::vector<std::unique_ptr<SecurityInfo[]>> chunks_;
    std::vector<std::uint32_t> free_;
    std::uint32_t next_ = 0; ///< records handed out so far (used or free)
    SlotIndex by_endpoint_;
    SlotIndex by_psk_identity_;
    SlotIndex by_rpk_; ///< key: the SPKI DER bytes
    SlotIndex by_cn_;
};

class MemoryEventLog final : public EventLog {
public:
    /// Keeps the newest `capacity` events (at least 1).
    explicit MemoryEventLog(std::size_t capacity = 100000);
    [[nodiscard]] Result<std::uint64_t> append(EventRecord event) override;
    [[nodiscard]] Result<std::vector<EventRecord>> read(const EventQuery& query) const override;
    [[nodiscard]] std::size_t size() const noexcept { return events_.size(); }

private:
    std::size_t capacity_;
    std::uint64_t next_seq_ = 1;
    std::deque<EventRecord> events_;
};

} // namespace lwm2m::store
