#include "steering.h"

#include <algorithm>
#include <fmt/format.h>

#include "datapath/util/log.h"

namespace swd::afxdp {

steering::steering(ethtool_channel& channel, std::vector<steering_port> ports) {
    for (auto& cfg : ports) {
        port_state p;
        p.cfg = std::move(cfg);
        if (auto t = ntuple_table::open(channel, p.cfg.name)) {
            p.table = std::move(*t);
        } else {
            p.no_table = t.err().code.message();
        }
        ports_.push_back(std::move(p));
    }
}

uint32_t steering::configured_mode(const port_state& p, uint32_t q) const {
    for (auto [queue, mode] : p.cfg.queue_modes) {
        if (queue == q) {
            return mode;
        }
    }
    return SWD_QUEUE_XDP;
}

std::string steering::refuse(const port_state& p, uint32_t q) const {
    if (!p.table) {
        return fmt::format("{} has no ntuple filters ({})", p.cfg.name, p.no_table);
    }
    if (std::find(p.cfg.served.begin(), p.cfg.served.end(), q) == p.cfg.served.end()) {
        return fmt::format("swd serves no queue {} on {}", q, p.cfg.name);
    }
    if (configured_mode(p, q) == SWD_QUEUE_KERNEL) {
        return fmt::format("queue {} of {} is a kernel-queue", q, p.cfg.name);
    }
    return {};
}

steering::entry steering::install(const dp::steering_request& r) {
    entry e{r, {}};
    const auto& m = r.match;
    const bool one_port = m.mask.f.in_port == 0xffff;
    auto spec = ntuple_spec_of(m, r.queue);
    for (size_t i = 0; i < ports_.size(); i++) {
        port_state& p = ports_[i];
        if (p.cfg.ofport == SWD_OFPORT_LOCAL || (one_port && m.value.f.in_port != p.cfg.ofport)) {
            continue;
        }
        on_port op{i, nullptr, {}};
        std::string why = refuse(p, r.queue);
        if (why.empty() && !spec) {
            why = spec.err().context;
        }
        if (why.empty()) {
            if (auto f = ntuple_filter::install(*p.table, *spec)) {
                op.filter = std::move(*f);
                op.how = fmt::format("ntuple filter {} at location {}", describe(*spec),
                                     op.filter->location());
            } else {
                why = f.err().message();
            }
        }
        if (op.filter) {
            p.filters++;
            n_filters_++;
            if (p.marked[r.queue]++ == 0 && configured_mode(p, r.queue) != SWD_QUEUE_USER) {
                if (auto s = p.cfg.set_queue_mode(r.queue, SWD_QUEUE_USER); !s) {
                    log::warn("{}: queue {} to user mode: {}", p.cfg.name, r.queue,
                              s.err().message());
                }
            }
            log::info("{}: rule {} steered to queue {} by {}", p.cfg.name, r.rule_id, r.queue,
                      op.how);
        } else {
            op.how = "XDP search (" + why + ")";
            if (!p.table && !p.told) {
                p.told = true;
                log::info("{}: no ntuple filters ({}): queue= and set_queue steer in XDP (the "
                          "dispatcher's search sends those flows to user space)",
                          p.cfg.name, p.no_table);
            } else if (p.table) {
                log::info("{}: rule {} steered by the XDP search: {}", p.cfg.name, r.rule_id, why);
            }
        }
        e.ports.push_back(std::move(op));
    }
    return e;
}

void steering::uninstall(entry& e) {
    for (auto& op : e.ports) {
        if (!op.filter) {
            continue;
        }
        port_state& p = ports_[op.port];
        const uint32_t q = e.request.queue;
        if (--p.marked[q] == 0) {
            p.marked.erase(q);
            if (configured_mode(p, q) != SWD_QUEUE_USER) {
                if (auto s = p.cfg.set_queue_mode(q, configured_mode(p, q)); !s) {
                    log::warn("{}: queue {} back from user mode: {}", p.cfg.name, q,
                              s.err().message());
                }
            }
        }
        op.filter.reset();
        p.filters--;
        n_filters_--;
    }
    e.ports.clear();
}

void steering::apply(const std::vector<dp::steering_request>& requests) {
    // Gone or changed first, so that a changed request's filter can take its old place.
    for (auto it = entries_.begin(); it != entries_.end();) {
        auto r = std::lower_bound(
            requests.begin(), requests.end(), it->first,
            [](const dp::steering_request& a, uint32_t id) { return a.rule_id < id; });
        if (r != requests.end() && r->rule_id == it->first && *r == it->second.request) {
            ++it;
            continue;
        }
        uninstall(it->second);
        it = entries_.erase(it);
    }
    for (const auto& r : requests) {
        if (!entries_.contains(r.rule_id)) {
            entries_.emplace(r.rule_id, install(r));
        }
    }
}

std::string steering::summary(uint32_t rule_id) const {
    auto it = entries_.find(rule_id);
    if (it == entries_.end()) {
        return {};
    }
    std::string s;
    for (const auto& op : it->second.ports) {
        s += fmt::format("{}{}:{}/q{}", s.empty() ? "" : "+", op.filter ? "ntuple" : "xdp",
                         ports_[op.port].cfg.name, it->second.request.queue);
    }
    return s.empty() ? "none" : s;
}

std::string steering::detail(uint32_t rule_id) const {
    auto it = entries_.find(rule_id);
    if (it == entries_.end()) {
        return {};
    }
    std::string s;
    for (const auto& op : it->second.ports) {
        s += fmt::format("{}{}: {}", s.empty() ? "" : "; ", ports_[op.port].cfg.name, op.how);
    }
    return s.empty() ? "no port the rule's flows arrive on" : s;
}

std::string steering::port_status(uint16_t ofport) const {
    for (const auto& p : ports_) {
        if (p.cfg.ofport != ofport) {
            continue;
        }
        if (!p.table) {
            return fmt::format("no ntuple filters ({}): steering by the XDP search", p.no_table);
        }
        std::string queues;
        for (auto [q, n] : p.marked) {
            queues += fmt::format("{}{}", queues.empty() ? "" : ",", q);
        }
        return fmt::format("ntuple filters: {} of swd's in a table of {}{}", p.filters,
                           p.table->capacity(),
                           queues.empty() ? "" : "; steered queues in user mode: " + queues);
    }
    return {};
}

} // namespace swd::afxdp
