// libFuzzer target: control-socket requests, one JSON document per line, into a fresh service.
#include <string>
#include <string_view>

#include "tools/control/service.h"

using namespace swd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ctl::service_options o;
    o.ports = {{"eth0", 1}, {"eth1", 2}};
    o.max_rules = 1000;
    ctl::service svc(o, std::make_unique<dp::null_datapath>());
    std::string_view all(reinterpret_cast<const char*>(data), size);
    while (!all.empty()) {
        size_t nl = all.find('\n');
        std::string_view line = all.substr(0, nl);
        all = nl == std::string_view::npos ? std::string_view{} : all.substr(nl + 1);
        ctl::json req = ctl::json::parse(line, nullptr, false);
        if (!req.is_discarded()) {
            ctl::json resp = svc.handle(req);
            (void)resp.dump(-1, ' ', false, ctl::json::error_handler_t::replace);
        }
    }
    return 0;
}
