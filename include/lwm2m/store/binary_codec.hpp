// A small binary record codec: bytes, LEB128 varints (signed ones zigzag), strings as varint
// length + bytes. Used by the Redis records (redis_codec, docs/store.md "Redis") and the
// messages between server nodes (docs/cluster.md). Readers are strict: every read checks the
// bounds and reports false on truncation; `done()` tells whether everything was consumed.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <lwm2m/base/bytes.hpp>

namespace lwm2m::store::codec {

/// Appends fields to a byte string.
class Writer {
public:
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<char>(v));
    }
    void svarint(std::int64_t v) {
        varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
    }
    void str(std::string_view s) {
        varint(s.size());
        out_.append(s);
    }
    void bytes(BytesView b) { str(as_string_view(b)); }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

/// Reads fields back; every call returns false (and reads nothing more) on truncation.
class Reader {
public:
    explicit Reader(std::string_view in)
        : in_(in) {}
    bool u8(std::uint8_t& v) {
        if (in_.empty()) return false;
        v = static_cast<std::uint8_t>(in_.front());
        in_.remove_prefix(1);
        return true;
    }
    bool varint(std::uint64_t& v) {
        v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            std::uint8_t b = 0;
            if (!u8(b)) return false;
            v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if (!(b & 0x80)) return true;
        }
        return false;
    }
    bool svarint(std::int64_t& v) {
        std::uint64_t u = 0;
        if (!varint(u)) return false;
        v = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
        return true;
    }
    template <class T>
    bool uint(T& v) {
        std::uint64_t u = 0;
        if (!varint(u) || u > std::numeric_limits<T>::max()) return false;
        v = static_cast<T>(u);
        return true;
    }
    bool str(std::string& s) {
        std::uint64_t n = 0;
        if (!varint(n) || n > in_.size()) return false;
        s.assign(in_.substr(0, n));
        in_.remove_prefix(n);
        return true;
    }
    bool bytes(Bytes& b) {
        std::string s;
        if (!str(s)) return false;
        b = to_bytes(s);
        return true;
    }
    [[nodiscard]] bool done() const { return in_.empty(); }

private:
    std::string_view in_;
};

} // namespace lwm2m::store::codec
