// The Redis store's pure parts: CRC16 / key slots / hash tags (Redis Cluster specification, "Keys
// distribution model"), URLs, redirections and error classes, CLUSTER SLOTS replies, the record
// encodings and key names. The store over a real cluster: tests/integration/redis.
#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/redis_cluster.hpp>
#include <lwm2m/store/redis_stores.hpp>

namespace lwm2m::store {
namespace {

using redis::Reply;

TEST(RedisSlots, Crc16XmodemAndKeySlots) {
    EXPECT_EQ(redis::crc16("123456789"), 0x31C3); // the specification's test vector
    EXPECT_EQ(redis::crc16(""), 0);
    // Values Redis itself gives (CLUSTER KEYSLOT).
    EXPECT_EQ(redis::key_slot("foo"), 12182);
    EXPECT_EQ(redis::key_slot("bar"), 5061);
    EXPECT_EQ(redis::key_slot("hello"), 866);
    EXPECT_EQ(redis::key_slot("{user1000}.following"), redis::key_slot("{user1000}.followers"));
    EXPECT_EQ(redis::key_slot("lwm2m:{dev-1}:reg"), redis::key_slot("dev-1"));
    EXPECT_EQ(redis::key_slot("lwm2m:{dev-1}:obs"), redis::key_slot("other:{dev-1}:sec"));
}

TEST(RedisSlots, HashTagRules) {
    EXPECT_EQ(redis::hash_tag("foo{bar}{zap}"), "bar");     // the first {...}
    EXPECT_EQ(redis::hash_tag("foo{{bar}}zap"), "{bar");    // up to the first } after {
    EXPECT_EQ(redis::hash_tag("foo{}{bar}"), "foo{}{bar}"); // empty tag: the whole key
    EXPECT_EQ(redis::hash_tag("{}"), "{}");
    EXPECT_EQ(redis::hash_tag("foo{bar"), "foo{bar"); // no closing brace
    EXPECT_EQ(redis::hash_tag("plain"), "plain");
}

TEST(RedisUrl, ParsesListsAndRefusesBadUrls) {
    auto one = redis::parse_url("redis://127.0.0.1:7000");
    ASSERT_TRUE(one);
    ASSERT_EQ(one->size(), 1U);
    EXPECT_EQ((*one)[0].host, "127.0.0.1");
    EXPECT_EQ((*one)[0].port, 7000);
    auto list = redis::parse_url("redis://a:1,b,[::1]:7002,a:1");
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 3U); // duplicates dropped
    EXPECT_EQ((*list)[1].port, 6379);
    EXPECT_EQ((*list)[2].host, "::1");
    EXPECT_EQ((*list)[2].to_string(), "[::1]:7002");
    for (const char* bad :
         {"", "redis", "redis://", "http://a:1", "redis://a:0", "redis://a:65536", "redis://a:x",
          "redis://a:1,", "redis://,a:1", "redis://a:1/0", "redis://::1:7000", "redis://[::1",
          "redis://:7000", "redis://secret-pw@a:1", "redis://u:@a:1", "redis://u:se%2xret@a:1",
          "redis://u:secret%4@a:1", "redis://:secret-pw@"}) {
        std::string why;
        auto r = redis::parse_url(bad, &why);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), make_error_code(lwm2m::Errc::invalid_argument)) << bad;
        EXPECT_FALSE(why.empty()) << bad;
        EXPECT_EQ(why.find("secret"), std::string::npos) << why; // never the password
    }
}

