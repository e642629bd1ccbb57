#include "log.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <unistd.h>

namespace swd::log {

namespace {
std::atomic<level> g_level{level::info};

const char* level_name(level l) {
    switch (l) {
    case level::debug:
        return "debug";
    case level::info:
        return "info";
    case level::warn:
        return "warn";
    case level::error:
        return "error";
    }
    return "?";
}
} // namespace

void set_level(level l) noexcept {
    g_level.store(l, std::memory_order_relaxed);
}

level current_level() noexcept {
    return g_level.load(std::memory_order_relaxed);
}

std::optional<level> parse_level(std::string_view name) noexcept {
    for (level l : {level::debug, level::info, level::warn, level::error}) {
        if (name == level_name(l)) {
            return l;
        }
    }
    if (name == "warning") {
        return level::warn;
    }
    return std::nullopt;
}

void write(level l, std::string_view msg) noexcept {
    try {
        auto now = std::chrono::system_clock::now();
        std::time_t t = std::chrono::system_clock::to_time_t(now);
        auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::string line =
            fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z swd[{}] {}: {}\n",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, static_cast<int>(ms.count()), ::getpid(), level_name(l), msg);
        ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
        (void)rc;
    } catch (...) {
        // Logging must never take the daemon down.
    }
}

} // namespace swd::log
