// libFuzzer target: flow-key extraction on arbitrary bytes. Besides memory safety it checks that
// the recorded header offsets stay inside the frame.
#include <cstdlib>

#include "datapath/extract.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    swd::dp::flow_key key;
    swd::dp::header_offsets where;
    swd::dp::extract_key(data, static_cast<uint32_t>(size), 1, key, where);
    if (where.l3_end > size || where.l4 > size || where.l3 > size ||
        (where.l4 != 0 && where.l4 < where.l3)) {
        std::abort();
    }
    return 0;
}
