// Object and resource definitions (LwM2M TS Core Appendix D / DDF, OMA LWM2M.xsd).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <lwm2m/dm/def_text.hpp>
#include <lwm2m/dm/value.hpp>

namespace lwm2m::dm {

enum class Operations : std::uint8_t { none = 0, r, w, rw, e };

struct ResourceDef {
    std::uint16_t id = 0;
    DefText name;
    Operations operations = Operations::none;
    bool multiple = false;
    bool mandatory = false;
    DataType type = DataType::none;
    DefText range_enumeration; ///< as written in the definition, e.g. "0-255", "1..65534", ""
    DefText units;
    DefText description;

    [[nodiscard]] bool readable() const {
        return operations == Operations::r || operations == Operations::rw;
    }
    [[nodiscard]] bool writable() const {
        return operations == Operations::w || operations == Operations::rw;
    }
    [[nodiscard]] bool executable() const { return operations == Operations::e; }
    friend bool operator==(const ResourceDef&, const ResourceDef&) = default;
};

/// The resources of an object definition: a view of a constant table (the built-in definitions,
/// no heap) or an owned vector (DDF files, hand-built definitions). Reading never copies; the
/// first modification of a table view (push_back, non-const iteration) copies it into the vector.
class ResourceList {
public:
    using value_type = ResourceDef;
    using size_type = std::size_t;
    using iterator = ResourceDef*;
    using const_iterator = const ResourceDef*;
    using reference = ResourceDef&;
    using const_reference = const ResourceDef&;

    ResourceList() = default;
    ResourceList(std::initializer_list<ResourceDef> l)
        : own_(l) {}
    ResourceList(std::vector<ResourceDef> v) // NOLINT(google-explicit-constructor)
        : own_(std::move(v)) {}
    /// A table of static storage duration (never copied, never freed).
    static ResourceList from_static(std::span<const ResourceDef> table) noexcept {
        ResourceList r;
        r.table_ = table.data();
        r.table_size_ = table.size();
        return r;
    }

    [[nodiscard]] const ResourceDef* data() const noexcept {
        return table_ != nullptr ? table_ : own_.data();
    }
    [[nodiscard]] std::size_t size() const noexcept {
        return table_ != nullptr ? table_size_ : own_.size();
    }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    /// True when the resources are a view of a constant table (no heap).
    [[nodiscard]] bool is_static() const noexcept { return table_ != nullptr; }
    [[nodiscard]] const_iterator begin() const noexcept { return data(); }
    [[nodiscard]] const_iterator end() const noexcept { return data() + size(); }
    [[nodiscard]] const_iterator cbegin() const noexcept { return begin(); }
    [[nodiscard]] const_iterator cend() const noexcept { return end(); }
    [[nodiscard]] const ResourceDef& operator[](std::size_t i) const noexcept { return data()[i]; }
    [[nodiscard]] const ResourceDef& front() const noexcept { return *begin(); }
    [[nodiscard]] const ResourceDef& back() const noexcept { return *(end() - 1); }

    // Modifications (a table view becomes an owned copy first).
    [[nodiscard]] iterator begin() { return own().data(); }
    [[nodiscard]] iterator end() { return own().data() + own_.size(); }
    [[nodiscard]] ResourceDef& operator[](std::size_t i) { return own()[i]; }
    [[nodiscard]] ResourceDef& front() { return own().front(); }
    [[nodiscard]] ResourceDef& back() { return own().back(); }
    void push_back(const ResourceDef& r) { own().push_back(r); }
    void push_back(ResourceDef&& r) { own().push_back(std::move(r)); }
    template <typename... A>
    ResourceDef& emplace_back(A&&... a) {
        return own().emplace_back(std::forward<A>(a)...);
    }
    void reserve(std::size_t n) { own().reserve(n); }
    void clear() noexcept {
        table_ = nullptr;
        table_size_ = 0;
        own_.clear();
    }
    iterator erase(const_iterator first, const_iterator last) {
        const auto a = first - data();
        const auto b = last - data();
        auto& v = own();
        return v.data() + (v.erase(v.begin() + a, v.begin() + b) - v.begin());
    }
    iterator erase(const_iterator pos) { return erase(pos, pos + 1); }

    friend bool operator==(const ResourceList& a, const ResourceList& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    std::vector<ResourceDef>& own() {
        if (table_ != nullptr) {
            own_.assign(table_, table_ + table_size_);
            table_ = nullptr;
            table_size_ = 0;
        }
        return own_;
    }

    std::vector<ResourceDef> own_;
    const ResourceDef* table_ = nullptr;
    std::size_t table_size_ = 0;
};

struct ObjectDef {
    std::uint16_t id = 0;
    DefText name;
    DefText urn;            ///< e.g. "urn:oma:lwm2m:oma:0:1.1"
    DefText object_version; ///< "1.0", "1.1", "1.2"
    DefText lwm2m_version;  ///< LwM2M enabler version of the definition
    bool multiple = false;
    bool mandatory = false;
    ResourceList resources; ///< ordered by id

    [[nodiscard]] const ResourceDef* resource(std::uint16_t rid) const;
    friend bool operator==(const ObjectDef&, const ObjectDef&) = default;
};

} // namespace lwm2m::dm
