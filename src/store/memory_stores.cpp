#include <lwm2m/store/memory_stores.hpp>

#include <algorithm>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::store {

// ---------------------------------------------------------------- registrations

namespace {
std::uint32_t tag_of(std::string_view endpoint) {
    return SlotIndex::tag_of(std::hash<std::string_view>{}(endpoint));
}
} // namespace

std::optional<std::uint32_t> MemoryRegistrationStore::slot_of(std::string_view endpoint) const {
    return slot_of(endpoint, tag_of(endpoint));
}

std::optional<std::uint32_t> MemoryRegistrationStore::slot_of(std::string_view endpoint,
                                                              std::uint32_t tag) const {
    return index_.find(tag,
                       [&](std::uint32_t s) { return entries_[s].record.endpoint == endpoint; });
}

Result<void> MemoryRegistrationStore::commit(std::span<const Change> batch) {
    if (fail_) return fail(*fail_);
    // The index look-ups of the registration changes first, all started at once (each is a
    // cache miss at 10^5 registrations), then the changes in order.
    tags_.clear();
    for (const Change& c : batch) {
        std::uint32_t tag = 0;
        if (const auto* put = std::get_if<RegistrationPut>(&c.op))
            tag = tag_of(put->record.endpoint);
        else if (const auto* rm = std::get_if<RegistrationRemove>(&c.op))
            tag = tag_of(rm->endpoint);
        if (tag != 0) index_.prefetch(tag);
        tags_.push_back(tag);
    }
    // Nothing below can fail, so applying in order is all-or-nothing.
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const Change& c = batch[i];
        if (const auto* put = std::get_if<RegistrationPut>(&c.op)) {
            if (auto s = slot_of(put->record.endpoint, tags_[i])) {
                Entry& e = entries_[*s];
                e.record = put->record; // assigns in place: the strings keep their storage
                if (put->replaces) e.observations.clear();
                continue;
            }
            std::uint32_t s;
            if (!free_.empty()) {
                s = free_.back();
                free_.pop_back();
            } else {
                s = static_cast<std::uint32_t>(entries_.size());
                entries_.emplace_back();
            }
            Entry& e = entries_[s];
            e.used = true;
            e.record = put->record;
            e.observations.clear();
            index_.assign(tags_[i], s, [](std::uint32_t) { return false; });
        } else if (const auto* rm = std::get_if<RegistrationRemove>(&c.op)) {
            if (auto s = slot_of(rm->endpoint, tags_[i])) {
                index_.erase(tags_[i], *s);
                entries_[*s].used = false;
                entries_[*s].observations.clear();
                free_.push_back(*s);
            }
        } else if (const auto* oput = std::get_if<ObservationPut>(&c.op)) {
            auto s = slot_of(oput->record.endpoint);
            if (!s) continue;
            auto& obs = entries_[*s].observations;
            auto o = std::find_if(obs.begin(), obs.end(), [&](const ObservationRecord& r) {
                return r.id == oput->record.id;
            });
            if (o == obs.end())
                obs.push_back(oput->record);
            else
                *o = oput->record;
        } else if (const auto* orm = std::get_if<ObservationRemove>(&c.op)) {
            auto s = slot_of(orm->endpoint);
            if (!s) continue;
            std::erase_if(entries_[*s].observations,
                          [&](const ObservationRecord& r) { return r.id == orm->id; });
        }
    }
    ++commits_;
    return ok();
}

Result<void> MemoryRegistrationStore::load(
    const std::function<void(RegistrationRecord&&)>& on_registration,
    const std::function<void(ObservationRecord&&)>& on_observation) const {
    for (const auto& e : entries_)
        if (e.used && on_registration) on_registration(RegistrationRecord(e.record));
    for (const auto& e : entries_)
        if (e.used)
            for (const auto& o : e.observations)
                if (on_observation) on_observation(ObservationRecord(o));
    return ok();
}

Result<std::optional<RegistrationRecord>>
MemoryRegistrationStore::find(std::string_view endpoint) const {
    auto s = slot_of(endpoint);
    if (!s) return std::optional<RegistrationRecord>{};
    return std::optional<RegistrationRecord>{entries_[*s].record};
}

Result<std::size_t> MemoryRegistrationStore::size() const {
    return index_.size();
}

std::vector<ObservationRecord> MemoryRegistrationStore::observations(std::string_view ep) const {
    auto s = slot_of(ep);
    if (!s) return {};
    return entries_[*s].observations;
}

// ---------------------------------------------------------------- security

namespace {
// A record's key in each index; nullopt when it has none there.
std::optional<std::string_view> endpoint_key(const SecurityInfo& i) {
    return std::string_view(i.endpoint);
}
std::optional<std::string_view> psk_identity_key(const SecurityInfo& i) {
    if (i.mode != SecurityMode::psk) return std::nullopt;
    return as_string_view(i.psk_identity);
}
std::optional<std::string_view> rpk_key(const SecurityInfo& i) {
    if (i.mode != SecurityMode::rpk) return std::nullopt;
    return as_string_view(i.rpk_public_key);
}
std::optional<std::string_view> cn_key(const SecurityInfo& i) {
    if (i.mode != SecurityMode::x509) return std::nullopt;
    return x509_cn_of(i);
}
} // namespace