TEST(RedisUrl, UserInfoIsTheAuthOfEveryNode) {
    redis::Auth auth;
    auto r = redis::parse_url("redis://:s3cret@a:1,b:2", nullptr, &auth);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 2U);
    EXPECT_EQ((*r)[0].host, "a");
    EXPECT_EQ((*r)[1].port, 2);
    EXPECT_EQ(auth.user, "");
    EXPECT_EQ(as_string_view(auth.password.view()), "s3cret");
    // An ACL user; percent-escapes decoded (an '@' and a ':' in the password).
    r = redis::parse_url("redis://app%2D1:p%40ss%3Aw0rd@[::1]:7000", nullptr, &auth);
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)[0].host, "::1");
    EXPECT_EQ(auth.user, "app-1");
    EXPECT_EQ(as_string_view(auth.password.view()), "p@ss:w0rd");
    // A raw '@' in the password: the last '@' ends the user info.
    r = redis::parse_url("redis://u:a@b@h:3", nullptr, &auth);
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)[0].host, "h");
    EXPECT_EQ(as_string_view(auth.password.view()), "a@b");
    // No user info: no AUTH.
    r = redis::parse_url("redis://h:3", nullptr, &auth);
    ASSERT_TRUE(r);
    EXPECT_TRUE(auth.password.empty());

    EXPECT_EQ(redis::redact_url("redis://app:p%40ss@h:1,h:2"), "redis://app:***@h:1,h:2");
    EXPECT_EQ(redis::redact_url("redis://:pw@h:1"), "redis://:***@h:1");
    EXPECT_EQ(redis::redact_url("redis://u:a@b@h:1"), "redis://u:***@h:1");
    EXPECT_EQ(redis::redact_url("redis://h:1,h:2"), "redis://h:1,h:2");
    EXPECT_EQ(redis::redact_url("sqlite"), "sqlite");
}

TEST(RedisReplies, RedirectionsAndErrorClasses) {
    auto m = redis::parse_redirect("MOVED 3999 127.0.0.1:6381");
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->ask);
    EXPECT_EQ(m->slot, 3999);
    EXPECT_EQ(m->to, (redis::HostPort{"127.0.0.1", 6381}));
    auto a = redis::parse_redirect("ASK 16383 [::1]:7001");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->ask);
    EXPECT_EQ(a->slot, 16383);
    EXPECT_EQ(a->to.host, "::1");
    // An unknown endpoint (":port") means the node that answered.
    auto u = redis::parse_redirect("MOVED 1 :7005", "10.0.0.9");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->to, (redis::HostPort{"10.0.0.9", 7005}));
    for (const char* bad : {"MOVED", "MOVED 16384 a:1", "MOVED x a:1", "MOVED 1 a", "ASK 1",
                            "ERR MOVED 1 a:1", "MOVED 1 a:0"})
        EXPECT_FALSE(redis::parse_redirect(bad)) << bad;

    using redis::ErrorKind;
    EXPECT_EQ(redis::classify_error("MOVED 1 a:1"), ErrorKind::moved);
    EXPECT_EQ(redis::classify_error("ASK 1 a:1"), ErrorKind::ask);
    EXPECT_EQ(redis::classify_error("TRYAGAIN Multiple keys request during rehashing of slot"),
              ErrorKind::transient);
    EXPECT_EQ(redis::classify_error("CLUSTERDOWN The cluster is down"), ErrorKind::transient);
    EXPECT_EQ(redis::classify_error("LOADING Redis is loading the dataset in memory"),
              ErrorKind::transient);
    EXPECT_EQ(redis::classify_error("READONLY You can't write against a read only replica."),
              ErrorKind::transient);
    EXPECT_EQ(redis::classify_error("MASTERDOWN Link with MASTER is down"), ErrorKind::transient);
    EXPECT_EQ(redis::classify_error("ERR wrong number of arguments"), ErrorKind::other);
    EXPECT_EQ(redis::classify_error("NOSCRIPT No matching script"), ErrorKind::other);
    EXPECT_EQ(redis::classify_error("TRYAGAINX"), ErrorKind::other);
}

Reply integer(long long v) {
    Reply r;
    r.type = Reply::Type::integer;
    r.integer = v;
    return r;
}
Reply string(std::string s) {
    Reply r;
    r.type = Reply::Type::string;
    r.str = std::move(s);
    return r;
}
Reply array(std::vector<Reply> e) {
    Reply r;
    r.type = Reply::Type::array;
    r.elements = std::move(e);
    return r;
}

