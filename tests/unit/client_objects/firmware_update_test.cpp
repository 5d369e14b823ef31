// Object 5 (Firmware Update): the E.6.1 state machine (every trigger in every state, allowed and
// refused, with the exact Status), push and pull flows with a fake PackageFetcher, storage and
// apply failures, Cancel, deferral, automatic upgrade, restore after a reboot, resource rules.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <lwm2m/client/objects/firmware_update_object.hpp>

#include "unit/client_objects/helpers.hpp"

namespace lwm2m::client {
namespace firmware_update_test { // named: unity builds join the files

using test::P;
namespace rid = firmware_rid;
using FW = FirmwareUpdateObject;
using S = FirmwareState;
using R = UpdateResult;

const Actor dm1 = Actor::dm_server(ShortServerId{1});

class FakeApp final : public FirmwareUpdateHandler {
public:
    std::optional<UpdateResult> open_package(std::optional<std::size_t> total) override {
        calls.push_back("open");
        totals.push_back(total);
        stored.clear();
        return fail_open;
    }
    std::optional<UpdateResult> write_package(std::size_t offset, BytesView data) override {
        calls.push_back("write@" + std::to_string(offset));
        if (fail_write) return fail_write;
        stored.insert(stored.end(), data.begin(), data.end());
        return std::nullopt;
    }
    std::optional<UpdateResult> finish_package() override {
        calls.push_back("finish");
        return fail_finish;
    }
    void discard_package() override {
        calls.push_back("discard");
        stored.clear();
    }
    std::optional<UpdateResult> apply_package() override {
        calls.push_back("apply");
        return apply_result;
    }
    [[nodiscard]] bool called(const std::string& c) const {
        for (const auto& x : calls)
            if (x == c) return true;
        return false;
    }
    std::vector<std::string> calls;
    std::vector<std::optional<std::size_t>> totals;
    Bytes stored;
    std::optional<UpdateResult> fail_open, fail_write, fail_finish, apply_result;
};

class FakeFetcher final : public PackageFetcher {
public:
    void start_download(std::string_view uri, DownloadSink& s) override {
        uris.emplace_back(uri);
        sink = &s;
        if (fail_at_start) s.on_download_failed(*fail_at_start);
    }
    void cancel_download() override {
        ++cancels;
        sink = nullptr;
    }
    std::vector<std::string> uris;
    DownloadSink* sink = nullptr;
    int cancels = 0;
    std::optional<DownloadError> fail_at_start;
};

Bytes package(std::size_t n = 300) {
    return test::bytes_of(n, 3);
}

class FirmwareTest : public ::testing::Test {
protected:
    void SetUp() override { make(FW::Version::v1_1); }
    void make(FW::Version v, bool with_fetcher = true) {
        FW::Options o;
        o.version = v;
        o.fetcher = with_fetcher ? &fetcher : nullptr;
        o.clock = &clock;
        fw = std::make_unique<FW>(app, o);
        fw->set_change_listener(&listener);
    }
    Result<void> write_res(const Actor& a, std::uint16_t r, dm::Value v) {
        return fw->write(a, P(5, 0, r), test::content(P(5, 0, r), test::res(r, std::move(v))),
                         WriteMode::replace);
    }
    Result<void> push(Bytes b) {
        return write_res(dm1, rid::package, dm::Value::opaque(std::move(b)));
    }
    Result<void> write_uri(std::string u) {
        return write_res(dm1, rid::package_uri, dm::Value::string(std::move(u)));
    }
    Result<void> exec(std::uint16_t r) { return fw->execute(dm1, P(5, 0, r), ""); }
    std::int64_t read_int(std::uint16_t r) {
        auto c = fw->read(dm1, P(5, 0, r));
        EXPECT_TRUE(c);
        return c ? std::get<dm::Resource>(c->node).value.as_integer() : -1;
    }
    void expect(S s, R r) {
        EXPECT_EQ(fw->state(), s);
        EXPECT_EQ(fw->update_result(), r);
        EXPECT_EQ(read_int(rid::state), static_cast<std::int64_t>(s));
        EXPECT_EQ(read_int(rid::update_result), static_cast<std::int64_t>(r));
    }
    // Bring the object into a state the normal way.
    void go(S s) {
        switch (s) {
        case S::idle:
            break;
        case S::downloading:
            ASSERT_TRUE(write_uri("coap://fw.example.com/image"));
            break;
        case S::downloaded:
            ASSERT_TRUE(push(package()));
            break;
        case S::updating:
            ASSERT_TRUE(push(package()));
            ASSERT_TRUE(exec(rid::update));
            break;
        }
        ASSERT_EQ(fw->state(), s);
    }

