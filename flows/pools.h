// Declared load-balancer pools (rule.h: lb_pool) to the datapath's form (datapath/lb/pool.h):
// the backends' rewrite data and the Maglev table of new-session choices. Control thread only.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "datapath/lb/pool.h"
#include "datapath/util/result.h"
#include "rule.h"

namespace swd::flows {

// Fails (errc::invalid_input) only on what the parser lets through and Maglev cannot build: more
// than SWD_LB_MAX_BACKENDS backends.
result<std::shared_ptr<const dp::lb::compiled_pool>> compile_pool(const lb_pool& p);

// The pools indexed by id, as dp::pipeline::pools holds them. A pool equal to one declared
// in the last call is reused, not rebuilt (a Maglev table takes ~2 ms). A pool that
// compile_pool() fails for is left null (its lb() actions drop, counted): the parser rejects it.
class pool_compiler {
public:
    std::vector<std::shared_ptr<const dp::lb::compiled_pool>>
    compile(std::span<const lb_pool> pools);

private:
    std::vector<lb_pool> decl_; // what compiled_ was built from
    std::vector<std::shared_ptr<const dp::lb::compiled_pool>> compiled_;
};

} // namespace swd::flows
