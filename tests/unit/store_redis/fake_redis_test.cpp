// redis::ClusterClient against scripted fake Redis nodes on 127.0.0.1 (RESP over TCP, answers
// chosen by the test): -MOVED, -ASK, -TRYAGAIN, -CLUSTERDOWN until the deadline, a connection
// closed before the reply, errors passed through, a server without cluster support, WAIT.
// Exact sequences a real cluster cannot be made to produce on demand; the real cluster runs in
// tests/integration/redis.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <lwm2m/store/redis_change_listener.hpp>
#include <lwm2m/store/redis_cluster.hpp>
#include <lwm2m/store/redis_stores.hpp>
#include <lwm2m/store/secret_box.hpp>

namespace lwm2m::store::redis {
namespace {

/// One fake node: a listening socket on 127.0.0.1 and a thread per connection. `handler` gets
/// each command's arguments and returns the raw RESP reply; an empty string closes the
/// connection without answering.
class FakeRedis {
public:
    using Handler = std::function<std::string(const std::vector<std::string>&)>;
    explicit FakeRedis(Handler handler)
        : handler_(std::move(handler)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(fd_, 16), 0);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~FakeRedis() {
        stopping_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        acceptor_.join();
        std::lock_guard lock(m_);
        for (int c : conns_)
            ::shutdown(c, SHUT_RDWR);
        for (auto& t : threads_)
            t.join();
        for (int c : conns_)
            ::close(c);
    }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] HostPort addr() const { return {"127.0.0.1", port_}; }
    [[nodiscard]] std::vector<std::vector<std::string>> seen() {
        std::lock_guard lock(m_);
        return seen_;
    }
    [[nodiscard]] int connections() const { return accepted_; }

private:
    void accept_loop() {
        while (!stopping_) {
            const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) return;
            ++accepted_;
            std::lock_guard lock(m_);
            conns_.push_back(c);
            threads_.emplace_back([this, c] { serve(c); });
        }
    }
    void serve(int c) {
        std::string buf;
        char tmp[4096];
        for (;;) {
            std::vector<std::string> args;
            while (!parse(buf, args)) {
                const auto n = ::recv(c, tmp, sizeof tmp, 0);
                if (n <= 0) return;
                buf.append(tmp, static_cast<std::size_t>(n));
            }
            {
                std::lock_guard lock(m_);
                seen_.push_back(args);
            }
            const auto reply = handler_(args);
            if (reply.empty()) {
                ::shutdown(c, SHUT_RDWR);
                return;
            }
            if (::send(c, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) return;
        }
    }
    /// One "*N\r\n$len\r\narg\r\n..." command from the front of `buf`.
    static bool parse(std::string& buf, std::vector<std::string>& args) {
        std::size_t pos = 0;
        auto line = [&](std::string& out) {
            const auto e = buf.find("\r\n", pos);
            if (e == std::string::npos) return false;
            out = buf.substr(pos, e - pos);
            pos = e + 2;
            return true;
        };
        std::string head;
        if (!line(head) || head.empty() || head[0] != '*') return false;
        const int n = std::stoi(head.substr(1));
        args.clear();
        for (int i = 0; i < n; ++i) {
            std::string len;
            if (!line(len)) return false;
            const auto l = static_cast<std::size_t>(std::stoul(len.substr(1)));
            if (buf.size() < pos + l + 2) return false;
            args.push_back(buf.substr(pos, l));
            pos += l + 2;
        }
        buf.erase(0, pos);
        return true;
    }

    Handler handler_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> accepted_{0};
    std::mutex m_;
    std::vector<int> conns_;
    std::vector<std::thread> threads_;
    std::vector<std::vector<std::string>> seen_;
    std::thread acceptor_;
};

std::string bulk(const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

/// CLUSTER SLOTS: every slot on `port`, no replica.
std::string all_slots(std::uint16_t port) {
    return "*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n" + bulk("127.0.0.1") + ":" + std::to_string(port) +
           "\r\n" + bulk("id") + "";
}

ClusterOptions fast() {
    ClusterOptions o;
    o.retry_deadline = std::chrono::milliseconds(2000);
    o.command_timeout = std::chrono::milliseconds(2000);
    return o;
}

std::size_t count(const std::vector<std::vector<std::string>>& seen, const std::string& cmd) {
    std::size_t n = 0;
    for (const auto& a : seen)
        n += !a.empty() && a[0] == cmd;
    return n;
}

TEST(FakeRedisCluster, MovedRepointsTheSlotAndRefreshesTheMap) {
    std::atomic<std::uint16_t> owner{0};
    FakeRedis b([](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "GET") return bulk("from-b");
        return "-ERR unexpected\r\n";
    });
    FakeRedis seed([&](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "CLUSTER") return all_slots(owner.load());
        if (a[0] == "GET")
            return "-MOVED " + std::to_string(key_slot(a[1])) +
                   " 127.0.0.1:" + std::to_string(b.port()) + "\r\n";
        return "-ERR unexpected\r\n";
    });
    owner = seed.port();
    auto c = ClusterClient::connect({seed.addr()}, fast());
    ASSERT_TRUE(c);
    owner = b.port(); // the next CLUSTER SLOTS says the slots moved
    auto r = (*c)->run(command({"GET", "k"}, "k"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->str, "from-b");
    EXPECT_EQ((*c)->stats().moved, 1U);
    EXPECT_EQ((*c)->owner(key_slot("k")), b.addr());
    // Straight to b now.
    r = (*c)->run(command({"GET", "k2"}, "k2"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->str, "from-b");
    EXPECT_EQ(count(seed.seen(), "GET"), 1U);
    EXPECT_GE(count(seed.seen(), "CLUSTER"), 2U); // the refresh after -MOVED
}

TEST(FakeRedisCluster, AskGoesToTheOtherNodeOnceWithAsking) {
    FakeRedis b([](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "ASKING") return "+OK\r\n";
        if (a[0] == "GET") return bulk("migrated");
        return "-ERR unexpected\r\n";
    });
    std::uint16_t seed_port = 0;
    FakeRedis seed([&](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "CLUSTER") return all_slots(seed_port);
        if (a[0] == "GET" && a[1] == "moving")
            return "-ASK " + std::to_string(key_slot(a[1])) +
                   " 127.0.0.1:" + std::to_string(b.port()) + "\r\n";
        if (a[0] == "GET") return bulk("here");
        return "-ERR unexpected\r\n";
    });
    seed_port = seed.port();
    auto c = ClusterClient::connect({seed.addr()}, fast());
    ASSERT_TRUE(c);
    std::vector<Command> cmds{command({"GET", "stay"}, "stay"),
                              command({"GET", "moving"}, "moving"),
                              command({"GET", "stay"}, "stay")};
    auto r = (*c)->run(cmds);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 3U);
    EXPECT_EQ((*r)[0].str, "here");
    EXPECT_EQ((*r)[1].str, "migrated");
    EXPECT_EQ((*r)[2].str, "here");
    EXPECT_EQ((*c)->stats().asked, 1U);
    const auto at_b = b.seen();
    ASSERT_EQ(at_b.size(), 2U);
    EXPECT_EQ(at_b[0][0], "ASKING");
    EXPECT_EQ(at_b[1], (std::vector<std::string>{"GET", "moving"}));
    EXPECT_EQ((*c)->owner(key_slot("moving")), seed.addr()); // -ASK leaves the map alone
}

