// Single-threaded stand-ins for <thread>, <mutex> and <shared_mutex>.
//
// Debian's wasm32-wasi libc++ is built with _LIBCPP_HAS_NO_THREADS, so those headers refuse to compile.
// USearch only needs the types to exist: every lock is taken and released on the one thread a wasm
// instance has, and the executor never spawns a thread when hardware_concurrency() is 1. Locks are
// therefore no-ops, and constructing a real std::thread traps loudly instead of pretending to run.
#pragma once

#include <cstddef>
#include <utility>

namespace std {

class mutex {
  public:
    constexpr mutex() noexcept = default;
    mutex(mutex const&) = delete;
    mutex& operator=(mutex const&) = delete;
    void lock() noexcept {}
    bool try_lock() noexcept { return true; }
    void unlock() noexcept {}
};

class shared_mutex {
  public:
    constexpr shared_mutex() noexcept = default;
    shared_mutex(shared_mutex const&) = delete;
    shared_mutex& operator=(shared_mutex const&) = delete;
    void lock() noexcept {}
    bool try_lock() noexcept { return true; }
    void unlock() noexcept {}
    void lock_shared() noexcept {}
    bool try_lock_shared() noexcept { return true; }
    void unlock_shared() noexcept {}
};

struct defer_lock_t { explicit defer_lock_t() = default; };
inline constexpr defer_lock_t defer_lock{};

template <typename mutex_at> class lock_guard {
    mutex_at& mutex_;
  public:
    explicit lock_guard(mutex_at& m) noexcept : mutex_(m) { mutex_.lock(); }
    ~lock_guard() noexcept { mutex_.unlock(); }
    lock_guard(lock_guard const&) = delete;
    lock_guard& operator=(lock_guard const&) = delete;
};

template <typename mutex_at> class unique_lock {
    mutex_at* mutex_ = nullptr;
    bool owns_ = false;
  public:
    unique_lock() noexcept = default;
    explicit unique_lock(mutex_at& m) noexcept : mutex_(&m), owns_(true) { m.lock(); }
    unique_lock(mutex_at& m, defer_lock_t) noexcept : mutex_(&m) {}
    unique_lock(unique_lock&& other) noexcept
        : mutex_(std::exchange(other.mutex_, nullptr)), owns_(std::exchange(other.owns_, false)) {}
    ~unique_lock() noexcept {
        if (owns_) mutex_->unlock();
    }
    unique_lock(unique_lock const&) = delete;
    unique_lock& operator=(unique_lock const&) = delete;
    void lock() noexcept { mutex_->lock(), owns_ = true; }
    void unlock() noexcept { mutex_->unlock(), owns_ = false; }
    bool owns_lock() const noexcept { return owns_; }
};

template <typename mutex_at> class shared_lock {
    mutex_at* mutex_ = nullptr;
  public:
    explicit shared_lock(mutex_at& m) noexcept : mutex_(&m) { m.lock_shared(); }
    ~shared_lock() noexcept { mutex_->unlock_shared(); }
    shared_lock(shared_lock const&) = delete;
    shared_lock& operator=(shared_lock const&) = delete;
};

class thread {
  public:
    thread() noexcept = default;
    template <typename callable_at> explicit thread(callable_at&&) { __builtin_trap(); }
    thread(thread&&) noexcept = default;
    thread& operator=(thread&&) noexcept = default;
    bool joinable() const noexcept { return false; }
    void join() noexcept {}
    static unsigned hardware_concurrency() noexcept { return 1; }
};

namespace this_thread {
inline void yield() noexcept {}
} // namespace this_thread

} // namespace std
