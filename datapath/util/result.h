// result<T>: the control plane's error-or-value type (std::expected arrives with C++23).
//
// Control-plane functions return result<T>; they never throw across modules. An error carries
// an std::error_code (errno or swd::errc) and a human context that grows as it propagates:
// "bind xsk eth0/q3: Operation not permitted". The per-packet path never uses result<T>.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace swd {

enum class errc {
    invalid_input = 1, // a request or file that failed validation
    not_found,
    exists,
    limit,       // a configured or structural limit was hit
    unsupported, // valid, but not available here
    protocol,    // a malformed message on the control socket
};

const std::error_category& swd_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), swd_category()};
}

struct error {
    std::error_code code;
    std::string context;

    std::string message() const {
        if (context.empty()) {
            return code.message();
        }
        return context + ": " + code.message();
    }
};

inline error make_error(errc e, std::string context) {
    return {make_error_code(e), std::move(context)};
}

inline error errno_error(int err, std::string context) {
    return {std::error_code(err, std::system_category()), std::move(context)};
}

template <class E>
struct unexpected_t {
    E value;
};

inline unexpected_t<error> fail(error e) {
    return {std::move(e)};
}

inline unexpected_t<error> fail(errc e, std::string context) {
    return {make_error(e, std::move(context))};
}

template <class T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    result(unexpected_t<error> e) : v_(std::in_place_index<1>, std::move(e.value)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const error& err() const& {
        assert(!ok());
        return std::get<1>(v_);
    }
    error&& err() && {
        assert(!ok());
        return std::get<1>(std::move(v_));
    }

private:
    std::variant<T, error> v_;
};

template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(unexpected_t<error> e) : err_(std::move(e.value)), failed_(true) {}

    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const error& err() const& {
        assert(failed_);
        return err_;
    }
    error&& err() && {
        assert(failed_);
        return std::move(err_);
    }

private:
    error err_;
    bool failed_ = false;
};

// Prefix the context of a failed result: "load dispatcher: " + inner context.
inline error with_context(error e, const std::string& outer) {
    e.context = e.context.empty() ? outer : outer + ": " + e.context;
    return e;
}

} // namespace swd

template <>
struct std::is_error_code_enum<swd::errc> : std::true_type {};