TEST(FakeRedisCluster, TryagainAndALostConnectionAreRetried) {
    std::atomic<int> sets{0};
    std::atomic<int> gets{0};
    std::uint16_t port = 0;
    FakeRedis seed([&](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "CLUSTER") return all_slots(port);
        if (a[0] == "SET") return ++sets == 1 ? "-TRYAGAIN Multiple keys request\r\n" : "+OK\r\n";
        if (a[0] == "GET") return ++gets == 1 ? std::string() : bulk("v"); // close, then answer
        return "-ERR unexpected\r\n";
    });
    port = seed.port();
    ClusterOptions o = fast();
    o.wait_replicas = 0;
    auto c = ClusterClient::connect({seed.addr()}, o);
    ASSERT_TRUE(c);
    auto r = (*c)->run(command({"SET", "k", "v"}, "k", true));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->str, "OK");
    EXPECT_EQ(sets.load(), 2);
    r = (*c)->run(command({"GET", "k"}, "k"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->str, "v");
    EXPECT_EQ(gets.load(), 2);
    EXPECT_GE(seed.connections(), 2); // reconnected after the close
    EXPECT_EQ((*c)->stats().retries, 2U);
}

TEST(FakeRedisCluster, ClusterdownUntilTheDeadlineIsUnavailableNamingTheNode) {
    std::uint16_t port = 0;
    FakeRedis seed([&](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "CLUSTER") return all_slots(port);
        return "-CLUSTERDOWN The cluster is down\r\n";
    });
    port = seed.port();
    ClusterOptions o = fast();
    o.retry_deadline = std::chrono::milliseconds(300);
    auto c = ClusterClient::connect({seed.addr()}, o);
    ASSERT_TRUE(c);
    auto r = (*c)->run(command({"GET", "k"}, "k"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::unavailable));
    const auto why = (*c)->last_error();
    EXPECT_NE(why.find(seed.addr().to_string()), std::string::npos) << why;
    EXPECT_NE(why.find("CLUSTERDOWN"), std::string::npos) << why;
    EXPECT_GE(count(seed.seen(), "GET"), 3U); // retried with back-off, bounded
}

