// The load balancer's session table as the datapath uses it: ours (session_table.h) or, when swd
// is built with -Dlb_session_table=rte_hash (DPDK found), DPDK's (rte_session_table.h). Both have
// the same interface and behaviour; a build-time choice, so that the per-packet calls are direct.
// The connection tracker (conntrack.h) always uses ours.
#pragma once

#ifdef SWD_LB_RTE_HASH
#include "rte_session_table.h"
#else
#include "session_table.h"
#endif

namespace swd::dp::lb {

#ifdef SWD_LB_RTE_HASH
using session_store = rte_session_table;
inline constexpr const char* session_store_name = "rte_hash";
#else
using session_store = session_table;
inline constexpr const char* session_store_name = "swd";
#endif

} // namespace swd::dp::lb