TEST(RedisReplies, ClusterSlots) {
    // Redis 7: [first, last, [host, port, id, {meta}], [replica...]...]
    auto reply = array({array({integer(0), integer(5460),
                               array({string("127.0.0.1"), integer(7000), string("id0")}),
                               array({string("127.0.0.1"), integer(7003), string("id3")})}),
                        array({integer(5461), integer(16383),
                               array({string(""), integer(7001), string("id1")})})});
    auto slots = redis::parse_cluster_slots(reply, "10.1.1.1");
    ASSERT_TRUE(slots);
    ASSERT_EQ(slots->size(), 2U);
    EXPECT_EQ((*slots)[0].primary, (redis::HostPort{"127.0.0.1", 7000}));
    ASSERT_EQ((*slots)[0].replicas.size(), 1U);
    EXPECT_EQ((*slots)[0].replicas[0].port, 7003);
    EXPECT_EQ((*slots)[1].primary, (redis::HostPort{"10.1.1.1", 7001})); // empty host: asked
    EXPECT_TRUE((*slots)[1].replicas.empty());
    EXPECT_EQ((*slots)[1].last, 16383);
    // Malformed replies.
    for (const auto& bad :
         {string("x"), array({array({integer(0)})}),
          array({array({integer(5), integer(1), array({string("h"), integer(1)})})}),
          array({array({integer(0), integer(16384), array({string("h"), integer(1)})})}),
          array({array({integer(0), integer(1), array({string("h"), integer(70000)})})}),
          array({array({integer(0), integer(1), array({string("h")})})})}) {
        auto r = redis::parse_cluster_slots(bad, "h");
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), make_error_code(Errc::corrupt));
    }
}

TEST(RedisCodec, RegistrationAndObservationRoundTrip) {
    RegistrationRecord r;
    r.endpoint = "dev\0bin"; // any bytes
    r.location = "12ab";
    r.lwm2m_version = "1.2";
    r.lifetime_s = 4'000'000'000U;
    r.binding = "UQ";
    r.queue_mode = true;
    r.sms_number = "+49";
    r.object_links = std::string(3000, 'x');
    r.peer = PeerAddr::v6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, 5684);
    r.peer.scope_id = 7;
    r.socket = 3;
    r.security = SecurityMode::x509;
    r.registered_at = -5;
    r.updated_at = 1'700'000'000'000;
    auto enc = redis_codec::encode(r);
    EXPECT_EQ(static_cast<std::uint8_t>(enc[0]), redis_codec::version);
    auto dec = redis_codec::decode_registration(enc);
    ASSERT_TRUE(dec);
    EXPECT_EQ(*dec, r);
    r.peer = PeerAddr::v4(192, 0, 2, 1, 1);
    EXPECT_EQ(*redis_codec::decode_registration(redis_codec::encode(r)), r);

    ObservationRecord o;
    o.endpoint = "dev";
    o.id = ~0ULL;
    o.token = {std::byte{0}, std::byte{0xff}};
    o.composite = true;
    o.paths = {"/3/0/1", "/1"};
    o.accept = 11542;
    o.created_at = 42;
    EXPECT_EQ(*redis_codec::decode_observation(redis_codec::encode(o)), o);
    o.accept.reset();
    o.paths.clear();
    EXPECT_EQ(*redis_codec::decode_observation(redis_codec::encode(o)), o);

    // Every truncation, a newer version, trailing bytes: corrupt, never a crash.
    const auto good = redis_codec::encode(r);
    for (std::size_t n = 0; n < good.size(); ++n)
        EXPECT_EQ(redis_codec::decode_registration(good.substr(0, n)).error(),
                  make_error_code(Errc::corrupt))
            << n;
    auto newer = good;
    newer[0] = 2;
    EXPECT_FALSE(redis_codec::decode_registration(newer));
    EXPECT_FALSE(redis_codec::decode_registration(good + "x"));
    const auto go = redis_codec::encode(o);
    for (std::size_t n = 0; n < go.size(); ++n)
        EXPECT_FALSE(redis_codec::decode_observation(go.substr(0, n))) << n;
}