    test::ManualWallClock clock{1'700'000'000};
    FakeApp app;
    FakeFetcher fetcher;
    test::RecordingListener listener;
    std::unique_ptr<FW> fw;
};

TEST_F(FirmwareTest, InitialResources) {
    expect(S::idle, R::initial);
    EXPECT_EQ(read_int(rid::delivery_method), static_cast<std::int64_t>(DeliveryMethod::both));
    auto proto = fw->read(dm1, P(5, 0, rid::protocol_support));
    ASSERT_TRUE(proto);
    EXPECT_EQ(std::get<dm::Resource>(proto->node).instances.size(), 2u);
    EXPECT_EQ(read_int(rid::severity), 1); // E.6: default 1
    EXPECT_EQ(fw->version(), "1.1");
    EXPECT_STATUS(fw->read(dm1, P(5, 0, rid::last_state_change_time)), Status::not_found);
    EXPECT_STATUS(fw->read(dm1, P(5, 0, rid::package)), Status::method_not_allowed); // W only
    make(FW::Version::v1_0, false);
    EXPECT_EQ(read_int(rid::delivery_method), static_cast<std::int64_t>(DeliveryMethod::push));
    EXPECT_STATUS(fw->read(dm1, P(5, 0, rid::protocol_support)), Status::not_found);
    EXPECT_EQ(fw->version(), "1.0");
    EXPECT_EQ(FW(app).version(), "1.0"); // the version LwM2M 1.1 lists
}

// E.6.1: every trigger in every state. Triggers: 0 Write Package, 1 Write empty Package,
// 2 Write Package URI, 3 Write empty URI, 4 Execute Update, 5 Execute Cancel.
TEST_F(FirmwareTest, EveryTriggerInEveryState) {
    struct Expect {
        std::optional<Status> status; // nullopt: 2.04
        S state;
        R result;
    };
    const S states[] = {S::idle, S::downloading, S::downloaded, S::updating};
    const char* names[] = {"package", "empty package", "uri", "empty uri", "update", "cancel"};
    const Expect table[4][6] = {
        // idle
        {{{}, S::downloaded, R::initial},
         {{}, S::idle, R::initial},
         {{}, S::downloading, R::initial},
         {{}, S::idle, R::initial},
         {Status::method_not_allowed, S::idle, R::initial},
         {Status::method_not_allowed, S::idle, R::initial}},
        // downloading
        {{Status::bad_request, S::downloading, R::initial},
         {{}, S::idle, R::initial},
         {Status::bad_request, S::downloading, R::initial},
         {{}, S::idle, R::initial},
         {Status::method_not_allowed, S::downloading, R::initial},
         {{}, S::idle, R::cancelled}},
        // downloaded
        {{Status::bad_request, S::downloaded, R::initial},
         {{}, S::idle, R::initial},
         {Status::bad_request, S::downloaded, R::initial},
         {{}, S::idle, R::initial},
         {{}, S::updating, R::initial},
         {{}, S::idle, R::cancelled}},
        // updating
        {{Status::method_not_allowed, S::updating, R::initial},
         {Status::method_not_allowed, S::updating, R::initial},
         {Status::method_not_allowed, S::updating, R::initial},
         {Status::method_not_allowed, S::updating, R::initial},
         {Status::method_not_allowed, S::updating, R::initial},
         {Status::method_not_allowed, S::updating, R::initial}},
    };
    for (int si = 0; si < 4; ++si) {
        for (int t = 0; t < 6; ++t) {
            SCOPED_TRACE(std::string("state ") + std::to_string(si) + ", trigger " + names[t]);
            make(FW::Version::v1_1);
            go(states[si]);
            Result<void> r;
            switch (t) {
            case 0:
                r = push(package(40));
                break;
            case 1:
                r = push(Bytes{});
                break;
            case 2:
                r = write_uri("coap://other.example.com/fw");
                break;
            case 3:
                r = write_uri("");
                break;
            case 4:
                r = exec(rid::update);
                break;
            default:
                r = exec(rid::cancel);
                break;
            }
            const Expect& e = table[si][t];
            if (e.status) {
                ASSERT_FALSE(r);
                EXPECT_EQ(r.error(), make_error_code(*e.status)) << r.error().message();
            } else {
                EXPECT_TRUE(r) << r.error().message();
            }
            expect(e.state, e.result);
        }
    }
}

TEST_F(FirmwareTest, PushStoresThePackageAndChecksIt) {
    const Bytes pkg = package(1000);
    listener.paths.clear();
    EXPECT_OK(push(pkg));
    expect(S::downloaded, R::initial);
    EXPECT_EQ(app.stored, pkg);
    EXPECT_EQ(app.calls, (std::vector<std::string>{"open", "write@0", "finish"}));
    EXPECT_EQ(app.totals.back(), 1000u);
    EXPECT_TRUE(listener.saw(P(5, 0, rid::state)));
    EXPECT_TRUE(listener.saw(P(5, 0, rid::last_state_change_time)));
    EXPECT_TRUE(fw->read(dm1, P(5, 0, rid::last_state_change_time)));
}

TEST_F(FirmwareTest, PushFailuresGoToUpdateResultOnly) {
    struct Case {
        const char* step;
        R returned;
        R expected;
    };
    const Case cases[] = {
        {"open", R::not_enough_flash, R::not_enough_flash},
        {"open", R::out_of_ram, R::out_of_ram},
        {"write", R::out_of_ram, R::out_of_ram},
        {"write", R::not_enough_flash, R::not_enough_flash},
        {"finish", R::integrity_check_failure, R::integrity_check_failure},
        {"finish", R::unsupported_package_type, R::unsupported_package_type},
        {"finish", R::success, R::integrity_check_failure}, // not a storage failure: 5
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(std::string(c.step) + " " + std::to_string(static_cast<int>(c.returned)));
        app = FakeApp{};
        make(FW::Version::v1_1);
        if (std::string(c.step) == "open") app.fail_open = c.returned;
        if (std::string(c.step) == "write") app.fail_write = c.returned;
        if (std::string(c.step) == "finish") app.fail_finish = c.returned;
        EXPECT_OK(push(package())); // the Write itself succeeds (E.6.1)
        expect(S::idle, c.expected);
        EXPECT_TRUE(app.called("discard"));
        // A new push afterwards resets Update Result to 0 and works.
        app.fail_open = app.fail_write = app.fail_finish = std::nullopt;
        EXPECT_OK(push(package()));
        expect(S::downloaded, R::initial);
    }
}

TEST_F(FirmwareTest, NullByteAndEmptyPackageReset) {
    app.fail_finish = R::integrity_check_failure;
    ASSERT_TRUE(push(package()));
    expect(S::idle, R::integrity_check_failure);
    EXPECT_OK(push(Bytes{std::byte{0}}));
    expect(S::idle, R::initial);
    app.fail_finish = std::nullopt;
    ASSERT_TRUE(push(package()));
    app.calls.clear();
    EXPECT_OK(push(Bytes{std::byte{0}}));
    expect(S::idle, R::initial);
    EXPECT_EQ(app.calls, (std::vector<std::string>{"discard"}));
}

TEST_F(FirmwareTest, UpdateOutcomes) {
    go(S::updating);
    EXPECT_TRUE(app.called("apply"));
    EXPECT_OK(fw->finish_update(R::success));
    expect(S::idle, R::success);
    EXPECT_STATUS(fw->finish_update(R::success), Status::method_not_allowed);

    go(S::updating);
    EXPECT_OK(fw->finish_update(R::update_failed));
    expect(S::downloaded, R::update_failed); // the package is kept: Update may be retried
    app.calls.clear();
    EXPECT_OK(exec(rid::update));
    expect(S::updating, R::initial);
    EXPECT_STATUS(fw->finish_update(R::cancelled), Status::bad_request);
    EXPECT_STATUS(fw->finish_update(R::initial), Status::bad_request);
    EXPECT_OK(fw->finish_update(R::integrity_check_failure));
    expect(S::idle, R::integrity_check_failure); // E.6: integrity failure -> Idle
    EXPECT_TRUE(app.called("discard"));
}

TEST_F(FirmwareTest, SynchronousApplyResults) {
    struct Case {
        R returned;
        S state;
        R result;
    };
    const Case cases[] = {
        {R::success, S::idle, R::success},
        {R::update_failed, S::downloaded, R::update_failed},
        {R::integrity_check_failure, S::idle, R::integrity_check_failure},
        {R::not_enough_flash, S::idle, R::not_enough_flash},
        {R::connection_lost, S::downloaded, R::update_failed}, // not an apply outcome: 8
        {R::deferred, S::downloaded, R::deferred},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(static_cast<int>(c.returned));
        make(FW::Version::v1_1);
        go(S::downloaded);
        app.apply_result = c.returned;
        EXPECT_OK(exec(rid::update));
        expect(c.state, c.result);
    }
    // Deferred, then accepted by the user.
    EXPECT_OK(fw->start_deferred_update());
    expect(S::updating, R::initial);
    EXPECT_STATUS(fw->start_deferred_update(), Status::method_not_allowed);
    // Object 1.0 has no value 11: a deferral leaves Update Result 0.
    make(FW::Version::v1_0);
    go(S::downloaded);
    app.apply_result = R::deferred;
    EXPECT_OK(exec(rid::update));
    expect(S::downloaded, R::initial);
}

TEST_F(FirmwareTest, PullDownloadsThroughTheFetcher) {
    listener.paths.clear();
    EXPECT_OK(write_uri("coaps://fw.example.com:5684/images/v2.bin"));
    expect(S::downloading, R::initial);
    ASSERT_EQ(fetcher.uris.size(), 1u);
    EXPECT_EQ(fetcher.uris[0], "coaps://fw.example.com:5684/images/v2.bin");
    ASSERT_NE(fetcher.sink, nullptr);
    const Bytes pkg = package(2048);
    fetcher.sink->on_download_chunk(0, BytesView(pkg).first(1024), 2048);
    fetcher.sink->on_download_chunk(1024, BytesView(pkg).subspan(1024), 2048);
    fetcher.sink->on_download_complete();
    expect(S::downloaded, R::initial);
    EXPECT_EQ(app.stored, pkg);
    EXPECT_EQ(app.totals.back(), 2048u);
    EXPECT_EQ(fw->package_uri(), "coaps://fw.example.com:5684/images/v2.bin");
    auto uri = fw->read(dm1, P(5, 0, rid::package_uri));
    ASSERT_TRUE(uri);
    EXPECT_EQ(std::get<dm::Resource>(uri->node).value,
              dm::Value::string("coaps://fw.example.com:5684/images/v2.bin"));
    // Late calls after completion are ignored.
    fetcher.sink->on_download_failed(DownloadError::connection_lost);
    expect(S::downloaded, R::initial);
}

TEST_F(FirmwareTest, PullFailuresMapToUpdateResult) {
    struct Case {
        DownloadError error;
        R result;
    };
    const Case cases[] = {
        {DownloadError::not_enough_storage, R::not_enough_flash},
        {DownloadError::out_of_memory, R::out_of_ram},
        {DownloadError::connection_lost, R::connection_lost},
        {DownloadError::invalid_uri, R::invalid_uri},
        {DownloadError::unsupported_protocol, R::unsupported_protocol},
        {DownloadError::not_found, R::invalid_uri},
        {DownloadError::cancelled, R::initial},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(static_cast<int>(c.error));
        make(FW::Version::v1_1);
        go(S::downloading);
        const Bytes part = package(10);
        fetcher.sink->on_download_chunk(0, part, std::nullopt);
        app.calls.clear();
        fetcher.sink->on_download_failed(c.error);
        expect(S::idle, c.result);
        EXPECT_TRUE(app.called("discard"));
        EXPECT_TRUE(app.stored.empty());
    }
    // The fetcher can refuse at once (E.6.1: still a successful Write).
    make(FW::Version::v1_1);
    fetcher.fail_at_start = DownloadError::unsupported_protocol;
    EXPECT_OK(write_uri("coap://fw.example.com/x"));
    expect(S::idle, R::unsupported_protocol);
}

TEST_F(FirmwareTest, PullStorageFailuresAndGapsCancelTheDownload) {
    go(S::downloading);
    app.fail_open = R::not_enough_flash;
    fetcher.sink->on_download_chunk(0, package(10), 1'000'000'000);
    expect(S::idle, R::not_enough_flash);
    EXPECT_EQ(fetcher.cancels, 1);

    app.fail_open = std::nullopt;
    go(S::downloading);
    DownloadSink* sink = fetcher.sink;
    sink->on_download_chunk(0, package(10), std::nullopt);
    sink->on_download_chunk(20, package(10), std::nullopt); // a gap
    expect(S::idle, R::connection_lost);
    EXPECT_EQ(fetcher.cancels, 2);
    sink->on_download_chunk(10, package(10), std::nullopt); // stale: ignored
    expect(S::idle, R::connection_lost);

    go(S::downloading);
    fetcher.sink->on_download_chunk(0, package(10), std::nullopt);
    app.fail_finish = R::integrity_check_failure;
    fetcher.sink->on_download_complete();
    expect(S::idle, R::integrity_check_failure);
}

TEST_F(FirmwareTest, PackageUriChecks) {
    struct Case {
        const char* uri;
        R result;
    };
    const Case cases[] = {
        {"not a uri", R::invalid_uri},
        {"coap:/fw.example.com/x", R::invalid_uri},
        {"coap://", R::invalid_uri},
        {"://fw.example.com", R::invalid_uri},
        {"1coap://fw.example.com", R::invalid_uri},
        {"http://fw.example.com/x", R::unsupported_protocol}, // not in Resource 8
        {"ftp://fw.example.com/x", R::unsupported_protocol},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.uri);
        make(FW::Version::v1_1);
        EXPECT_OK(write_uri(c.uri));
        expect(S::idle, c.result);
        EXPECT_TRUE(fetcher.uris.empty());
        EXPECT_EQ(fw->package_uri(), c.uri);
    }
    // Over the definition's 0..255: a bad value (4.00), nothing changes.
    EXPECT_STATUS(write_uri("coap://h/" + std::string(250, 'a')), Status::bad_request);
    EXPECT_EQ(fw->package_uri(), "ftp://fw.example.com/x");
    // Case-insensitive scheme (RFC 3986 §3.1).
    make(FW::Version::v1_1);
    EXPECT_OK(write_uri("COAP://fw.example.com/x"));
    expect(S::downloading, R::initial);
    // Push-only device: every URI is an unsupported protocol.
    make(FW::Version::v1_1, false);
    EXPECT_OK(write_uri("coap://fw.example.com/x"));
    expect(S::idle, R::unsupported_protocol);
}

TEST_F(FirmwareTest, CancelDuringPullStopsTheFetcher) {
    go(S::downloading);
    DownloadSink* sink = fetcher.sink;
    sink->on_download_chunk(0, package(10), std::nullopt);
    EXPECT_OK(exec(rid::cancel));
    expect(S::idle, R::cancelled);
    EXPECT_EQ(fetcher.cancels, 1);
    EXPECT_TRUE(app.called("discard"));
    sink->on_download_complete(); // stale
    expect(S::idle, R::cancelled);
    // 1.0 has no Cancel resource.
    make(FW::Version::v1_0);
    go(S::downloaded);
    EXPECT_STATUS(exec(rid::cancel), Status::not_found);
    expect(S::downloaded, R::initial);
}

TEST_F(FirmwareTest, AutomaticUpgradeAtDownload) {
    make(FW::Version::v1_2);
    EXPECT_OK(write_res(dm1, rid::automatic_upgrade, dm::Value::boolean(true)));
    EXPECT_TRUE(fw->automatic_upgrade());
    EXPECT_OK(push(package()));
    expect(S::updating, R::initial);
    EXPECT_TRUE(app.called("apply"));
    make(FW::Version::v1_1); // no Resource 14 before 1.2
    EXPECT_STATUS(write_res(dm1, rid::automatic_upgrade, dm::Value::boolean(true)),
                  Status::not_found);
}

TEST_F(FirmwareTest, WritableSettingsAndReadOnlyResources) {
    EXPECT_OK(write_res(dm1, rid::severity, dm::Value::integer(0)));
    EXPECT_STATUS(write_res(dm1, rid::severity, dm::Value::integer(3)), Status::bad_request);
    EXPECT_EQ(fw->severity(), 0);
    EXPECT_OK(write_res(dm1, rid::maximum_defer_period, dm::Value::unsigned_integer(3600)));
    EXPECT_STATUS(write_res(dm1, rid::maximum_defer_period, dm::Value::integer(-1)),
                  Status::bad_request);
    EXPECT_EQ(fw->maximum_defer_period(), 3600u);
    for (std::uint16_t r : {rid::state, rid::update_result, rid::delivery_method, rid::pkg_name}) {
        EXPECT_STATUS(write_res(dm1, r, dm::Value::integer(1)), Status::method_not_allowed);
    }
    EXPECT_STATUS(fw->execute(dm1, P(5, 0, rid::state), ""), Status::method_not_allowed);
    EXPECT_STATUS(fw->create(dm1, std::nullopt, dm::Instance{}), Status::method_not_allowed);
    EXPECT_STATUS(fw->delete_(dm1, P(5, 0)), Status::method_not_allowed);
    EXPECT_OK(fw->set_package_info(std::string("image"), std::string("2.0.1")));
    auto name = fw->read(dm1, P(5, 0, rid::pkg_name));
    ASSERT_TRUE(name);
    EXPECT_EQ(std::get<dm::Resource>(name->node).value, dm::Value::string("image"));
    EXPECT_STATUS(fw->set_package_info(std::string(256, 'n'), std::nullopt), Status::bad_request);
    EXPECT_OK(fw->set_package_info(std::nullopt, std::nullopt));
    EXPECT_STATUS(fw->read(dm1, P(5, 0, rid::pkg_version)), Status::not_found);
    make(FW::Version::v1_0);
    EXPECT_STATUS(write_res(dm1, rid::severity, dm::Value::integer(1)), Status::not_found);
}

TEST_F(FirmwareTest, InstanceWritesCarryOneTrigger) {
    dm::Instance both;
    both.id = 0;
    both.resources[0] = test::res(0, dm::Value::opaque(package()));
    both.resources[1] = test::res(1, dm::Value::string("coap://x.example/fw"));
    EXPECT_STATUS(fw->write(dm1, P(5, 0), test::content(P(5, 0), both), WriteMode::partial),
                  Status::bad_request);
    expect(S::idle, R::initial);
    dm::Instance push_only;
    push_only.id = 0;
    push_only.resources[0] = test::res(0, dm::Value::opaque(package()));
    push_only.resources[11] = test::res(11, dm::Value::integer(2));
    EXPECT_OK(fw->write(dm1, P(5, 0), test::content(P(5, 0), push_only), WriteMode::partial));
    expect(S::downloaded, R::initial);
    EXPECT_EQ(fw->severity(), 2);
    // A large package through an instance write: the application limits sizes, not the object.
    ASSERT_TRUE(push(Bytes{std::byte{0}}));
    push_only.resources[0] = test::res(0, dm::Value::opaque(package(200 * 1024)));
    EXPECT_OK(fw->write(dm1, P(5, 0), test::content(P(5, 0), push_only), WriteMode::partial));
    expect(S::downloaded, R::initial);
    EXPECT_EQ(app.stored.size(), 200u * 1024u);
    // A Package of another type is malformed.
    EXPECT_STATUS(write_res(dm1, rid::package, dm::Value::string("abc")), Status::bad_request);
    EXPECT_STATUS(fw->write(dm1, P(5, 1, 0),
                            test::content(P(5, 1, 0), test::res(0, dm::Value::opaque({}))),
                            WriteMode::replace),
                  Status::not_found);
}

TEST_F(FirmwareTest, RestoreAfterReboot) {
    EXPECT_OK(fw->restore(S::updating, R::initial, "coap://fw.example.com/x"));
    expect(S::updating, R::initial);
    EXPECT_EQ(fw->package_uri(), "coap://fw.example.com/x");
    EXPECT_OK(fw->finish_update(R::success));
    expect(S::idle, R::success);

    make(FW::Version::v1_1);
    EXPECT_OK(fw->restore(S::idle, R::success));
    expect(S::idle, R::success);
    EXPECT_OK(fw->restore(S::downloaded, R::deferred));
    expect(S::downloaded, R::deferred);
    EXPECT_OK(fw->restore(S::downloading, R::initial));
    expect(S::idle, R::connection_lost);
    EXPECT_STATUS(fw->restore(S::downloaded, R::success), Status::bad_request);
    EXPECT_STATUS(fw->restore(S::updating, R::update_failed), Status::bad_request);
    EXPECT_STATUS(fw->restore(S::idle, static_cast<R>(12)), Status::bad_request);
    go(S::downloading);
    EXPECT_STATUS(fw->restore(S::idle, R::initial), Status::method_not_allowed);
    make(FW::Version::v1_0);
    EXPECT_STATUS(fw->restore(S::idle, R::cancelled), Status::bad_request); // 1.0: 0..9
}

TEST_F(FirmwareTest, LastStateChangeTimeIsStampedBeforeEachStateChange) {
    clock.set(1'750'000'000);
    go(S::downloaded);
    auto t = fw->read(dm1, P(5, 0, rid::last_state_change_time));
    ASSERT_TRUE(t);
    EXPECT_EQ(std::get<dm::Resource>(t->node).value, dm::Value::time(1'750'000'000));
    clock.advance(std::chrono::seconds(30));
    ASSERT_TRUE(exec(rid::update));
    t = fw->read(dm1, P(5, 0, rid::last_state_change_time));
    EXPECT_EQ(std::get<dm::Resource>(t->node).value, dm::Value::time(1'750'000'030));
}

TEST_F(FirmwareTest, DestroyingTheObjectCancelsARunningDownload) {
    go(S::downloading);
    fw.reset();
    EXPECT_EQ(fetcher.cancels, 1);
}

} // namespace firmware_update_test
} // namespace lwm2m::client

namespace lwm2m::client {
namespace firmware_update_test { // named: unity builds join the files

TEST(FirmwareDefinition, EveryResourceOfEveryVersionFollowsItsOperations) {
    for (auto v : {FW::Version::v1_0, FW::Version::v1_1, FW::Version::v1_2}) {
        FakeApp app;
        FakeFetcher fetcher;
        FW::Options o;
        o.version = v;
        o.fetcher = &fetcher;
        FW fw(app, o);
        EXPECT_GT(test::expect_operations_follow_definition(fw, fw.definition(), dm1), 25);
        EXPECT_EQ(fw.definition().object_version, fw.version());
    }
}

} // namespace firmware_update_test
} // namespace lwm2m::client
