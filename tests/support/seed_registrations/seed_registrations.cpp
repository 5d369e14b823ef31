// lwm2m_seed_registrations: writes N registrations into a data directory's lwm2m.db through the
// store API (store::SqliteStores + SqliteRegistrationStore::commit, the schema of
// sqlite_store_migrations(); never a second copy of it), so that lwm2m-server --store sqlite
// --data-dir <dir> restores them at start (server::Engine::restore, docs/server.md
// "Durability"). Used by the e2e test of the web UI with 100,000 clients: a fleet without devices.
//
//   lwm2m_seed_registrations <data-dir> <count> [--prefix dev-] [--lifetime 86400]
//
// Endpoints are <prefix><6-digit number> (dev-000000 ..), LwM2M 1.0 / 1.1 / 1.2 in turn, binding
// U or UQ (queue mode on every 7th), loopback addresses 127.x.y.z:5683, registered now minus a few
// seconds. Prints "seeded N registrations into <dir>/lwm2m.db in T s". Exit 0, or 1 with a
// message on stderr (2 on a usage error).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <lwm2m/store/sqlite_stores.hpp>

namespace {

using namespace lwm2m;

int usage() {
    std::fprintf(
        stderr, "usage: lwm2m_seed_registrations <data-dir> <count> [--prefix P] [--lifetime S]\n");
    return 2;
}

bool parse_number(const char* s, std::uint64_t max, std::uint64_t* out) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (end == s || *end != '\0' || v > max) return false;
    *out = v;
    return true;
}

store::RegistrationRecord record_of(std::uint64_t i, const std::string& prefix,
                                    std::uint32_t lifetime, std::int64_t now) {
    store::RegistrationRecord r;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%06llu", static_cast<unsigned long long>(i));
    r.endpoint = prefix + buf;
    // The engine's location form: slot (hex) then an 8-hex-digit nonce != 0 (restore keeps it).
    std::snprintf(buf, sizeof buf, "%llx%08x", static_cast<unsigned long long>(i),
                  static_cast<unsigned>(static_cast<std::uint32_t>(i * 2654435761u) | 1u));
    r.location = buf;
    static const char* const versions[] = {"1.0", "1.1", "1.2"};
    r.lwm2m_version = versions[i % 3];
    r.lifetime_s = lifetime;
    r.queue_mode = i % 7 == 0;
    r.binding = r.queue_mode ? "UQ" : "U";
    r.object_links = i % 2 == 0 ? "</>;rt=\"oma.lwm2m\",</1/0>,</3/0>,</4/0>,</5/0>,</3303/0>"
                                : "</1/0>,</3/0>,</3303/0>,</3303/1>";
    // Loopback addresses (127.0.0.0/8, one per client): whatever the server sends to a seeded
    // client (the web UI reads /3/0 on opening it) stays on this machine.
    r.peer = PeerAddr::v4(127, static_cast<std::uint8_t>(1 + ((i >> 16) & 0x7f)),
                          static_cast<std::uint8_t>((i >> 8) & 0xff),
                          static_cast<std::uint8_t>(i & 0xff), 5683);
    r.socket = 0; // the first DM listener (plain CoAP)
    r.security = store::SecurityMode::nosec;
    r.registered_at = now - 60 - static_cast<std::int64_t>(i % 3600);
    r.updated_at = now - static_cast<std::int64_t>(i % 30);
    return r;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) return usage();
    const std::string dir = argv[1];
    std::uint64_t count = 0;
    if (!parse_number(argv[2], 10'000'000, &count)) return usage();
    std::string prefix = "dev-";
    std::uint64_t lifetime = 86400;
    for (int a = 3; a < argc; ++a) {
        const std::string opt = argv[a];
        if (a + 1 >= argc) return usage();
        if (opt == "--prefix") {
            prefix = argv[++a];
        } else if (opt == "--lifetime") {
            if (!parse_number(argv[++a], UINT32_MAX, &lifetime) || lifetime == 0) return usage();
        } else {
            return usage();
        }
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto stores = store::SqliteStores::open(dir);
    if (!stores) {
        std::fprintf(stderr, "lwm2m_seed_registrations: opening %s: %s\n", dir.c_str(),
                     stores.error().message().c_str());
        return 1;
    }
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    // Batches of 10,000 changes: one transaction each (RegistrationStore::commit).
    constexpr std::uint64_t batch_size = 10'000;
    std::vector<store::Change> batch;
    batch.reserve(batch_size);
    for (std::uint64_t i = 0; i < count; ++i) {
        batch.push_back(store::Change{
            i + 1, store::RegistrationPut{
                       record_of(i, prefix, static_cast<std::uint32_t>(lifetime), now), true}});
        if (batch.size() == batch_size || i + 1 == count) {
            if (auto r = (*stores)->registrations().commit(batch); !r) {
                std::fprintf(stderr, "lwm2m_seed_registrations: commit: %s\n",
                             r.error().message().c_str());
                return 1;
            }
            batch.clear();
        }
    }
    auto stored = (*stores)->registrations().size();
    if (!stored || *stored < count) {
        std::fprintf(stderr, "lwm2m_seed_registrations: the store holds %zu registrations\n",
                     stored ? *stored : std::size_t{0});
        return 1;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("seeded %llu registrations into %s/lwm2m.db in %.2f s\n",
                static_cast<unsigned long long>(count), dir.c_str(), s);
    return 0;
}
