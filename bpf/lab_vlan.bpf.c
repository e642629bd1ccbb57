// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * lab_vlan: a test-only classifier for tests/lab/egress_test.sh, where the
 * kernel has no VLAN devices (8021q) and no act_vlan. Attached with
 * `tc filter add dev DEV egress bpf obj lab_vlan.bpf.o sec tc action mirred
 * egress redirect dev PORT`, it gives every frame DEV sends a VLAN tag in the
 * skb's metadata (bpf_skb_vlan_push, as a VLAN device with transmit offload
 * does) and matches, so that mirred hands the frame to PORT's egress. Never
 * part of swd.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define LAB_VLAN_ID 5

SEC("tc")
int swd_lab_vlan_push(struct __sk_buff *skb)
{
	if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), LAB_VLAN_ID) != 0)
		return 0; /* no match: the frame leaves DEV untagged */
	return -1; /* cls_bpf: the filter's default class, then its actions */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
