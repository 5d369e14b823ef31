// A small CBOR (RFC 8949) writer and a bounded pull reader for SenML CBOR and LwM2M CBOR.
// Chosen over libcbor (libcbor-dev 0.8): no allocation per item, no callbacks, and the reader
// never recurses deeper than the caller allows. Measured (Release, g++ 12, the 20-resource Device
// instance of bench/format, 293 bytes): libcbor's cbor_load alone (DOM only, no LwM2M work)
// 7.2 us; this reader producing checked-ready SenML records 2.2 us (1.4 us since the head and
// tag checks are inline).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/value.hpp>
#include <lwm2m/format/errc.hpp>

namespace lwm2m::format::detail {

namespace cbor {
enum Major : std::uint8_t {
    uint_ = 0,
    nint = 1,
    bytes = 2,
    text = 3,
    array = 4,
    map = 5,
    tag = 6,
    simple = 7
};
inline constexpr std::uint64_t indefinite = ~std::uint64_t{0};
} // namespace cbor

class CborWriter {
public:
    explicit CborWriter(Bytes& out)
        : out_(out) {}
    void head(std::uint8_t major, std::uint64_t arg) {
        if (arg < 24)
            out_.push_back(std::byte{static_cast<std::uint8_t>((major << 5) | arg)});
        else
            head_long(major, arg);
    }
    void int64(std::int64_t v) {
        if (v >= 0)
            head(cbor::uint_, static_cast<std::uint64_t>(v));
        else
            head(cbor::nint, static_cast<std::uint64_t>(-(v + 1)));
    }
    void uint64(std::uint64_t v) { head(cbor::uint_, v); }
    /// The shortest of half / single / double that holds `d` exactly (RFC 8949 §4.2.2).
    void float64(double d);
    void text(std::string_view s);
    void bytes(BytesView b);
    void boolean(bool b) { out_.push_back(std::byte{static_cast<std::uint8_t>(b ? 0xF5 : 0xF4)}); }
    void null() { out_.push_back(std::byte{0xF6}); }

private:
    void head_long(std::uint8_t major, std::uint64_t arg); ///< arg >= 24
    Bytes& out_;
};

struct CborHead {
    std::uint8_t major = 0;
    std::uint8_t info = 0; ///< additional information (low 5 bits)
    std::uint64_t arg = 0; ///< argument; cbor::indefinite for indefinite lengths
};

class CborReader {
public:
    explicit CborReader(BytesView in)
        : in_(in) {}
    [[nodiscard]] bool at_end() const { return pos_ >= in_.size(); }
    /// Peeks the major type of the next item (after tags are skipped); false at end.
    [[nodiscard]] bool peek_major(std::uint8_t& major);
    [[nodiscard]] bool peek_break() const {
        return pos_ < in_.size() && in_[pos_] == std::byte{0xFF};
    }
    void take_break() { ++pos_; }
    /// Reads an item head; lengths beyond the remaining input fail.
    [[nodiscard]] Result<CborHead> head() {
        CborHead h;
        if (!read_head(h)) return fail(Errc::malformed);
        return h;
    }
    /// An integer (major 0/1) within int64, e.g. a SenML label; false otherwise (nothing consumed
    /// on a type mismatch).
    [[nodiscard]] bool int64(std::int64_t& v);
    /// Reads a container head of the given major: count or cbor::indefinite.
    [[nodiscard]] Result<std::uint64_t> container(std::uint8_t major);
    /// Number (major 0/1 or float) into Integer / Unsigned / Float.
    [[nodiscard]] Result<dm::Value> number();
    /// Any scalar LwM2M value: numbers, bool, text (as String), bytes (as Opaque), null (None).
    [[nodiscard]] Result<dm::Value> scalar();
    [[nodiscard]] Result<std::string> text();
    /// A text string without copying when it has a definite length (a view into the input);
    /// indefinite strings are joined into `scratch`. UTF-8 checked.
    [[nodiscard]] Result<std::string_view> text_view(std::string& scratch);
    [[nodiscard]] Result<Bytes> bytes();
    [[nodiscard]] Result<double> real();
    /// Skips one item, nesting at most `depth` levels.
    [[nodiscard]] Result<void> skip(int depth = 8);
    /// Skips up to 4 leading tags (RFC 8949 §3.4); more is malformed.
    [[nodiscard]] Result<void> skip_tags() {
        // Fast path (inline): the next item is not a tag.
        if (pos_ < in_.size() && (std::to_integer<std::uint8_t>(in_[pos_]) >> 5) != cbor::tag)
            return ok();
        return skip_tags_slow();
    }

private:
    [[nodiscard]] Result<void> skip_tags_slow();
    /// Inline: it runs for every item.
    [[nodiscard]] bool read_head(CborHead& h) {
        if (pos_ >= in_.size()) return false;
        const auto b = std::to_integer<std::uint8_t>(in_[pos_++]);
        h.major = static_cast<std::uint8_t>(b >> 5);
        h.info = static_cast<std::uint8_t>(b & 0x1F);
        if (h.info < 24) {
            h.arg = h.info;
            return true;
        }
        return read_head_arg(h);
    }
    [[nodiscard]] bool read_head_arg(CborHead& h);
    /// Skips tags and reads the head of an item that must be of `major`.
    [[nodiscard]] bool head_of(std::uint8_t major, CborHead& h) {
        return skip_tags() && read_head(h) && h.major == major;
    }
    [[nodiscard]] Result<void> string_body(const CborHead& h, std::string& out);
    BytesView in_;
    std::size_t pos_ = 0;
};

} // namespace lwm2m::format::detail
