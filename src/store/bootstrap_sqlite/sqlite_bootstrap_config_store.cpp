#include <lwm2m/store/sqlite_bootstrap_config_store.hpp>

#include <string>

#include <lwm2m/store/bootstrap_config_codec.hpp>

namespace lwm2m::store {

namespace {} // namespace

Result<std::unique_ptr<SqliteBootstrapConfigStore>>
SqliteBootstrapConfigStore::open(Database db, const SecretBox& box, ValidationOptions options) {
    std::unique_ptr<SqliteBootstrapConfigStore> store(
        new SqliteBootstrapConfigStore(std::move(db), box, options));
    LWM2M_TRY(st, store->db_.prepare("SELECT endpoint, config FROM bootstrap_configs ORDER BY "
                                     "endpoint"));
    for (;;) {
        LWM2M_TRY(row, st.step());
        if (!row) break;
        LWM2M_TRY(plain, box.open(st.blob(1), bootstrap_config_blob_context(st.text(0))));
        auto config = decode_bootstrap_config(plain.view());
        if (!config || config->endpoint != st.text(0)) return fail(Errc::corrupt);
        if (!store->cache_.put(std::move(*config))) return fail(Errc::corrupt);
    }
    return store;
}

Result<void> SqliteBootstrapConfigStore::put(BootstrapConfig config,
                                             std::vector<std::string>* reasons) {
    if (auto r = check_bootstrap_config(config, options_); !r.empty()) {
        if (reasons) *reasons = std::move(r);
        return fail(ConfigErrc::invalid);
    }
    std::lock_guard lock(write_mutex_);
    // Conflicts are checked against the index before writing (writers are serialised here, so
    // the index cannot change in between).
    LWM2M_TRY_VOID(cache_.check_credentials_free(config, reasons));
    const SecurityInfo& creds = config.bootstrap_credentials;
    LWM2M_TRY(plain, encode_bootstrap_config(config));
    LWM2M_TRY(sealed, box_->seal(plain.view(), bootstrap_config_blob_context(config.endpoint)));
    LWM2M_TRY(st, db_.prepare("INSERT INTO bootstrap_configs(endpoint, mode, psk_identity, rpk, "
                              "x509_cn, config) VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(endpoint) "
                              "DO UPDATE SET mode=?2, psk_identity=?3, rpk=?4, x509_cn=?5, "
                              "config=?6"));
    st.bind(1, config.endpoint).bind(2, static_cast<int>(creds.mode));
    if (creds.mode == SecurityMode::psk)
        st.bind(3, BytesView(creds.psk_identity));
    else
        st.bind_null(3);
    if (creds.mode == SecurityMode::rpk)
        st.bind(4, BytesView(creds.rpk_public_key));
    else
        st.bind_null(4);
    st.bind(5, creds.x509_common_name).bind(6, BytesView(sealed));
    LWM2M_TRY_VOID(st.run());
    // Cannot fail: validated and conflict-checked above under the same lock.
    return cache_.put(std::move(config), reasons);
}

Result<void> SqliteBootstrapConfigStore::remove(std::string_view endpoint) {
    std::lock_guard lock(write_mutex_);
    if (!cache_.find(endpoint)) return fail(ConfigErrc::not_found);
    LWM2M_TRY(st, db_.prepare("DELETE FROM bootstrap_configs WHERE endpoint=?1"));
    st.bind(1, endpoint);
    LWM2M_TRY_VOID(st.run());
    return cache_.remove(endpoint);
}

} // namespace lwm2m::store
