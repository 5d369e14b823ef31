// SlotIndex: a flat open-addressing hash index from a key to a slot of the caller's own table
// (a slab of records). It stores only (32-bit hash tag, slot); the key itself is compared against
// the record the slot holds (the caller's `matches`), so the index costs 8 bytes per entry at
// load <= 1/2, allocates nothing per entry, and a lookup touches one table line and one record.
// Linear probing, tombstones, power-of-two capacity. Used by the server engine and the in-memory
// stores for their 10^5-entry tables (docs/server.md "State layout").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <lwm2m/base/prefetch.hpp>

namespace lwm2m {

class SlotIndex {
public:
    static constexpr std::uint32_t empty = 0;
    static constexpr std::uint32_t tombstone = 1;

    /// The tag of a full hash (never empty or tombstone).
    [[nodiscard]] static std::uint32_t tag_of(std::size_t hash) noexcept {
        auto t = static_cast<std::uint32_t>(hash ^ (hash >> 32));
        return t < 2 ? t + 2 : t;
    }

    /// The slot whose key has this tag and for which matches(slot) holds.
    template <class Matches>
    [[nodiscard]] std::optional<std::uint32_t> find(std::uint32_t tag, Matches&& matches) const {
        if (table_.empty()) return std::nullopt;
        const std::size_t mask = table_.size() - 1;
        for (std::size_t i = tag & mask;; i = (i + 1) & mask) {
            const Entry& e = table_[i];
            if (e.tag == empty) return std::nullopt;
            if (e.tag == tag && matches(e.slot)) return e.slot;
        }
    }

    /// Starts loading the table line where a look-up of `tag` begins, so that several look-ups
    /// of keys known in advance (one request's, one batch's) wait for memory together instead
    /// of one after the other: at 10^5 entries each first probe is a cache miss.
    void prefetch(std::uint32_t tag) const noexcept {
        if (!table_.empty()) prefetch_line(&table_[tag & (table_.size() - 1)]);
    }

    /// Points the key (tag + matches) at `slot`, replacing the slot it pointed at, if any.
    template <class Matches>
    void assign(std::uint32_t tag, std::uint32_t slot, Matches&& matches) {
        // Grow when live entries fill more than a quarter; otherwise only sweep the tombstones.
        // Either way at least capacity/4 inserts follow before the next rehash: a table kept
        // just below half full by erase + insert churn (a registration moving to a new
        // address) must not be rebuilt on every insert.
        if ((used_ + 1) * 2 > table_.size())
            rehash((live_ + 1) * 4 > table_.size() ? table_.size() * 2 : table_.size());
        const std::size_t mask = table_.size() - 1;
        std::size_t free = table_.size();
        for (std::size_t i = tag & mask;; i = (i + 1) & mask) {
            Entry& e = table_[i];
            if (e.tag == empty) {
                if (free == table_.size()) {
                    free = i;
                    ++used_;
                }
                break;
            }
            if (e.tag == tombstone) {
                if (free == table_.size()) free = i;
                continue;
            }
            if (e.tag == tag && matches(e.slot)) {
                e.slot = slot;
                return;
            }
        }
        table_[free] = Entry{tag, slot};
        ++live_;
    }

    /// Removes the entry (tag, slot) if present.
    void erase(std::uint32_t tag, std::uint32_t slot) {
        if (table_.empty()) return;
        const std::size_t mask = table_.size() - 1;
        for (std::size_t i = tag & mask;; i = (i + 1) & mask) {
            Entry& e = table_[i];
            if (e.tag == empty) return;
            if (e.tag == tag && e.slot == slot) {
                e.tag = tombstone;
                --live_;
                return;
            }
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return live_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return table_.size(); }
    /// Times the table was rebuilt (grown or swept of tombstones), for tests.
    [[nodiscard]] std::size_t rehashes() const noexcept { return rehashes_; }

    /// Every (tag, slot), in table order.
    template <class F>
    void for_each(F&& f) const {
        for (const auto& e : table_)
            if (e.tag >= 2) f(e.slot);
    }

private:
    struct Entry {
        std::uint32_t tag = empty;
        std::uint32_t slot = 0;
    };

    void rehash(std::size_t capacity) {
        if (capacity < 16) capacity = 16;
        ++rehashes_;
        std::vector<Entry> old(capacity);
        old.swap(table_);
        used_ = live_ = 0;
        const std::size_t mask = table_.size() - 1;
        for (const auto& e : old) {
            if (e.tag < 2) continue;
            std::size_t i = e.tag & mask;
            while (table_[i].tag != empty)
                i = (i + 1) & mask;
            table_[i] = e;
            ++used_;
            ++live_;
        }
    }

    std::vector<Entry> table_;
    std::size_t used_ = 0; ///< live + tombstones
    std::size_t live_ = 0;
    std::size_t rehashes_ = 0;
};

} // namespace lwm2m