TEST(FakeRedisCluster, OtherErrorsAreTheCommandsReply) {
    std::uint16_t port = 0;
    FakeRedis seed([&](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "CLUSTER") return all_slots(port);
        return "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    });
    port = seed.port();
    auto c = ClusterClient::connect({seed.addr()}, fast());
    ASSERT_TRUE(c);
    auto r = (*c)->run(command({"HGETALL", "k"}, "k"));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->is_error());
    EXPECT_EQ(r->str.rfind("WRONGTYPE", 0), 0U);
    EXPECT_EQ((*c)->stats().retries, 0U);
}

TEST(FakeRedisCluster, EveryConnectionAuthenticatesFirstAndARefusalNamesTheNode) {
    std::uint16_t port = 0;
    FakeRedis seed([&](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "AUTH")
            return a.size() == 3 && a[1] == "app" && a[2] == "pw:1"
                       ? "+OK\r\n"
                       : "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
        if (a[0] == "CLUSTER") return all_slots(port);
        if (a[0] == "GET") return bulk("v");
        return "-ERR unexpected\r\n";
    });
    port = seed.port();
    ClusterOptions o = fast();
    o.auth.user = "app";
    o.auth.password = SecretBytes(as_bytes("pw:1"));
    auto c = ClusterClient::connect({seed.addr()}, o);
    ASSERT_TRUE(c);
    auto r = (*c)->run(command({"GET", "k"}, "k"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->str, "v");
    // Each connection's first command is AUTH.
    const auto seen = seed.seen();
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.front()[0], "AUTH");
    EXPECT_EQ(count(seen, "AUTH"), static_cast<std::size_t>(seed.connections()));

    // A wrong password: the call fails, its error names the node and Redis's reason, never the
    // password.
    // At start this fails at the first refusal (a configuration error), without retrying
    // until the deadline.
    o.auth.password = SecretBytes(as_bytes("wrong-secret"));
    o.retry_deadline = std::chrono::milliseconds(5000);
    std::string why;
    auto refused = ClusterClient::connect({seed.addr()}, o, &why);
    std::size_t wrong = 0;
    for (const auto& a : seed.seen())
        wrong += a.size() == 3 && a[0] == "AUTH" && a[2] == "wrong-secret";
    EXPECT_EQ(wrong, 1U);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), make_error_code(Errc::unavailable));
    EXPECT_NE(why.find(seed.addr().to_string()), std::string::npos) << why;
    EXPECT_NE(why.find("authentication refused: WRONGPASS"), std::string::npos) << why;
    EXPECT_EQ(why.find("wrong-secret"), std::string::npos) << why;

    // The subscriber authenticates too.
    auto sub = Subscriber::connect({seed.addr()}, {"ch"}, o, &why);
    ASSERT_FALSE(sub);
    EXPECT_NE(why.find("authentication refused"), std::string::npos) << why;
}

