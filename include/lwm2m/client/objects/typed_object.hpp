// TypedObject: a generic client object built from an object definition (a built-in one from
// dm::ObjectRegistry / dm::builtin_object, or one loaded from a DDF file with dm::load_ddf), so
// that "a resource backed by a variable or a callback" takes a few lines:
//
//     TypedObject temp(*dm::builtin_object(...) or a DDF definition);
//     double celsius = 21.5;
//     temp.add_instance(Iid{0});
//     temp.bind(Iid{0}, Rid{5700}, celsius);                       // Sensor Value (R, Float)
//     temp.bind_execute(Iid{0}, Rid{5605}, [&](std::string_view) { reset(); return ok(); });
//     temp.set(Iid{0}, Rid{5701}, std::string("Cel"));             // owned value (Units)
//
// Every resource of an instance lives in one of three kinds of storage:
//  - owned: the object keeps the dm value (the default for every defined resource; set()/unset()
//    from the application, Write from servers);
//  - bound: a `T&` variable (single resource), a std::vector<T>& (multiple resource, Resource
//    Instance IDs 0..n-1) or a std::map<uint16_t, T>& (any Resource Instance IDs), or a
//    getter (+ optional setter) pair; the C++ type is checked against the definition's data type
//    at bind time (ValueCodec below);
//  - executable: a callback for an E resource.
//
// Rules (LwM2M TS 1.1 §5.4 and Appendix D, TS 1.2 §5.4):
//  - operations follow the definition: Read of a W-only or E resource, Write of an R-only resource
//    by a DM server, Execute of a non-E resource: 4.05 Method Not Allowed; undefined resource or
//    absent value: 4.04 Not Found. The static policy client::access() is applied first.
//  - every written value is converted losslessly to the definition's type (dm::coerce) and checked
//    against its range/length (dm::check_value), against the bound C++ type (no truncation: 300
//    into a std::uint8_t is 4.00) and against the per-resource validator; a Write is all or
//    nothing: everything is validated before anything is stored, and a setter that fails while
//    storing rolls the already stored resources back (setters should only fail in validation).
//  - Write replace (PUT) of an instance removes the owned optional W resources the payload does not
//    carry (TS 1.1 §5.4.3 "replace"); bound resources keep their value; Partial Update (POST) only
//    adds/updates, merging the instances of multiple resources.
//  - Create / Delete by a DM server only when the definition allows multiple instances (else
//    4.05); Create must carry every mandatory W resource that has owned storage (4.00). A create
//    handler (on_create) can bind the new instance's resources before the values are applied.
//  - Discover lists the object (with `ver` when not 1.0), instances and present resources, with
//    `dim` for multiple resources; Bootstrap-Discover lists the object and instances only.
//  - set()/unset()/add_instance()/remove_instance() from the application and writes by the local
//    application or the factory source call the ChangeListener; server writes do not (the engine
//    knows about them).
// One thread owns the object (like every core object); callbacks run on that thread, inside the
// operation that triggers them.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/log.hpp>
#include <lwm2m/client/object.hpp>
#include <lwm2m/dm/object_def.hpp>

