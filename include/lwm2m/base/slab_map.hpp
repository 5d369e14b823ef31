// SlabMap: a hash map for the per-peer tables of 10^5-10^6 entries (DTLS sessions, bound
// identities). The values live in a slab of fixed chunks (addresses never move, freed nodes are
// reused) and a SlotIndex (slot_index.hpp) maps the key's hash to the node. Against
// std::unordered_map: no allocation per entry, a lookup that misses touches one line of the
// 8-byte index instead of walking a bucket chain of other peers' cold nodes, and growing the
// index rehashes 8-byte entries, not every node. Only the subset of the unordered_map interface
// the tables use; find() returns a node pointer (end() is nullptr), valid until that entry is
// erased.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <lwm2m/base/slot_index.hpp>

namespace lwm2m {

template <class Key, class Value, class Hash>
class SlabMap {
public:
    struct Node {
        Key first{};
        Value second{};

    private:
        friend class SlabMap;
        std::uint32_t slot_ = 0;
    };
    using iterator = Node*;
    using const_iterator = const Node*;

    [[nodiscard]] Node* end() const noexcept { return nullptr; }

    [[nodiscard]] Node* find(const Key& k) noexcept {
        const auto s = index_.find(tag(k), [&](std::uint32_t o) { return node(o).first == k; });
        return s ? &node(*s) : nullptr;
    }
    [[nodiscard]] const Node* find(const Key& k) const noexcept {
        return const_cast<SlabMap*>(this)->find(k);
    }
    [[nodiscard]] bool contains(const Key& k) const noexcept { return find(k) != nullptr; }

    /// The node of `k`, default-constructed if new; true when new.
    std::pair<Node*, bool> try_emplace(const Key& k) {
        const std::uint32_t t = tag(k);
        if (auto s = index_.find(t, [&](std::uint32_t o) { return node(o).first == k; }))
            return {&node(*s), false};
        std::uint32_t s;
        if (!free_.empty()) {
            s = free_.back();
            free_.pop_back();
        } else {
            if (next_ == capacity_) {
                const std::size_t made = chunks_.size();
                const std::size_t n = made >= kSmall ? kChunk
                                      : made == 0    ? kFirst
                                                     : kFirst << (made - 1);
                chunks_.push_back(std::make_unique<Node[]>(n));
                capacity_ += n;
            }
            s = static_cast<std::uint32_t>(next_++);
        }
        Node& n = node(s);
        n.first = k;
        n.slot_ = s;
        index_.assign(t, s, [](std::uint32_t) { return false; }); // k is not in the index
        ++size_;
        return {&n, true};
    }
    std::pair<Node*, bool> emplace(const Key& k, Value v) {
        auto r = try_emplace(k);
        if (r.second) r.first->second = std::move(v);
        return r;
    }
    Value& operator[](const Key& k) { return try_emplace(k).first->second; }

    /// Destroys the entry's value at once (resets it) and frees its node for reuse.
    void erase(Node* n) {
        index_.erase(tag(n->first), n->slot_);
        n->second = Value{};
        n->first = Key{};
        free_.push_back(n->slot_);
        --size_;
    }
    std::size_t erase(const Key& k) {
        Node* n = find(k);
        if (n == nullptr) return 0;
        erase(n);
        return 1;
    }
    void clear() {
        index_ = SlotIndex{};
        chunks_.clear();
        free_.clear();
        next_ = 0;
        capacity_ = 0;
        size_ = 0;
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

private:
    // Chunks of 8, 8, 16, 32, 64 and 128 nodes, then 256 each: a table of a few entries (a
    // client's CoAP peers) costs a few nodes, not a whole 256-node chunk.
    static constexpr std::size_t kFirst = 8;
    static constexpr std::size_t kChunk = 256;
    static constexpr std::size_t kSmall = 6; ///< the chunks before the first full-size one
    static std::uint32_t tag(const Key& k) noexcept { return SlotIndex::tag_of(Hash{}(k)); }
    Node& node(std::uint32_t s) const noexcept {
        if (s >= kChunk) return chunks_[s / kChunk + kSmall - 1][s % kChunk];
        if (s < kFirst) return chunks_[0][s];
        const int w = std::bit_width(s); // s in [2^(w-1), 2^w): chunk w - 3
        return chunks_[static_cast<std::size_t>(w) - 3][s - (std::uint32_t{1} << (w - 1))];
    }

    std::vector<std::unique_ptr<Node[]>> chunks_;
    std::vector<std::uint32_t> free_;
    std::size_t next_ = 0;     ///< nodes handed out so far (free or live)
    std::size_t capacity_ = 0; ///< nodes in the chunks
    std::size_t size_ = 0;
    SlotIndex index_;
};

} // namespace lwm2m