TEST(FakeRedisCluster, WithoutClusterSupportOneNodeOwnsEverySlot) {
    FakeRedis solo([](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "CLUSTER") return "-ERR This instance has cluster support disabled\r\n";
        if (a[0] == "GET") return bulk("solo");
        return "-ERR unexpected\r\n";
    });
    auto c = ClusterClient::connect({solo.addr()}, fast());
    ASSERT_TRUE(c);
    EXPECT_TRUE((*c)->standalone());
    EXPECT_EQ((*c)->primaries(), (std::vector<HostPort>{solo.addr()}));
    auto r = (*c)->run(command({"GET", "anything"}, "anything"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->str, "solo");
}

TEST(FakeRedisCluster, WritesWaitForAnOnlineReplicaAndAreResentUntilAcknowledged) {
    std::atomic<int> waits{0};
    std::uint16_t port = 0;
    FakeRedis seed([&](const std::vector<std::string>& a) -> std::string {
        if (a[0] == "CLUSTER") return all_slots(port);
        if (a[0] == "INFO")
            return bulk("# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
                        "slave0:ip=127.0.0.1,port=1,state=online,offset=9,lag=0\r\n");
        if (a[0] == "SET") return "+OK\r\n";
        if (a[0] == "WAIT") return ++waits == 1 ? ":0\r\n" : ":1\r\n"; // acknowledged the 2nd time
        return "-ERR unexpected\r\n";
    });
    port = seed.port();
    auto c = ClusterClient::connect({seed.addr()}, fast());
    ASSERT_TRUE(c);
    auto r = (*c)->run(command({"SET", "k", "v"}, "k", true));
    ASSERT_TRUE(r) << (*c)->last_error();
    EXPECT_EQ(waits.load(), 2);
    EXPECT_EQ(count(seed.seen(), "SET"), 2U); // sent again with the second WAIT
    const auto seen = seed.seen();
    const auto wait_it =
        std::find_if(seen.begin(), seen.end(), [](const auto& a) { return a[0] == "WAIT"; });
    ASSERT_NE(wait_it, seen.end());
    EXPECT_EQ(*wait_it, (std::vector<std::string>{"WAIT", "1", "1000"}));
    EXPECT_EQ((*c)->stats().unreplicated, 0U);
    // A read waits for nothing.
    const auto before = waits.load();
    ASSERT_TRUE((*c)->run(command({"GET", "k"}, "k")));
    EXPECT_EQ(waits.load(), before);
}

// ---- Subscriber (pub/sub on a dedicated connection, docs/cluster.md "Transport")

/// SUBSCRIBE c1 c2 answered with both confirmations and one message on `channel`.
FakeRedis::Handler publisher(std::string channel, std::string payload) {
    return [channel, payload](const std::vector<std::string>& a) -> std::string {
        if (a.empty() || a[0] != "SUBSCRIBE") return "-ERR unexpected\r\n";
        std::string out;
        for (std::size_t i = 1; i < a.size(); ++i)
            out += "*3\r\n" + bulk(std::string("subscribe")) + bulk(a[i]) + ":" +
                   std::to_string(i) + "\r\n";
        return out + "*3\r\n" + bulk(std::string("message")) + bulk(channel) + bulk(payload);
    };
}

