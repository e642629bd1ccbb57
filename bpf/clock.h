/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * clock.h - the clock of the load balancer's sessions and the connection
 * tracker's entries in BPF (lb.h, conntrack.h): CLOCK_MONOTONIC_COARSE,
 * CLOCK_MONOTONIC as of the last timer tick.
 *
 * bpf_ktime_get_ns() costs ~25 ns per packet in this KVM guest (a third of
 * the balancer's hit path, docs/benchmarks.md), the coarse clock ~2 ns, and
 * idle timeouts of seconds need no finer step than a tick (1-10 ms).
 * Both clocks count from the same origin, so user space's times
 * (clock_gettime(CLOCK_MONOTONIC), netdev-afxdp/ct_map.cc's hand-off) and
 * these compare directly, with one catch: a time user space wrote may be
 * up to a tick later than swd_now() (and another CPU's write a little
 * later than this CPU's read). The comparisons below take "later" as
 * "just used", where an unsigned difference would wrap and call a fresh
 * entry idle.
 */
#ifndef SWD_BPF_CLOCK_H
#define SWD_BPF_CLOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u64 swd_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* Whether an entry last used at last is idle for more than ns at now. */
static __always_inline int swd_idle_for(__u64 now, __u64 last, __u64 ns)
{
	return (__s64)(now - last) > (__s64)ns;
}

/* Whether a lookup should write now into the entry: at most once a tick (a
 * write per packet would bounce the entry's cache line between CPUs). */
static __always_inline int swd_refresh_due(__u64 now, __u64 last)
{
	return (__s64)(now - last) > 0;
}

#endif /* SWD_BPF_CLOCK_H */
