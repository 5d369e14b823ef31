// Fuzz target: RecordPath::open (issue #13) on arbitrary datagrams interleaved with genuine
// records from a mirrored path (the client's keys), mutated records and replays.
// Invariants: never crash; every fresh genuine record is delivered exactly once; a replayed or
// mutated one never is.
//
// Input: ops; each op is one byte (op % 5) followed by its arguments.
//   0 len bytes...   a raw datagram (len * 2 bytes at most)
//   1 n              a genuine datagram of n % 4 + 1 application records from the client
//   2 pos xor        a genuine record with byte[pos] ^= xor (xor != 0): must not be delivered
//   3                replay the last genuine datagram: nothing delivered
//   4 n              the server seals n bytes (sequence numbers must grow)
#include <cstddef>
#include <cstdint>

#include <lwm2m/dtls/session_state.hpp>

namespace {

using namespace lwm2m;
using namespace lwm2m::dtls;

SessionState state(bool client_side) {
    SessionState s;
    s.suite = CipherSuite::psk_aes_128_ccm_8;
    const SecretBytes ck(Bytes(16, std::byte{0x11})), ci(Bytes(4, std::byte{0x22}));
    const SecretBytes sk(Bytes(16, std::byte{0x33})), si(Bytes(4, std::byte{0x44}));
    // The server path decrypts with the client keys; a mirror with swapped keys plays the client.
    s.client_write_key = client_side ? sk : ck;
    s.client_write_iv = client_side ? si : ci;
    s.server_write_key = client_side ? ck : sk;
    s.server_write_iv = client_side ? ci : si;
    s.write_seq = 1;
    s.peer = PeerAddr::v4(192, 0, 2, 1, 5683);
    return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto server = RecordPath::create(state(false));
    auto client = RecordPath::create(state(true));
    if (!server || !client) __builtin_trap();
    std::size_t i = 0;
    auto next = [&]() -> unsigned { return i < size ? data[i++] : 0U; };
    Bytes last;
    std::uint64_t last_server_seq = server->state().write_seq;
    int ops = 0;
    while (i < size && ops++ < 300) {
        switch (next() % 5) {
        case 0: {
            const std::size_t len = std::min<std::size_t>(next() * 2U, size - i);
            const BytesView d(reinterpret_cast<const std::byte*>(data + i), len);
            i += len;
            (void)server->open(d);
            break;
        }
        case 1: {
            const unsigned n = next() % 4 + 1;
            Bytes d;
            for (unsigned k = 0; k < n; ++k) {
                auto rec = client->seal(Bytes(k * 3 + 1, std::byte{static_cast<unsigned char>(k)}));
                if (!rec) __builtin_trap();
                d.insert(d.end(), rec->begin(), rec->end());
            }
            const auto got = server->open(d);
            if (got.application_data.size() != n) __builtin_trap();
            last = std::move(d);
            break;
        }
        case 2: {
            const unsigned pos = next();
            const auto x = static_cast<std::uint8_t>(next() | 1U);
            auto rec = client->seal(Bytes(8, std::byte{7}));
            if (!rec) __builtin_trap();
            // Header bytes 0..2 (type, version) and 11..12 (length) may turn the record into
            // something else that is dropped; any change must keep it from being delivered.
            (*rec)[pos % rec->size()] ^= static_cast<std::byte>(x);
            if (!server->open(*rec).application_data.empty()) __builtin_trap();
            break;
        }
        case 3:
            if (!last.empty() && !server->open(last).application_data.empty()) __builtin_trap();
            break;
        case 4: {
            auto rec = server->seal(Bytes(next(), std::byte{1}));
            if (!rec) __builtin_trap();
            if (server->state().write_seq != last_server_seq + 1) __builtin_trap();
            last_server_seq = server->state().write_seq;
            if (client->open(*rec).application_data.size() != 1) __builtin_trap();
            break;
        }
        }
    }
    return 0;
}
