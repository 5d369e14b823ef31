#include <lwm2m/store/secret_box.hpp>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sys/stat.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/atomic_file.hpp>
#include <lwm2m/store/sqlite.hpp>

namespace lwm2m::store {

namespace {
constexpr std::byte version_1{0x01};
constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;
} // namespace

struct SecretBox::Impl {
    /// GnuTLS keeps an AEAD call's nonce and GCM state in the handle: two threads in seal() or
    /// open() at once would seal under a nonce other than the one written out (values that never
    /// open again). lwm2m-server shares one box between threads (its engine, the HTTP thread and
    /// the Redis change listener), so every call on the handle holds this lock.
    std::mutex lock;
    gnutls_aead_cipher_hd_t handle = nullptr;
    SecretBytes key; ///< for derive_key (wiped on destruction)
    ~Impl() {
        if (handle) gnutls_aead_cipher_deinit(handle);
    }
};

SecretBox::SecretBox(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
SecretBox::SecretBox(SecretBox&&) noexcept = default;
SecretBox& SecretBox::operator=(SecretBox&&) noexcept = default;
SecretBox::~SecretBox() = default;

Result<SecretBox> SecretBox::from_key(const SecretBytes& key) {
    if (key.size() != key_size) return lwm2m::fail(lwm2m::Errc::invalid_argument);
    auto impl = std::make_unique<Impl>();
    // GnuTLS copies the key into its own (wiped on deinit) context.
    gnutls_datum_t k{
        const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(key.view().data())),
        static_cast<unsigned>(key.size())};
    if (gnutls_aead_cipher_init(&impl->handle, GNUTLS_CIPHER_AES_256_GCM, &k) < 0)
        return lwm2m::fail(Errc::io_error);
    impl->key = key;
    return SecretBox(std::move(impl));
}

Result<SecretBytes> SecretBox::derive_key(std::string_view label) const {
    const auto& key = impl_->key;
    gnutls_datum_t ikm{
        const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(key.view().data())),
        static_cast<unsigned>(key.size())};
    Bytes prk(32);
    if (gnutls_hkdf_extract(GNUTLS_MAC_SHA256, &ikm, nullptr, prk.data()) < 0)
        return lwm2m::fail(Errc::io_error);
    gnutls_datum_t prk_d{reinterpret_cast<unsigned char*>(prk.data()),
                         static_cast<unsigned>(prk.size())};
    gnutls_datum_t info{
        const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(label.data())),
        static_cast<unsigned>(label.size())};
    Bytes out(key_size);
    const int rc = gnutls_hkdf_expand(GNUTLS_MAC_SHA256, &prk_d, &info, out.data(), out.size());
    secure_wipe(prk.data(), prk.size());
    if (rc < 0) {
        secure_wipe(out.data(), out.size());
        return lwm2m::fail(Errc::io_error);
    }
    SecretBytes derived(out);
    secure_wipe(out.data(), out.size());
    return derived;
}

Result<SecretBox> SecretBox::load_or_create(const std::string& path) {
    struct ::stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if ((st.st_mode & 077) != 0) return lwm2m::fail(lwm2m::Errc::invalid_argument);
        auto bytes = read_file(path, key_size + 1);
        if (!bytes) return tl::unexpected(bytes.error());
        SecretBytes key(*bytes);
        secure_wipe(bytes->data(), bytes->size());
        if (key.size() != key_size) return lwm2m::fail(lwm2m::Errc::invalid_argument);
        return from_key(key);
    }
    if (errno != ENOENT) return tl::unexpected(std::error_code(errno, std::system_category()));
    Bytes fresh(key_size);
    if (gnutls_rnd(GNUTLS_RND_KEY, fresh.data(), fresh.size()) < 0)
        return lwm2m::fail(Errc::io_error);
    SecretBytes key(fresh);
    auto written = write_file_atomic(path, fresh, 0600);
    secure_wipe(fresh.data(), fresh.size());
    if (!written) return tl::unexpected(written.error());
    return from_key(key);
}

Result<Bytes> SecretBox::seal(BytesView plaintext, std::string_view context) const {
    Bytes out(overhead + plaintext.size());
    out[0] = version_1;
    std::byte* nonce = out.data() + 1;
    if (gnutls_rnd(GNUTLS_RND_NONCE, nonce, nonce_size) < 0) return lwm2m::fail(Errc::io_error);
    std::size_t ct_size = plaintext.size() + tag_size;
    const std::lock_guard guard(impl_->lock);
    if (gnutls_aead_cipher_encrypt(impl_->handle, nonce, nonce_size, context.data(), context.size(),
                                   tag_size, plaintext.data(), plaintext.size(),
                                   out.data() + 1 + nonce_size, &ct_size) < 0 ||
        ct_size != plaintext.size() + tag_size)
        return lwm2m::fail(Errc::io_error);
    return out;
}

Result<SecretBytes> SecretBox::open(BytesView sealed, std::string_view context) const {
    if (sealed.size() < overhead || sealed[0] != version_1)
        return lwm2m::fail(Errc::decrypt_failed);
    const std::byte* nonce = sealed.data() + 1;
    const std::size_t ct_size = sealed.size() - 1 - nonce_size;
    Bytes plain(ct_size); // decrypt writes the plaintext (ct_size - tag) into a buffer this size
    std::size_t pt_size = plain.size();
    std::unique_lock guard(impl_->lock);
    const int rc =
        gnutls_aead_cipher_decrypt(impl_->handle, nonce, nonce_size, context.data(), context.size(),
                                   tag_size, nonce + nonce_size, ct_size, plain.data(), &pt_size);
    guard.unlock();
    if (rc < 0 || pt_size > plain.size()) {
        secure_wipe(plain.data(), plain.size());
        return lwm2m::fail(Errc::decrypt_failed);
    }
    SecretBytes result(BytesView(plain.data(), pt_size));
    secure_wipe(plain.data(), plain.size());
    return result;
}

} // namespace lwm2m::store
