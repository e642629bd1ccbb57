#include "datapath.h"

namespace swd::dp {

const char* location_name(rule_location l) {
    switch (l) {
    case rule_location::none:
        return "none";
    case rule_location::user:
        return "user";
    case rule_location::xdp:
        return "xdp";
    case rule_location::both:
        return "both";
    }
    return "?";
}

} // namespace swd::dp
