// store::write_file_atomic / read_file: content, mode 0600, no leftovers, size cap, errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/atomic_file.hpp>

namespace lwm2m::store {
namespace {

class AtomicFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("lwm2m_atomic_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        path_ = (dir_ / "state.bin").string();
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::size_t entries() const {
        return static_cast<std::size_t>(
            std::distance(std::filesystem::directory_iterator(dir_), {}));
    }
    std::filesystem::path dir_;
    std::string path_;
};

Bytes pattern(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::byte>(seed + i * 13);
    return b;
}

TEST_F(AtomicFileTest, WritesExactContentWithMode0600AndNoTemporaryLeft) {
    const ::mode_t old = ::umask(0); // even with a permissive umask the file is 0600
    for (std::size_t n :
         {std::size_t{0}, std::size_t{1}, write_chunk_size, 3 * write_chunk_size + 17}) {
        const Bytes data = pattern(n, static_cast<std::uint8_t>(n));
        ASSERT_TRUE(write_file_atomic(path_, data));
        const auto back = read_file(path_, 1 << 20);
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, data);
        struct stat st {};
        ASSERT_EQ(::stat(path_.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u);
        EXPECT_EQ(entries(), 1u);
    }
    ::umask(old);
}

TEST_F(AtomicFileTest, ReplacesAnExistingFileAndItsMode) {
    {
        std::ofstream out(path_);
        out << "old";
    }
    ::chmod(path_.c_str(), 0644);
    ASSERT_TRUE(write_file_atomic(path_, pattern(10, 1)));
    struct stat st {};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(*read_file(path_, 100), pattern(10, 1));
}

TEST_F(AtomicFileTest, StaleTemporaryOfOurPidIsReplaced) {
    const std::string tmp = path_ + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp);
        out << "stale";
    }
    ASSERT_TRUE(write_file_atomic(path_, pattern(5, 2)));
    EXPECT_FALSE(std::filesystem::exists(tmp));
    EXPECT_EQ(*read_file(path_, 100), pattern(5, 2));
}

TEST_F(AtomicFileTest, RemoveStaleTemporariesRemovesOnlyTemporaries) {
    for (const char* name :
         {"state.bin.tmp.123", "state.bin.tmp.99999", "state.bin.tmp.x1", "other.tmp.5"}) {
        std::ofstream out(dir_ / name);
        out << "x";
    }
    ASSERT_TRUE(write_file_atomic(path_, pattern(3, 3)));
    EXPECT_EQ(remove_stale_temporaries(path_), 2u);
    EXPECT_TRUE(std::filesystem::exists(path_));
    EXPECT_TRUE(std::filesystem::exists(dir_ / "state.bin.tmp.x1"));
    EXPECT_TRUE(std::filesystem::exists(dir_ / "other.tmp.5"));
}

TEST_F(AtomicFileTest, ReadHasASizeCapAndClearErrors) {
    ASSERT_TRUE(write_file_atomic(path_, pattern(100, 4)));
    EXPECT_TRUE(read_file(path_, 100));
    const auto big = read_file(path_, 99);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error(), make_error_code(Errc::limit_exceeded));
    const auto missing = read_file((dir_ / "missing").string(), 100);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), std::error_code(ENOENT, std::system_category()));
    const auto dir = read_file(dir_.string(), 100);
    EXPECT_FALSE(dir);
}

TEST_F(AtomicFileTest, WriteIntoMissingDirectoryFailsAndTouchesNothing) {
    const auto r = write_file_atomic((dir_ / "nope" / "state.bin").string(), pattern(3, 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::error_code(ENOENT, std::system_category()));
    EXPECT_EQ(entries(), 0u);
}

} // namespace
} // namespace lwm2m::store