TEST(FakeRedisSubscriber, ReceivesTimesOutAndMovesToAnotherNodeWhenItsNodeGoes) {
    const std::string binary("a\r\nb\0c", 6);
    auto a = std::make_unique<FakeRedis>(publisher("c1", binary));
    FakeRedis b(publisher("c2", "world"));
    const auto a_addr = a->addr();
    std::string why;
    auto sub = Subscriber::connect({a_addr, b.addr()}, {"c1", "c2"}, {}, &why);
    ASSERT_TRUE(sub) << why;
    auto m = (*sub)->receive(std::chrono::milliseconds(2000));
    ASSERT_TRUE(m);
    ASSERT_TRUE(*m);
    EXPECT_EQ((*m)->channel, "c1");
    EXPECT_EQ((*m)->payload, binary);
    EXPECT_EQ((*sub)->node(), a_addr);
    auto seen = a->seen();
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0], (std::vector<std::string>{"SUBSCRIBE", "c1", "c2"}));
    // Nothing more: the wait ends at its timeout (never a hang).
    m = (*sub)->receive(std::chrono::milliseconds(50));
    ASSERT_TRUE(m);
    EXPECT_FALSE(*m);
    // Its node goes away: the loss is reported, then the next call subscribes on the other.
    a.reset();
    m = (*sub)->receive(std::chrono::milliseconds(2000));
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), make_error_code(Errc::unavailable));
    EXPECT_NE((*sub)->last_error().find(a_addr.to_string()), std::string::npos)
        << (*sub)->last_error();
    m = (*sub)->receive(std::chrono::milliseconds(2000));
    ASSERT_TRUE(m) << (*sub)->last_error();
    ASSERT_TRUE(*m);
    EXPECT_EQ((*m)->channel, "c2");
    EXPECT_EQ((*m)->payload, "world");
    EXPECT_EQ((*sub)->node(), b.addr());
    EXPECT_EQ((*sub)->connections(), 2U);
}

TEST(FakeRedisSubscriber, NoReachableNodeIsUnavailableAndNamesIt) {
    std::string why;
    auto sub = Subscriber::connect({{"127.0.0.1", 1}}, {"c"}, {}, &why);
    ASSERT_FALSE(sub);
    EXPECT_EQ(sub.error(), make_error_code(Errc::unavailable));
    EXPECT_NE(why.find("127.0.0.1:1"), std::string::npos) << why;
    EXPECT_FALSE(Subscriber::connect({}, {"c"}, {}, &why));
    EXPECT_FALSE(Subscriber::connect({{"127.0.0.1", 1}}, {}, {}, &why));
}

// ---- RedisChangeListener (docs/cluster.md "Credentials and bootstrap configurations")

/// SUBSCRIBE answered with its confirmation, then the given messages on the change channel.
FakeRedis::Handler change_publisher(std::vector<std::string> payloads) {
    return [payloads](const std::vector<std::string>& a) -> std::string {
        if (a.size() != 2 || a[0] != "SUBSCRIBE") return "-ERR unexpected\r\n";
        std::string out = "*3\r\n" + bulk("subscribe") + bulk(a[1]) + ":1\r\n";
        for (const auto& p : payloads)
            out += "*3\r\n" + bulk("message") + bulk(a[1]) + bulk(p);
        return out;
    };
}

