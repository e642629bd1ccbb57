#include "result.h"

namespace swd {

namespace {

class swd_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "swd"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
        case errc::invalid_input:
            return "invalid input";
        case errc::not_found:
            return "not found";
        case errc::exists:
            return "already exists";
        case errc::limit:
            return "limit reached";
        case errc::unsupported:
            return "not supported";
        case errc::protocol:
            return "protocol error";
        }
        return "unknown error";
    }
};

} // namespace

const std::error_category& swd_category() noexcept {
    static const swd_category_impl category;
    return category;
}

} // namespace swd