template <class Key>
std::optional<std::uint32_t> MemorySecurityStore::slot_in(const SlotIndex& index,
                                                          std::string_view k, Key key) const {
    return index.find(tag_of(k), [&](std::uint32_t s) { return key(record(s)) == k; });
}

template <class Key>
const SecurityInfo* MemorySecurityStore::find_in(const SlotIndex& index, std::string_view k,
                                                 Key key) const {
    const auto s = slot_in(index, k, key);
    return s ? &record(*s) : nullptr;
}

void MemorySecurityStore::index(std::uint32_t s) {
    const SecurityInfo& info = record(s);
    auto add = [&](SlotIndex& index, auto key) {
        const auto k = key(info);
        if (!k) return;
        index.assign(tag_of(*k), s, [&](std::uint32_t o) { return key(record(o)) == k; });
    };
    add(by_endpoint_, endpoint_key);
    add(by_psk_identity_, psk_identity_key);
    add(by_rpk_, rpk_key);
    add(by_cn_, cn_key);
}

void MemorySecurityStore::unindex(std::uint32_t s) {
    const SecurityInfo& info = record(s);
    auto drop = [&](SlotIndex& index, auto key) {
        if (const auto k = key(info)) index.erase(tag_of(*k), s);
    };
    drop(by_endpoint_, endpoint_key);
    drop(by_psk_identity_, psk_identity_key);
    drop(by_rpk_, rpk_key);
    drop(by_cn_, cn_key);
}

Result<void> MemorySecurityStore::put(SecurityInfo info, std::string* why) {
    LWM2M_TRY_VOID(validate(info, why));
    auto taken = [&](const SlotIndex& index, auto key, const char* what) -> bool {
        const auto k = key(info);
        if (!k) return false;
        const SecurityInfo* other = find_in(index, *k, key);
        if (other == nullptr || other->endpoint == info.endpoint) return false;
        if (why) *why = what;
        return true;
    };
    if (taken(by_psk_identity_, psk_identity_key,
              "the PSK identity is bound to another endpoint") ||
        taken(by_rpk_, rpk_key, "the raw public key is bound to another endpoint") ||
        taken(by_cn_, cn_key, "the certificate name is bound to another endpoint"))
        return fail(Errc::conflict);
    std::uint32_t s = 0;
    if (const auto old = slot_in(by_endpoint_, info.endpoint, endpoint_key)) {
        s = *old; // replaced in place: the record's address stays, its keys change
        unindex(s);
    } else if (!free_.empty()) {
        s = free_.back();
        free_.pop_back();
    } else {
        if (next_ == chunks_.size() * kChunk)
            chunks_.push_back(std::make_unique<SecurityInfo[]>(kChunk));
        s = next_++;
    }
    record(s) = std::move(info);
    index(s);
    return ok();
}

Result<bool> MemorySecurityStore::remove(std::string_view endpoint) {
    const auto s = slot_in(by_endpoint_, endpoint, endpoint_key);
    if (!s) return false;
    unindex(*s);
    record(*s) = SecurityInfo{}; // SecretBytes wipes the key; the empty endpoint marks it free
    free_.push_back(*s);
    return true;
}

const SecurityInfo* MemorySecurityStore::find(std::string_view endpoint) const {
    return find_in(by_endpoint_, endpoint, endpoint_key);
}

const SecurityInfo* MemorySecurityStore::find_by_psk_identity(BytesView identity) const {
    return find_in(by_psk_identity_, as_string_view(identity), psk_identity_key);
}

const SecurityInfo* MemorySecurityStore::find_by_rpk(BytesView spki) const {
    return find_in(by_rpk_, as_string_view(spki), rpk_key);
}

const SecurityInfo* MemorySecurityStore::find_by_x509_cn(std::string_view common_name) const {
    return find_in(by_cn_, common_name, cn_key);
}

void MemorySecurityStore::for_each(const std::function<void(const SecurityInfo&)>& fn) const {
    for (std::uint32_t s = 0; s < next_; ++s)
        if (!record(s).endpoint.empty()) fn(record(s));
}

// ---------------------------------------------------------------- events

MemoryEventLog::MemoryEventLog(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)) {}

Result<std::uint64_t> MemoryEventLog::append(EventRecord event) {
    event.seq = next_seq_++;
    if (events_.size() == capacity_) events_.pop_front();
    events_.push_back(std::move(event));
    return events_.back().seq;
}

Result<std::vector<EventRecord>> MemoryEventLog::read(const EventQuery& q) const {
    std::vector<EventRecord> out;
    // Sequence numbers are consecutive in the deque: start at the first one after after_seq.
    std::size_t start = 0;
    if (!events_.empty() && q.after_seq >= events_.front().seq)
        start = static_cast<std::size_t>(q.after_seq - events_.front().seq + 1);
    for (std::size_t i = start; i < events_.size() && out.size() < q.limit; ++i) {
        const auto& e = events_[i];
        if (q.endpoint && e.endpoint != *q.endpoint) continue;
        out.push_back(e);
    }
    return out;
}

} // namespace lwm2m::store
