// Fuzz target: one coap::Endpoint fed an arbitrary sequence of datagrams from a few peers, with
// time steps and application commands, answering every IncomingRequest so responses, separate
// responses, Block2 slices and notifications flow.
//
// Input: records of
//   op (1 byte): low 2 bits = peer index; bits 2-3 = kind:
//     0: datagram: len (1 byte) + len bytes fed to on_datagram (len 255: on_oversized, as the
//        head of a 5000-byte datagram the driver could not read whole)
//     1: time step: 1 byte, step = b * 50 ms (b >= 200: (b - 199) * 30 s); then on_timeout if due
//     2: client command: 1 byte: send_request (method/type/body size from the byte) or cancel
//     3: server command: 1 byte: notify an observer (CON/NON, large/small) or cancel it
//   bits 4-7 select how the application answers the next IncomingRequests.
// Inputs of odd length run with address validation (RFC 9175 Echo) off, even ones with it on.
// Invariants (abort on violation): next_deadline() is never <= now after on_timeout(now); every
// transmitted datagram decodes and fits max_message_size; buffered bytes stay under the cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/endpoint.hpp>

using namespace lwm2m;
using namespace lwm2m::coap;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

struct Harness {
    Config cfg;
    SeededRandom rng{42};
    Endpoint ep;
    TimePoint now = TimePoint{} + std::chrono::seconds(10);
    std::vector<RequestId> requests;
    std::vector<ObservationId> observers;
    unsigned answer_mode = 0;

    static Config make_config(bool validation) {
        Config c;
        c.address_validation = validation;
        c.block_size = 64;
        c.token_length = 1; // lets the fuzzer hit client-side token matching
        c.max_body_size = 4096;
        c.max_peers = 3;
        c.max_exchanges_per_peer = 4;
        c.max_queued_requests = 2;
        c.max_dedup_per_peer = 32;
        c.max_dedup_entries = 64;
        c.max_block_transfers_per_peer = 2;
        c.max_observations_per_peer = 2;
        c.max_buffered_bytes = 32 * 1024;
        return c;
    }

    explicit Harness(bool validation)
        : cfg(make_config(validation))
        , ep(cfg, rng) {}

    static PeerAddr peer(unsigned i) {
        return PeerAddr::v4(10, 0, 0, static_cast<std::uint8_t>(1 + i), 5683);
    }

    void drain() {
        while (auto d = ep.poll_transmit()) {
            check(d->bytes.size() <= cfg.max_message_size);
            check(decode(d->bytes).has_value());
        }
        while (auto e = ep.poll_event()) {
            if (auto* in = std::get_if<IncomingRequest>(&*e))
                answer(*in);
            else if (auto* ob = std::get_if<ObservationEnded>(&*e))
                std::erase(observers, ob->id);
        }
        check(ep.stats().buffered_bytes <= cfg.max_buffered_bytes + 4096);
    }

    void answer(const IncomingRequest& in) {
        Message r;
        r.code = code::content;
        switch (answer_mode % 5) {
        case 0:
            break; // small piggybacked
        case 1:
            r.payload.assign(700, std::byte{0x5a});
            break; // Block2
        case 2:
            (void)ep.accept_separately(now, in.id);
            break;
        case 3:
            return; // never answered: expires
        case 4:
            r.code = code::changed;
            break;
        }
        if (in.observe_register) r.set_uint_option(option::observe, 0);
        if (ep.send_response(now, in.id, std::move(r)) && in.observe_register)
            observers.push_back(in.observation);
    }

    void after_timeout() {
        if (auto d = ep.next_deadline()) check(*d > now);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Harness h(size % 2 == 0);
    std::size_t i = 0;
    while (i < size) {
        const std::uint8_t op = data[i++];
        const unsigned p = op & 3U;
        const unsigned kind = (op >> 2) & 3U;
        h.answer_mode = op >> 4;
        if (kind == 0) {
            if (i >= size) break;
            std::size_t len = data[i++];
            const bool oversized = len == 255;
            if (len > size - i) len = size - i;
            const BytesView bytes(reinterpret_cast<const std::byte*>(data + i), len);
            if (oversized)
                h.ep.on_oversized(h.now, Harness::peer(p), bytes, 5000);
            else
                h.ep.on_datagram(h.now, Harness::peer(p), bytes);
            i += len;
        } else if (kind == 1) {
            if (i >= size) break;
            const std::uint8_t b = data[i++];
            h.now +=
                b < 200 ? std::chrono::milliseconds(50) * b : std::chrono::seconds(30) * (b - 199);
            if (auto d = h.ep.next_deadline(); d && *d <= h.now) {
                h.ep.on_timeout(h.now);
                h.after_timeout();
            }
        } else if (kind == 2) {
            if (i >= size) break;
            const std::uint8_t b = data[i++];
            if ((b & 0xc0U) == 0xc0U && !h.requests.empty()) {
                (void)h.ep.cancel_request(h.now, h.requests[b % h.requests.size()]);
            } else {
                Message m;
                m.type = (b & 1U) ? Type::non : Type::con;
                m.code = (b & 2U) ? code::put : code::get;
                m.set_path((b & 4U) ? "/3/0" : "/5/0/0");
                if (b & 8U) m.set_uint_option(option::observe, 0);
                if (m.code == code::put)
                    m.payload.assign(std::size_t{b & 0x30U} * 10, std::byte{1});
                if (auto id = h.ep.send_request(h.now, Harness::peer(p), std::move(m)))
                    h.requests.push_back(*id);
            }
        } else {
            if (i >= size) break;
            const std::uint8_t b = data[i++];
            if (!h.observers.empty()) {
                const ObservationId id = h.observers[b % h.observers.size()];
                if ((b & 0xc0U) == 0xc0U) {
                    (void)h.ep.cancel_observation(h.now, id);
                } else {
                    Message n;
                    n.code = (b & 0x20U) ? code::not_found : code::content;
                    if (b & 0x10U) n.payload.assign(300, std::byte{7});
                    (void)h.ep.send_notification(h.now, id, std::move(n), (b & 1U) != 0);
                }
            }
        }
        h.drain();
    }
    // Run every remaining timer: everything must wind down.
    for (int k = 0; k < 100000; ++k) {
        auto d = h.ep.next_deadline();
        if (!d) break;
        h.now = std::max(h.now, *d);
        h.ep.on_timeout(h.now);
        h.after_timeout();
        h.drain();
    }
    check(!h.ep.next_deadline()); // no livelock: every timer chain ends
    return 0;
}
