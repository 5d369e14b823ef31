#include <lwm2m/store/atomic_file.hpp>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::store {
namespace {

Error errno_error(int e) {
    return {e, std::system_category()};
}

class Fd {
public:
    explicit Fd(int fd)
        : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    [[nodiscard]] int get() const { return fd_; }
    /// Closes now and reports close()'s error (a deferred write error can surface here).
    int close_checked() {
        const int fd = fd_;
        fd_ = -1;
        return ::close(fd);
    }

private:
    int fd_;
};

std::string dir_of(const std::string& path) {
    const auto parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

} // namespace

Result<void> write_file_atomic(const std::string& path, BytesView data, unsigned mode) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int flags = O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW;
    int raw = ::open(tmp.c_str(), flags, static_cast<mode_t>(mode));
    if (raw < 0 && errno == EEXIST) {
        // Only a killed earlier process with our pid can have left this name: it is stale.
        ::unlink(tmp.c_str());
        raw = ::open(tmp.c_str(), flags, static_cast<mode_t>(mode));
    }
    if (raw < 0) return fail(errno_error(errno));
    Fd fd(raw);
    auto abort_with = [&](int e) -> Result<void> {
        ::unlink(tmp.c_str());
        return fail(errno_error(e));
    };
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return abort_with(errno);
    std::size_t done = 0;
    while (done < data.size()) {
        const std::size_t n = std::min(write_chunk_size, data.size() - done);
        const ssize_t w = ::write(fd.get(), data.data() + done, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return abort_with(errno);
        }
        done += static_cast<std::size_t>(w);
    }
    if (::fsync(fd.get()) != 0) return abort_with(errno);
    if (fd.close_checked() != 0) return abort_with(errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return abort_with(errno);
    const int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return fail(errno_error(errno)); // the new file is in place; durability unknown
    Fd dir(dfd);
    if (::fsync(dir.get()) != 0 && errno != EINVAL) return fail(errno_error(errno));
    return ok();
}

Result<Bytes> read_file(const std::string& path, std::size_t max_size) {
    const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (raw < 0) return fail(errno_error(errno));
    Fd fd(raw);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail(errno_error(errno));
    if (!S_ISREG(st.st_mode)) return fail(Errc::invalid_argument);
    if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > max_size)
        return fail(Errc::limit_exceeded);
    // One byte more than fstat says, so that the usual read ends at end of file without growing
    // the buffer (a second allocation and a copy).
    const auto size = static_cast<std::size_t>(st.st_size);
    Bytes out(size < max_size ? size + 1 : size);
    std::size_t done = 0;
    while (true) {
        if (done == out.size()) {
            // The file may have grown since fstat: read one more byte to find out.
            if (out.size() >= max_size + 1) return fail(Errc::limit_exceeded);
            out.resize(std::min(out.size() + 4096, max_size + 1));
        }
        const ssize_t r = ::read(fd.get(), out.data() + done, out.size() - done);
        if (r < 0) {
            if (errno == EINTR) continue;
            return fail(errno_error(errno));
        }
        if (r == 0) break;
        done += static_cast<std::size_t>(r);
        if (done > max_size) return fail(Errc::limit_exceeded);
    }
    out.resize(done);
    return out;
}

std::size_t remove_stale_temporaries(const std::string& path) {
    const std::filesystem::path p(path);
    const std::string prefix = p.filename().string() + ".tmp.";
    std::error_code ec;
    std::size_t removed = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_of(path), ec)) {
        const std::string name = e.path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        bool digits = true;
        for (std::size_t i = prefix.size(); i < name.size(); ++i)
            if (name[i] < '0' || name[i] > '9') digits = false;
        if (!digits) continue;
        std::error_code rec;
        if (std::filesystem::remove(e.path(), rec)) ++removed;
    }
    return removed;
}

} // namespace lwm2m::store
