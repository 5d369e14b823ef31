// GnuTLS debug output (issue #7): with GNUTLS_DEBUG_LEVEL=9 in the environment GnuTLS prints the
// premaster secret (for PSK: the key, in hex) on stderr, and with SSLKEYLOGFILE it appends every
// session's secrets to that file. The DTLS layer installs its own log function (levels <= 3 to
// our Logger only) and a no-op keylog function, so neither happens.
//
// The test re-runs this executable as a child (the variables are read when GnuTLS loads) with
// both variables set; the child runs a PSK handshake and data exchange in memory with debug
// loggers and prints what they captured. The parent checks the child's stdout and stderr for
// the key in hex (any case) and raw, and the key log file for anything at all. A control run
// ("leak" mode: the child puts a stderr printer back) shows the check finds the key when it is
// printed.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <unistd.h>

#include <gnutls/gnutls.h>

#include "support/capture_logger.hpp"
#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace {

constexpr const char* kChildEnv = "LWM2M_DTLS_DEBUG_CHILD";

Bytes test_key() {
    Bytes k = pattern(32, 91);
    k[0] = std::byte{0xC3}; // not ASCII: the raw key cannot hide in text by accident
    return k;
}

std::string upper(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

void print_to_stderr(int level, const char* text) {
    std::fprintf(stderr, "gnutls[%d]: %s", level, text);
}

// The child: only runs under the parent (the variable is set), else passes trivially.
TEST(DtlsDebugChild, HandshakeWithDebugEnvironment) {
    const char* mode = std::getenv(kChildEnv);
    if (mode == nullptr) GTEST_SKIP() << "child of DtlsDebugEnv only";
    lwm2m::test::CaptureLogger slog, clog;
    MemStore store;
    const Bytes id = to_bytes("debug-env-ep");
    store.psk[id] = SecretBytes(test_key());
    ServerConfig scfg;
    scfg.logger = &slog;
    auto server = ServerTable::create(scfg, store);
    ClientConfig ccfg;
    ccfg.server = PeerAddr::v4(10, 0, 0, 1, 5684);
    ccfg.credentials = PskCredentials{id, SecretBytes(test_key())};
    ccfg.logger = &clog;
    auto client = ClientSession::create(std::move(ccfg));
    ASSERT_TRUE(server && client);
    if (std::string(mode) == "leak") {
        gnutls_global_set_log_function(&print_to_stderr);
        gnutls_global_set_log_level(9);
    }
    Bench b(*server);
    const PeerAddr me = PeerAddr::v4(192, 0, 2, 1, 1000);
    b.add(me, *client);
    ASSERT_TRUE(client->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return client->established(); }));
    ASSERT_TRUE(client->send(b.now, b.server_addr(), to_bytes("application data up")));
    b.settle();
    ASSERT_TRUE(server->send(b.now, me, to_bytes("application data down")));
    b.settle();
    client->close(b.now);
    b.settle();
    std::size_t gnutls_lines = 0;
    for (const auto& l : slog.lines)
        gnutls_lines += l.component == "gnutls" ? 1 : 0;
    for (const auto& l : clog.lines)
        gnutls_lines += l.component == "gnutls" ? 1 : 0;
    std::printf("CAPTURED LOG\n%s%sGNUTLS_LINES=%zu\n", slog.all().c_str(), clog.all().c_str(),
                gnutls_lines);
    std::fflush(stdout);
}

struct ChildRun {
    int status = -1;
    std::string output; // stdout and stderr
};

ChildRun run_child(const std::string& mode, const std::string& keylog) {
    std::array<char, 4096> exe{};
    const ssize_t n = readlink("/proc/self/exe", exe.data(), exe.size() - 1);
    EXPECT_GT(n, 0);
    const std::string cmd = std::string("env ") + kChildEnv + "=" + mode +
                            " GNUTLS_DEBUG_LEVEL=9 SSLKEYLOGFILE='" + keylog + "' '" +
                            std::string(exe.data(), static_cast<std::size_t>(n)) +
                            "' --gtest_filter=DtlsDebugChild.* 2>&1";
    ChildRun r;
    std::FILE* p = popen(cmd.c_str(), "r");
    EXPECT_NE(p, nullptr);
    if (p == nullptr) return r;
    std::array<char, 8192> buf{};
    std::size_t got;
    while ((got = std::fread(buf.data(), 1, buf.size(), p)) > 0)
        r.output.append(buf.data(), got);
    r.status = pclose(p);
    return r;
}

std::string temp_path(const char* name) {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/" + name + "-" + std::to_string(getpid());
}

bool file_has_content(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return f && f.peek() != std::ifstream::traits_type::eof();
}

TEST(DtlsDebugEnv, KeyNeverPrintedWithGnutlsDebugLevel9) {
    if (std::getenv(kChildEnv) != nullptr) GTEST_SKIP() << "parent only";
    const std::string keylog = temp_path("lwm2m-keylog");
    std::remove(keylog.c_str());
    const ChildRun r = run_child("guarded", keylog);
    ASSERT_EQ(r.status, 0) << r.output.substr(0, 4000);
    ASSERT_NE(r.output.find("CAPTURED LOG"), std::string::npos) << "the child did not run";
    const Bytes key = test_key();
    const std::string hex = to_hex(key);
    EXPECT_EQ(r.output.find(hex), std::string::npos) << "PSK in hex on stdout/stderr";
    EXPECT_EQ(r.output.find(upper(hex)), std::string::npos);
    EXPECT_EQ(r.output.find(hex.substr(8, 24)), std::string::npos) << "part of the PSK in hex";
    EXPECT_EQ(r.output.find(std::string(as_string_view(key))), std::string::npos);
    EXPECT_EQ(r.output.find("PREMASTER"), std::string::npos);
    // GnuTLS's own printer runs only while the library loads, before any of our objects exist
    // (a few level-2 lines such as "Enabled GnuTLS 3.7.9 logging..."); from our first object on
    // nothing of GnuTLS reaches stderr, in particular no handshake, record or key line.
    for (int level = 3; level <= 13; ++level)
        EXPECT_EQ(r.output.find("gnutls[" + std::to_string(level) + "]"), std::string::npos)
            << "GnuTLS printed level " << level << " by itself";
    EXPECT_EQ(r.output.find("HSK["), std::string::npos);
    // GnuTLS's messages of the safe levels did reach our Logger (at trace).
    EXPECT_EQ(r.output.find("GNUTLS_LINES=0\n"), std::string::npos);
    EXPECT_FALSE(file_has_content(keylog)) << "SSLKEYLOGFILE received the session secrets";
    std::remove(keylog.c_str());
}

TEST(DtlsDebugEnv, ControlRunShowsTheCheckFindsAPrintedKey) {
    if (std::getenv(kChildEnv) != nullptr) GTEST_SKIP() << "parent only";
    const std::string keylog = temp_path("lwm2m-keylog-control");
    const ChildRun r = run_child("leak", keylog);
    ASSERT_EQ(r.status, 0) << r.output.substr(0, 4000);
    EXPECT_NE(r.output.find(to_hex(test_key())), std::string::npos)
        << "with GnuTLS printing at level 9 the key must show: the check above would see it";
    std::remove(keylog.c_str());
}

} // namespace
} // namespace lwm2m::dtls::test