TEST(RedisKeys, OneHashTagPerEndpoint) {
    RedisKeys k{"lwm2m"};
    EXPECT_EQ(k.reg("dev-1"), "lwm2m:{dev-1}:reg");
    EXPECT_EQ(k.obs("dev-1"), "lwm2m:{dev-1}:obs");
    EXPECT_EQ(k.sec("dev-1"), "lwm2m:{dev-1}:sec");
    EXPECT_EQ(k.bscfg("dev-1"), "lwm2m:{dev-1}:bscfg");
    EXPECT_EQ(redis::key_slot(k.reg("dev-1")), redis::key_slot(k.obs("dev-1")));
    EXPECT_EQ(redis::key_slot(k.reg("dev-1")), redis::key_slot(k.sec("dev-1")));
    EXPECT_EQ(redis::key_slot(k.events()), redis::key_slot(k.event_seq()));
    EXPECT_EQ(k.endpoint_of("lwm2m:{dev-1}:reg"), "dev-1");
    EXPECT_EQ(k.endpoint_of("lwm2m:{a}b}:reg"), "a}b");
    EXPECT_FALSE(k.endpoint_of("other:{dev-1}:reg"));
    EXPECT_FALSE(k.endpoint_of("lwm2m:dev"));
    EXPECT_EQ(k.pattern("reg"), "lwm2m:{*}:reg");
    RedisKeys glob{"a*b?[c]"};
    EXPECT_EQ(glob.pattern("sec"), "a\\*b\\?\\[c\\]:{*}:sec");
}

TEST(RedisKeys, CredentialKeysAndTheChangeChannel) {
    RedisKeys k{"lwm2m"};
    EXPECT_EQ(k.change_channel(), "lwm2m:bus:changes");
    SecurityInfo i;
    i.endpoint = "ep";
    i.psk_identity = Bytes{std::byte{0x00}, std::byte{0x7b}, std::byte{0xff}}; // binary, '{'
    EXPECT_EQ(k.credential(i), "lwm2m:cred:psk:007bff");
    i.mode = SecurityMode::rpk;
    i.psk_identity.clear();
    i.rpk_public_key = to_bytes("abc");
    // SHA-256("abc") (FIPS 180-2 test vector).
    EXPECT_EQ(k.credential(i),
              "lwm2m:cred:rpk:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    i.mode = SecurityMode::x509;
    i.rpk_public_key.clear();
    EXPECT_EQ(k.credential(i), "lwm2m:cred:x509:6570"); // the endpoint is the expected name
    i.x509_common_name = "A";
    EXPECT_EQ(k.credential(i), "lwm2m:cred:x509:41");
    i.mode = SecurityMode::nosec;
    EXPECT_FALSE(k.credential(i));
}

TEST(RedisChanges, NoticesRoundTripAndBadOnesAreRefused) {
    EXPECT_EQ(encode_change(ChangeKind::security, "dev-1"), "sdev-1");
    EXPECT_EQ(encode_change(ChangeKind::bootstrap_config, "dev-1"), "bdev-1");
    const std::string odd("a\0b{}", 6);
    auto n = decode_change(encode_change(ChangeKind::bootstrap_config, odd));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->kind, ChangeKind::bootstrap_config);
    EXPECT_EQ(n->endpoint, odd);
    EXPECT_FALSE(decode_change(""));
    EXPECT_FALSE(decode_change("xdev"));
}

TEST(RedisStoresOpen, BadUrlOrUnreachableClusterIsAClearError) {
    std::string why;
    auto r = RedisStores::open("redis://", "/nonexistent/secret.key", {}, &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(lwm2m::Errc::invalid_argument));
    EXPECT_NE(why.find("host:port"), std::string::npos) << why;
}

TEST(RedisCluster, UnreachableSeedsFailWithTheirAddress) {
    // Port 1 on loopback: connection refused at once; a short deadline keeps this fast.
    redis::ClusterOptions o;
    o.retry_deadline = std::chrono::milliseconds(200);
    std::string why;
    auto c = redis::ClusterClient::connect({{"127.0.0.1", 1}}, o, &why);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), make_error_code(Errc::unavailable));
    EXPECT_NE(why.find("127.0.0.1:1"), std::string::npos) << why;
}

} // namespace
} // namespace lwm2m::store