namespace lwm2m::client {

// ---- C++ type <-> LwM2M data type --------------------------------------------------------------

/// How a C++ type maps to the LwM2M data types (TS 1.1 Appendix C). Specialized for:
///  - signed integers: Integer (and Time for 64-bit types);
///  - unsigned integers up to 32 bits: Integer or Unsigned Integer; std::uint64_t: Unsigned
///    Integer only (so that every value of the variable is representable);
///  - float, double: Float; bool: Boolean; std::string: String or Corelnk; Bytes: Opaque;
///  - dm::Time: Time; dm::Objlnk: Objlnk; dm::Corelnk: Corelnk.
/// `decode` receives a value already converted to the definition's type and returns nullopt when
/// the C++ type cannot hold it (never truncates).
template <class T>
struct ValueCodec;

template <class T>
requires(std::integral<T> && !std::same_as<T, bool>) struct ValueCodec<T> {
    static constexpr bool accepts(dm::DataType t) {
        if constexpr (std::is_signed_v<T>) {
            return t == dm::DataType::integer || (sizeof(T) == 8 && t == dm::DataType::time);
        } else if constexpr (sizeof(T) == 8) {
            return t == dm::DataType::unsigned_integer;
        } else {
            return t == dm::DataType::integer || t == dm::DataType::unsigned_integer;
        }
    }
    static dm::Value encode(T v, dm::DataType t) {
        if (t == dm::DataType::time) return dm::Value::time(static_cast<std::int64_t>(v));
        if (t == dm::DataType::unsigned_integer)
            return dm::Value::unsigned_integer(static_cast<std::uint64_t>(v));
        return dm::Value::integer(static_cast<std::int64_t>(v));
    }
    static std::optional<T> decode(const dm::Value& v) {
        const auto& s = v.storage();
        if (const auto* i = std::get_if<std::int64_t>(&s)) return narrow(*i);
        if (const auto* t = std::get_if<dm::Time>(&s)) return narrow(t->seconds);
        if (const auto* u = std::get_if<std::uint64_t>(&s)) {
            if (*u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
            return static_cast<T>(*u);
        }
        return std::nullopt;
    }

private:
    static std::optional<T> narrow(std::int64_t x) {
        if constexpr (std::is_signed_v<T>) {
            if (x < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
                x > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
                return std::nullopt;
        } else {
            if (x < 0 || static_cast<std::uint64_t>(x) >
                             static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
                return std::nullopt;
        }
        return static_cast<T>(x);
    }
};

template <std::floating_point T>
struct ValueCodec<T> {
    static constexpr bool accepts(dm::DataType t) { return t == dm::DataType::float_; }
    static dm::Value encode(T v, dm::DataType) { return dm::Value::float_(static_cast<double>(v)); }
    static std::optional<T> decode(const dm::Value& v) {
        const auto* d = std::get_if<double>(&v.storage());
        if (d == nullptr) return std::nullopt;
        if constexpr (sizeof(T) < sizeof(double)) {
            // A value outside the float range would become infinity: refuse it.
            if (*d > static_cast<double>(std::numeric_limits<T>::max()) ||
                *d < -static_cast<double>(std::numeric_limits<T>::max()))
                return std::nullopt;
        }
        return static_cast<T>(*d);
    }
};

template <>
struct ValueCodec<bool> {
    static constexpr bool accepts(dm::DataType t) { return t == dm::DataType::boolean; }
    static dm::Value encode(bool v, dm::DataType) { return dm::Value::boolean(v); }
    static std::optional<bool> decode(const dm::Value& v) {
        if (const auto* b = std::get_if<bool>(&v.storage())) return *b;
        return std::nullopt;
    }
};

template <>
struct ValueCodec<std::string> {
    static constexpr bool accepts(dm::DataType t) {
        return t == dm::DataType::string || t == dm::DataType::corelnk;
    }
    static dm::Value encode(const std::string& v, dm::DataType t) {
        return t == dm::DataType::corelnk ? dm::Value::corelnk(v) : dm::Value::string(v);
    }
    static std::optional<std::string> decode(const dm::Value& v) {
        if (const auto* s = std::get_if<std::string>(&v.storage())) return *s;
        if (const auto* c = std::get_if<dm::Corelnk>(&v.storage())) return c->text;
        return std::nullopt;
    }
};

template <>
struct ValueCodec<Bytes> {
    static constexpr bool accepts(dm::DataType t) { return t == dm::DataType::opaque; }
    static dm::Value encode(const Bytes& v, dm::DataType) { return dm::Value::opaque(v); }
    static std::optional<Bytes> decode(const dm::Value& v) {
        if (const auto* b = std::get_if<Bytes>(&v.storage())) return *b;
        return std::nullopt;
    }
};

template <>
struct ValueCodec<dm::Time> {
    static constexpr bool accepts(dm::DataType t) { return t == dm::DataType::time; }
    static dm::Value encode(dm::Time v, dm::DataType) { return dm::Value::time(v.seconds); }
    static std::optional<dm::Time> decode(const dm::Value& v) {
        if (const auto* t = std::get_if<dm::Time>(&v.storage())) return *t;
        return std::nullopt;
    }
};

template <>
struct ValueCodec<dm::Objlnk> {
    static constexpr bool accepts(dm::DataType t) { return t == dm::DataType::objlnk; }
    static dm::Value encode(dm::Objlnk v, dm::DataType) { return dm::Value::objlnk(v.oid, v.iid); }
    static std::optional<dm::Objlnk> decode(const dm::Value& v) {
        if (const auto* o = std::get_if<dm::Objlnk>(&v.storage())) return *o;
        return std::nullopt;
    }
};

template <>
struct ValueCodec<dm::Corelnk> {
    static constexpr bool accepts(dm::DataType t) { return t == dm::DataType::corelnk; }
    static dm::Value encode(const dm::Corelnk& v, dm::DataType) {
        return dm::Value::corelnk(v.text);
    }
    static std::optional<dm::Corelnk> decode(const dm::Value& v) {
        if (const auto* c = std::get_if<dm::Corelnk>(&v.storage())) return *c;
        return std::nullopt;
    }
};

/// True for the C++ types TypedObject can bind (a ValueCodec exists).
template <class T>
concept BindableValue = requires(const dm::Value& v) {
    { ValueCodec<T>::accepts(dm::DataType::string) } -> std::same_as<bool>;
    { ValueCodec<T>::decode(v) } -> std::same_as<std::optional<T>>;
};

// ---- bindings (type-erased storage behind one resource) ----------------------------------------

namespace detail {

/// One bound resource. The object checks values against the definition; a binding only converts.
class ResourceBinding {
public:
    virtual ~ResourceBinding() = default;
    /// The current value(s) of resource `rid` (`type` is the definition's data type); nullopt
    /// when the resource has no value right now.
    [[nodiscard]] virtual std::optional<dm::Resource> get(std::uint16_t rid,
                                                          dm::DataType type) const = 0;
    /// Whether set() is possible at all (a getter without setter is read-only).
    [[nodiscard]] virtual bool settable() const = 0;
    /// Whether `r` (already of the definition's type and range) fits the bound C++ storage.
    /// Errors: Status::bad_request.
    [[nodiscard]] virtual Result<void> check(const dm::Resource& r) const = 0;
    /// Stores `r` (check() passed). Errors: whatever the application's setter returns.
    virtual Result<void> set(const dm::Resource& r) = 0;
};

template <class T>
class VariableBinding final : public ResourceBinding {
public:
    explicit VariableBinding(T& v)
        : v_(&v) {}
    [[nodiscard]] std::optional<dm::Resource> get(std::uint16_t rid,
                                                  dm::DataType type) const override {
        return dm::Resource::single(rid, ValueCodec<T>::encode(*v_, type));
    }
    [[nodiscard]] bool settable() const override { return true; }
    Result<void> check(const dm::Resource& r) const override {
        if (r.multiple || !ValueCodec<T>::decode(r.value)) return fail(Status::bad_request);
        return ok();
    }
    Result<void> set(const dm::Resource& r) override {
        auto v = ValueCodec<T>::decode(r.value);
        if (r.multiple || !v) return fail(Status::bad_request);
        *v_ = std::move(*v);
        return ok();
    }

private:
    T* v_;
};

/// std::vector<T>: Resource Instance IDs 0..n-1 (a written set must be dense from 0).
template <class T>
class VectorBinding final : public ResourceBinding {
public:
    explicit VectorBinding(std::vector<T>& v)
        : v_(&v) {}
    [[nodiscard]] std::optional<dm::Resource> get(std::uint16_t rid,
                                                  dm::DataType type) const override {
        dm::Resource r = dm::Resource::multi(rid);
        r.instances.reserve(v_->size());
        for (std::size_t i = 0; i < v_->size() && i < 0xffff; ++i)
            r.instances.try_emplace(static_cast<std::uint16_t>(i),
                                    ValueCodec<T>::encode((*v_)[i], type));
        return r;
    }
    [[nodiscard]] bool settable() const override { return true; }
    Result<void> check(const dm::Resource& r) const override {
        if (!r.multiple) return fail(Status::bad_request);
        std::uint16_t expected = 0;
        for (const auto& [riid, v] : r.instances) {
            if (riid != expected++ || !ValueCodec<T>::decode(v)) return fail(Status::bad_request);
        }
        return ok();
    }
    Result<void> set(const dm::Resource& r) override {
        LWM2M_TRY_VOID(check(r));
        std::vector<T> out;
        out.reserve(r.instances.size());
        for (const auto& kv : r.instances)
            out.push_back(*ValueCodec<T>::decode(kv.second));
        *v_ = std::move(out);
        return ok();
    }

private:
    std::vector<T>* v_;
};

template <class T>
class MapBinding final : public ResourceBinding {
public:
    explicit MapBinding(std::map<std::uint16_t, T>& v)
        : v_(&v) {}
    [[nodiscard]] std::optional<dm::Resource> get(std::uint16_t rid,
                                                  dm::DataType type) const override {
        dm::Resource r = dm::Resource::multi(rid);
        r.instances.reserve(v_->size());
        for (const auto& [riid, x] : *v_)
            if (riid != 0xffff) r.instances.try_emplace(riid, ValueCodec<T>::encode(x, type));
        return r;
    }
    [[nodiscard]] bool settable() const override { return true; }
    Result<void> check(const dm::Resource& r) const override {
        if (!r.multiple) return fail(Status::bad_request);
        for (const auto& kv : r.instances)
            if (!ValueCodec<T>::decode(kv.second)) return fail(Status::bad_request);
        return ok();
    }
    Result<void> set(const dm::Resource& r) override {
        LWM2M_TRY_VOID(check(r));
        std::map<std::uint16_t, T> out;
        for (const auto& [riid, v] : r.instances)
            out.emplace(riid, *ValueCodec<T>::decode(v));
        *v_ = std::move(out);
        return ok();
    }

private:
    std::map<std::uint16_t, T>* v_;
};

template <class T>
class AccessorBinding final : public ResourceBinding {
public:
    AccessorBinding(std::function<T()> get, std::function<Result<void>(const T&)> set)
        : get_(std::move(get))
        , set_(std::move(set)) {}
    [[nodiscard]] std::optional<dm::Resource> get(std::uint16_t rid,
                                                  dm::DataType type) const override {
        return dm::Resource::single(rid, ValueCodec<T>::encode(get_(), type));
    }
    [[nodiscard]] bool settable() const override { return static_cast<bool>(set_); }
    Result<void> check(const dm::Resource& r) const override {
        if (r.multiple || !ValueCodec<T>::decode(r.value)) return fail(Status::bad_request);
        return ok();
    }
    Result<void> set(const dm::Resource& r) override {
        if (!set_) return fail(Status::method_not_allowed);
        auto v = ValueCodec<T>::decode(r.value);
        if (r.multiple || !v) return fail(Status::bad_request);
        return set_(*v);
    }

private:
    std::function<T()> get_;
    std::function<Result<void>(const T&)> set_;
};

} // namespace detail

// ---- the object ---------------------------------------------------------------------------------

class TypedObject final : public ObjectHandler {
public:
    struct Options {
        /// Instances the object may hold (servers' Create beyond it: 4.13). A definition with
        /// single instance always holds at most one.
        std::size_t max_instances = 64;
        /// Resource instances of one multiple resource (beyond it: 4.13).
        std::size_t max_resource_instances = 64;
        /// Bytes of one String / Opaque / Corelnk value in owned storage (beyond it: 4.13) when
        /// the definition has no range; a definition's range always applies.
        std::size_t max_value_size = std::size_t{64} * 1024;
        /// Bootstrap-Delete of "/" or "/oid" removes the instances (TS 1.1 §5.2.7.5). nullopt:
        /// only when the definition allows multiple instances (a single instance provided by the
        /// device itself stays, as the Device object does). With false, Bootstrap-Delete of
        /// "/oid/iid" is 4.00 Bad Request.
        std::optional<bool> bootstrap_deletes_instances;
        /// Whether the Bootstrap-Server and the factory source may write R-only resources (TS
        /// 1.1 §5.2.7.4 allows it). False for objects whose values come from the device.
        bool bootstrap_writes_read_only = true;
    };

    /// Called when an instance was created by a server (Create, or a Bootstrap-Write that names a
    /// new instance), before the written values are applied: bind its resources here. An error
    /// cancels the creation with that status.
    using CreateHandler = std::function<Result<void>(TypedObject&, Iid)>;
    /// Called after an instance was removed by a server or the application (also when a failed
    /// creation is undone): release what on_create bound.
    using DeleteHandler = std::function<void(Iid)>;
    /// Checks a value written to a resource (by servers and by set()); it has the definition's
    /// type. Errors: a Status (normally Status::bad_request).
    using Validator = std::function<Result<void>(const dm::Value&)>;
    using ExecuteHandler = std::function<Result<void>(std::string_view args)>;

    explicit TypedObject(dm::ObjectDef def, Logger& log = NullLogger::instance())
        : TypedObject(std::move(def), Options{}, log) {}
    TypedObject(dm::ObjectDef def, Options options, Logger& log = NullLogger::instance());
    /// Shares an immutable definition (e.g. with the engine's dm::ObjectRegistry, so that a
    /// client holds each definition once). A null `def` is replaced by an empty definition
    /// (Object 0 without resources).
    TypedObject(std::shared_ptr<const dm::ObjectDef> def, Options options,
                Logger& log = NullLogger::instance());
    ~TypedObject() override;
    TypedObject(const TypedObject&) = delete;
    TypedObject& operator=(const TypedObject&) = delete;

    [[nodiscard]] const dm::ObjectDef& definition() const { return *def_; }
    /// The same definition as shared, immutable data: pass it to dm::ObjectRegistry::add to
    /// register it without a copy.
    [[nodiscard]] const std::shared_ptr<const dm::ObjectDef>& shared_definition() const {
        return def_;
    }
    void set_change_listener(ChangeListener* listener) { listener_ = listener; }
    void on_create(CreateHandler h) { on_create_ = std::move(h); }
    void on_delete(DeleteHandler h) { on_delete_ = std::move(h); }
    /// A validator for resource `rid` in every instance (replaces a previous one).
    /// Errors: Status::not_found (no such resource in the definition), Status::bad_request (an
    /// executable resource).
    Result<void> set_validator(Rid rid, Validator v);

    // -- instances (application side) --
    /// Adds an empty instance. Errors: Status::bad_request (65535, already present, or a
    /// single-instance object that has one), Status::request_entity_too_large (max_instances).
    Result<void> add_instance(Iid iid);
    /// Removes an instance and its bindings (calls on_delete). Errors: Status::not_found.
    Result<void> remove_instance(Iid iid);
    [[nodiscard]] bool has_instance(Iid iid) const { return instances_.count(iid.v) != 0; }

    // -- bindings (replace the resource's owned storage; the instance must exist) --
    // Errors of every bind(): Status::not_found (no such instance or resource),
    // Status::bad_request (the C++ type does not fit the definition's data type, a single binding
    // on a multiple resource or the reverse, a value binding on an executable resource).
    template <BindableValue T>
    Result<void> bind(Iid iid, Rid rid, T& variable) {
        LWM2M_TRY_VOID(check_bind(iid, rid, ValueCodec<T>::accepts, false));
        return attach(iid, rid, std::make_unique<detail::VariableBinding<T>>(variable));
    }
    template <BindableValue T>
    Result<void> bind(Iid iid, Rid rid, std::vector<T>& variable) {
        LWM2M_TRY_VOID(check_bind(iid, rid, ValueCodec<T>::accepts, true));
        return attach(iid, rid, std::make_unique<detail::VectorBinding<T>>(variable));
    }
    template <BindableValue T>
    Result<void> bind(Iid iid, Rid rid, std::map<std::uint16_t, T>& variable) {
        LWM2M_TRY_VOID(check_bind(iid, rid, ValueCodec<T>::accepts, true));
        return attach(iid, rid, std::make_unique<detail::MapBinding<T>>(variable));
    }
    /// A single resource read through `get` and written through `set` (empty: not writable,
    /// Write answers 4.05).
    template <BindableValue T>
    Result<void> bind(Iid iid, Rid rid, std::function<T()> get,
                      std::function<Result<void>(const T&)> set = {}) {
        LWM2M_TRY_VOID(check_bind(iid, rid, ValueCodec<T>::accepts, false));
        if (!get) return fail(Status::bad_request);
        return attach(iid, rid,
                      std::make_unique<detail::AccessorBinding<T>>(std::move(get), std::move(set)));
    }
    /// The callback of an executable resource. Errors: Status::not_found,
    /// Status::bad_request (not an E resource, empty callback).
    Result<void> bind_execute(Iid iid, Rid rid, ExecuteHandler fn);
    /// Drops a binding or an owned value: the resource has no value until set again.
    /// Errors: Status::not_found (no such instance or resource).
    Result<void> unbind(Iid iid, Rid rid);

    // -- values (application side) --
    /// Sets a single resource (owned or variable-bound) after the definition's checks; calls the
    /// ChangeListener when the value changed. Errors: Status::not_found (no such instance or
    /// resource), Status::bad_request (wrong type for the definition, out of range, validator),
    /// Status::method_not_allowed (an accessor binding or an executable resource),
    /// Status::request_entity_too_large (over max_value_size).
    template <BindableValue T>
    Result<void> set(Iid iid, Rid rid, const T& v) {
        const dm::ResourceDef* d = def_->resource(rid.v);
        if (d == nullptr) return fail(Status::not_found);
        if (!ValueCodec<T>::accepts(d->type)) return fail(Status::bad_request);
        return set_value(iid, rid, ValueCodec<T>::encode(v, d->type));
    }
    /// Sets one instance of a multiple resource (owned or map/vector-bound). Errors: as set().
    template <BindableValue T>
    Result<void> set(Iid iid, Rid rid, Riid riid, const T& v) {
        const dm::ResourceDef* d = def_->resource(rid.v);
        if (d == nullptr) return fail(Status::not_found);
        if (!ValueCodec<T>::accepts(d->type)) return fail(Status::bad_request);
        return set_value(iid, rid, riid, ValueCodec<T>::encode(v, d->type));
    }
    /// Replaces all instances of a multiple resource. Errors: as set().
    template <BindableValue T>
    Result<void> set_all(Iid iid, Rid rid, const std::map<std::uint16_t, T>& values) {
        const dm::ResourceDef* d = def_->resource(rid.v);
        if (d == nullptr) return fail(Status::not_found);
        if (!ValueCodec<T>::accepts(d->type)) return fail(Status::bad_request);
        dm::Resource r = dm::Resource::multi(rid.v);
        for (const auto& [riid, x] : values)
            r.instances.try_emplace(riid, ValueCodec<T>::encode(x, d->type));
        return set_resource(iid, r);
    }
    /// As set() with a dm value (converted losslessly to the definition's type first).
    Result<void> set_value(Iid iid, Rid rid, dm::Value v);
    Result<void> set_value(Iid iid, Rid rid, Riid riid, dm::Value v);
    /// Replaces a whole resource (single or multiple). Errors: as set().
    Result<void> set_resource(Iid iid, const dm::Resource& r);
    /// Removes an owned value, or one instance of an owned/bound multiple resource (riid given).
    /// Errors: Status::not_found (absent), Status::method_not_allowed (accessor binding).
    Result<void> unset(Iid iid, Rid rid);
    Result<void> unset(Iid iid, Rid rid, Riid riid);
    /// Tells the engine that a bound variable changed (the object cannot see direct assignments).
    void notify_changed(Iid iid, Rid rid);
    /// Tells the engine that a value changed without going through set() (e.g. a getter's source).
    void notify_changed(const dm::Path& path);

    /// The current value(s) of a resource, or nullopt (no instance, no resource, no value).
    [[nodiscard]] std::optional<dm::Resource> resource(Iid iid, Rid rid) const;
    /// The current value of a single resource as T, or nullopt.
    template <BindableValue T>
    [[nodiscard]] std::optional<T> get(Iid iid, Rid rid) const {
        const auto r = resource(iid, rid);
        if (!r || r->multiple) return std::nullopt;
        return ValueCodec<T>::decode(r->value);
    }

    // -- ObjectHandler --
    [[nodiscard]] Oid oid() const override { return Oid{def_->id}; }
    [[nodiscard]] std::vector<Iid> instances() const override;
    Result<dm::Content> read(const Actor& actor, const dm::Path& path) const override;
    Result<void> write(const Actor& actor, const dm::Path& path, const dm::Content& content,
                       WriteMode mode) override;
    Result<Iid> create(const Actor& actor, std::optional<Iid> iid,
                       const dm::Instance& content) override;
    Result<void> delete_(const Actor& actor, const dm::Path& path) override;
    Result<std::vector<LinkInfo>> discover(const Actor& actor, const dm::Path& path) const override;
    Result<void> execute(const Actor& actor, const dm::Path& path, std::string_view args) override;
    [[nodiscard]] std::string_view version() const override { return def_->object_version; }

private:
    struct Slot {
        std::optional<dm::Resource> owned;
        std::unique_ptr<detail::ResourceBinding> binding;
        ExecuteHandler execute;
        [[nodiscard]] bool present() const { return owned || binding || execute; }
    };
    using InstanceState = std::map<std::uint16_t, Slot>;
    struct Change {
        std::uint16_t iid = 0;
        std::uint16_t rid = 0;
        std::optional<dm::Resource> value; ///< nullopt: remove the owned value
    };

    Result<void> check_bind(Iid iid, Rid rid, bool (*accepts)(dm::DataType), bool multiple) const;
    Result<void> attach(Iid iid, Rid rid, std::unique_ptr<detail::ResourceBinding> b);
    [[nodiscard]] std::optional<dm::Resource> current(const Slot& s,
                                                      const dm::ResourceDef& d) const;
    [[nodiscard]] std::optional<dm::Instance> read_instance(std::uint16_t iid,
                                                            const InstanceState& st) const;
    /// Converts and checks one written resource against the definition, the validator and the
    /// storage of the target slot (when it exists).
    /// `actor` nullptr: the application (set()), which may set every non-executable resource.
    Result<dm::Resource> prepare(const Actor* actor, std::uint16_t iid, const dm::Resource& r,
                                 bool partial) const;
    Result<void> erase_resource_instance(Iid iid, Rid rid, Riid riid);
    [[nodiscard]] Result<dm::Value> prepare_value(const dm::ResourceDef& d,
                                                  const dm::Value& v) const;
    /// Validates every change, then applies them all or none.
    Result<void> commit(std::vector<Change>& changes);
    Result<void> write_checked(const Actor& actor, const dm::Path& path, const dm::Content& content,
                               WriteMode mode, std::vector<std::uint16_t>& created,
                               std::vector<Change>& changes);
    Result<void> plan_instance(const Actor& actor, std::uint16_t iid, const dm::Instance& in,
                               WriteMode mode, std::vector<std::uint16_t>& created,
                               std::vector<Change>& changes);
    Result<void> create_instance(std::uint16_t iid);
    void drop_instance(std::uint16_t iid);
    void changed(const dm::Path& p) {
        if (listener_ != nullptr) listener_->on_changed(p);
    }
    [[nodiscard]] bool bootstrap_deletes() const {
        return options_.bootstrap_deletes_instances.value_or(def_->multiple);
    }
    void log_op(const Actor& actor, std::string_view op, const dm::Path& path,
                const std::error_code* err) const;

    std::shared_ptr<const dm::ObjectDef> def_; // never null
    Options options_;
    Logger* log_;
    ChangeListener* listener_ = nullptr;
    CreateHandler on_create_;
    DeleteHandler on_delete_;
    std::map<std::uint16_t, Validator> validators_;
    std::map<std::uint16_t, InstanceState> instances_;
};

/// Base of the standard objects built on a TypedObject (Device, Connectivity Monitoring, Firmware
/// Update): forwards ObjectHandler to the inner object, which holds the definition and values;
/// the derived class adds typed application setters and object-specific rules.
class TypedObjectFacade : public ObjectHandler {
public:
    /// The definition in use (the engine registers it so that its decoder knows the resources).
    [[nodiscard]] const dm::ObjectDef& definition() const { return typed_.definition(); }
    /// The definition as shared, immutable data (for dm::ObjectRegistry::add without a copy).
    [[nodiscard]] const std::shared_ptr<const dm::ObjectDef>& shared_definition() const {
        return typed_.shared_definition();
    }
    void set_change_listener(ChangeListener* listener) { typed_.set_change_listener(listener); }

    [[nodiscard]] Oid oid() const override { return typed_.oid(); }
    [[nodiscard]] std::vector<Iid> instances() const override { return typed_.instances(); }
    Result<dm::Content> read(const Actor& actor, const dm::Path& path) const override {
        return typed_.read(actor, path);
    }
    Result<void> write(const Actor& actor, const dm::Path& path, const dm::Content& content,
                       WriteMode mode) override {
        return typed_.write(actor, path, content, mode);
    }
    Result<Iid> create(const Actor& actor, std::optional<Iid> iid,
                       const dm::Instance& content) override {
        return typed_.create(actor, iid, content);
    }
    Result<void> delete_(const Actor& actor, const dm::Path& path) override {
        return typed_.delete_(actor, path);
    }
    Result<std::vector<LinkInfo>> discover(const Actor& actor,
                                           const dm::Path& path) const override {
        return typed_.discover(actor, path);
    }
    Result<void> execute(const Actor& actor, const dm::Path& path, std::string_view args) override {
        return typed_.execute(actor, path, args);
    }
    [[nodiscard]] std::string_view version() const override { return typed_.version(); }

protected:
    TypedObjectFacade(std::shared_ptr<const dm::ObjectDef> def, TypedObject::Options options,
                      Logger& log)
        : typed_(std::move(def), options, log) {}

    TypedObject typed_;
};

} // namespace lwm2m::client