TEST(FakeRedisChangeListener, NoticesReachTheHandlerAndEverySubscriptionResyncs) {
    auto a = std::make_unique<FakeRedis>(change_publisher({"sdev-1", "?bad", "bcfg-1"}));
    FakeRedis b(change_publisher({"sdev-2"}));
    std::mutex m;
    std::vector<std::string> events; // "resync" or "<kind char><endpoint>"
    RedisChangeListenerOptions o;
    o.nodes = {a->addr(), b.addr()};
    o.keys = RedisKeys{"t"};
    o.cluster = fast();
    o.poll = std::chrono::milliseconds(50);
    auto l = RedisChangeListener::start(
        o,
        [&](const ChangeNotice& n) {
            std::lock_guard lock(m);
            events.push_back(encode_change(n.kind, n.endpoint));
        },
        [&] {
            std::lock_guard lock(m);
            events.emplace_back("resync");
        });
    ASSERT_TRUE(l);
    auto wait_for = [&](std::size_t n) {
        for (int i = 0; i < 400; ++i) {
            {
                std::lock_guard lock(m);
                if (events.size() >= n) return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    };
    ASSERT_TRUE(wait_for(3));
    {
        std::lock_guard lock(m);
        EXPECT_EQ(events, (std::vector<std::string>{"resync", "sdev-1", "bcfg-1"}));
    }
    EXPECT_EQ(a->seen().front(), (std::vector<std::string>{"SUBSCRIBE", "t:bus:changes"}));
    // Its node goes: messages may have been lost meanwhile, so the next subscription (on the
    // other node) is followed by a full re-read before its notices.
    a.reset();
    ASSERT_TRUE(wait_for(5));
    {
        std::lock_guard lock(m);
        EXPECT_EQ(events,
                  (std::vector<std::string>{"resync", "sdev-1", "bcfg-1", "resync", "sdev-2"}));
    }
    const auto st = (*l)->stats();
    EXPECT_EQ(st.notices, 3U);
    EXPECT_EQ(st.bad, 1U);
    EXPECT_EQ(st.resyncs, 2U);
    EXPECT_EQ(st.connections, 2U);
    EXPECT_GE(st.disconnections, 1U);
}

TEST(FakeRedisChangeListener, ResyncsPeriodicallyAndStopsPromptly) {
    FakeRedis a(change_publisher({}));
    std::atomic<int> resyncs{0};
    RedisChangeListenerOptions o;
    o.nodes = {a.addr()};
    o.cluster = fast();
    o.poll = std::chrono::milliseconds(20);
    o.resync_interval = std::chrono::milliseconds(100);
    auto l = RedisChangeListener::start(o, {}, [&] { ++resyncs; });
    ASSERT_TRUE(l);
    for (int i = 0; i < 300 && resyncs < 3; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_GE(resyncs.load(), 3);
    const auto t0 = std::chrono::steady_clock::now();
    l->reset();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}

// ---- RedisSecurityStore's write protocol (docs/cluster.md "Credentials and bootstrap
// configurations"): claim, record, confirm, notice, in that order; a claim held elsewhere
// writes nothing; a notice that cannot be published is counted, the write stands.

/// One node without cluster support and without replica; `claim` answers the claim script.
struct FakeCredentialNode {
    std::mutex m;
    std::string claim_reply = ":1\r\n";
    std::string publish_reply = ":2\r\n";
    std::map<std::string, std::string> values;
    FakeRedis node{[this](const std::vector<std::string>& a) -> std::string {
        std::lock_guard lock(m);
        const auto& c = a[0];
        if (c == "CLUSTER") return "-ERR This instance has cluster support disabled\r\n";
        if (c == "INFO") return bulk("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
        if (c == "SCAN") return "*2\r\n" + bulk("0") + "*0\r\n";
        if (c == "SET") {
            values[a[1]] = a[2];
            return "+OK\r\n";
        }
        if (c == "DEL") return ":" + std::to_string(values.erase(a[1])) + "\r\n";
        if (c == "GET") {
            auto it = values.find(a[1]);
            return it == values.end() ? "$-1\r\n" : bulk(it->second);
        }
        if (c == "PUBLISH") return publish_reply;
        if (c == "EVALSHA" && a.size() == 6 && a[5] != "C" && a[5] != "D")
            return claim_reply;              // claim: KEYS[1], ARGV = endpoint, ttl
        if (c == "EVALSHA") return ":1\r\n"; // settle (confirm / release)
        return "-ERR unexpected\r\n";
    }};
};

SecurityInfo fake_psk(std::string ep, std::string identity) {
    SecurityInfo i;
    i.endpoint = std::move(ep);
    i.psk_identity = to_bytes(identity);
    i.psk_key = SecretBytes(to_bytes("0123456789abcdef"));
    return i;
}

TEST(FakeRedisSecurityStore, ClaimRecordConfirmNoticeInOrder) {
    FakeCredentialNode f;
    auto c = ClusterClient::connect({f.node.addr()}, fast());
    ASSERT_TRUE(c);
    auto box = SecretBox::from_key(SecretBytes(Bytes(32, std::byte{7})));
    ASSERT_TRUE(box);
    RedisKeys keys{"t"};
    auto s = RedisSecurityStore::open(**c, *box, keys);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->put(fake_psk("ep-1", "id-1")));
    const auto cred = *keys.credential(fake_psk("ep-1", "id-1"));
    std::vector<std::vector<std::string>> writes;
    for (const auto& a : f.node.seen())
        if (a[0] == "EVALSHA" || a[0] == "SET" || a[0] == "PUBLISH") writes.push_back(a);
    ASSERT_EQ(writes.size(), 4U);
    EXPECT_EQ(writes[0][0], "EVALSHA"); // the claim: the credential's key, pending
    EXPECT_EQ(writes[0][3], cred);
    EXPECT_EQ(writes[0][4], "ep-1");
    EXPECT_EQ(writes[0][5], "30000");
    EXPECT_EQ(writes[1][0], "SET"); // the record
    EXPECT_EQ(writes[1][1], keys.sec("ep-1"));
    EXPECT_EQ(writes[1][2].find("0123456789abcdef"), std::string::npos); // sealed
    EXPECT_EQ(writes[2][0], "EVALSHA"); // confirmed once the record is written
    EXPECT_EQ(writes[2][3], cred);
    EXPECT_EQ(writes[2][5], "C");
    EXPECT_EQ(writes[3], (std::vector<std::string>{"PUBLISH", "t:bus:changes", "sep-1"}));
    EXPECT_NE((*s)->find_by_psk_identity(to_bytes("id-1")), nullptr);
    EXPECT_EQ((*s)->publish_failures(), 0U);

    // The identity is pending at another node: 409, nothing written, nothing announced.
    {
        std::lock_guard lock(f.m);
        f.claim_reply = "*2\r\n" + bulk("ep-x") + ":12000\r\n";
    }
    const auto before = f.node.seen().size();
    std::string why;
    auto r = (*s)->put(fake_psk("ep-2", "id-2"), &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::conflict));
    EXPECT_EQ(why, "the PSK identity is bound to another endpoint");
    auto after = f.node.seen();
    after.erase(after.begin(), after.begin() + static_cast<std::ptrdiff_t>(before));
    EXPECT_EQ(count(after, "SET"), 0U);
    EXPECT_EQ(count(after, "PUBLISH"), 0U);
    EXPECT_EQ((*s)->find("ep-2"), nullptr);

    // The notice cannot be published: the write stands, the failure is counted.
    {
        std::lock_guard lock(f.m);
        f.claim_reply = ":1\r\n";
        f.publish_reply = "-ERR no\r\n";
    }
    ASSERT_TRUE((*s)->put(fake_psk("ep-3", "id-3")));
    EXPECT_NE((*s)->find("ep-3"), nullptr);
    EXPECT_EQ((*s)->publish_failures(), 1U);
    // Removal: the record goes, then the key is released (while ours), then the notice.
    {
        std::lock_guard lock(f.m);
        f.publish_reply = ":1\r\n";
    }
    const auto mark = f.node.seen().size();
    ASSERT_TRUE(*(*s)->remove("ep-1"));
    auto rm = f.node.seen();
    rm.erase(rm.begin(), rm.begin() + static_cast<std::ptrdiff_t>(mark));
    std::vector<std::string> order;
    for (const auto& a : rm)
        if (a[0] == "DEL" || a[0] == "EVALSHA" || a[0] == "PUBLISH")
            order.push_back(a[0] == "EVALSHA" ? "EVALSHA " + a[5] : a[0]);
    EXPECT_EQ(order, (std::vector<std::string>{"DEL", "EVALSHA D", "PUBLISH"}));
}

} // namespace
} // namespace lwm2m::store::redis
