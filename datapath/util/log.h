// Control-plane logging to stderr: "2026-11-25T09:00:00.123Z swd[123] info: message".
//
// Thread-safe (one write(2) per line). Never used on the per-packet path: the datapath counts
// events instead and the control plane reports the counters.
#pragma once

#include <fmt/core.h>
#include <optional>
#include <string_view>

namespace swd::log {

enum class level { debug = 0, info, warn, error };

void set_level(level l) noexcept;
level current_level() noexcept;
std::optional<level> parse_level(std::string_view name) noexcept;
void write(level l, std::string_view msg) noexcept;

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (current_level() <= level::debug) {
        write(level::debug, fmt::format(f, std::forward<Args>(args)...));
    }
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    if (current_level() <= level::info) {
        write(level::info, fmt::format(f, std::forward<Args>(args)...));
    }
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    if (current_level() <= level::warn) {
        write(level::warn, fmt::format(f, std::forward<Args>(args)...));
    }
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    write(level::error, fmt::format(f, std::forward<Args>(args)...));
}

} // namespace swd::log
