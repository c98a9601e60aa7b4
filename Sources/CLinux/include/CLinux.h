#ifndef ARBITER_CLINUX_H
#define ARBITER_CLINUX_H

// What Glibc does not export to Swift (epoll, eventfd, accept4 flags, TCP_NODELAY)
// and small wrappers for variadic or macro-only C APIs.

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/// `sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0)` (variadic): SQLite stops counting
/// its allocations, a global mutex taken on every malloc and free. Call before
/// the first connection opens; returns SQLITE_OK (0) or SQLITE_MISUSE (21) once
/// SQLite is already initialised.
int sqlite3_config(int option, ...);
static inline int clinux_sqlite_memstatus_off(void) { return sqlite3_config(9 /* SQLITE_CONFIG_MEMSTATUS */, 0); }

/// `fcntl(fd, F_SETFL, flags | O_NONBLOCK)`; fcntl is variadic, so Swift cannot call it.
static inline int clinux_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/// `open(path, flags)` without the variadic mode argument.
static inline int clinux_open(const char *path, int flags) {
    return open(path, flags | O_CLOEXEC);
}

/// Monotonic clock in nanoseconds (vDSO, no syscall).
static inline uint64_t clinux_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// Wall clock seconds since the epoch (coarse).
static inline int64_t clinux_realtime_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

/// `accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC)` (a GNU extension).
int clinux_accept(int fd, struct sockaddr *addr, socklen_t *len);

/// Names the calling thread (first 15 bytes), for `top -H` and debuggers.
void clinux_set_thread_name(const char *name);

/// Installs handlers for SIGTERM and SIGINT that write to `eventfd` (async-signal-safe),
/// and ignores SIGPIPE. Returns 0 or -1 with errno set.
int clinux_install_shutdown_signals(int eventfd);

/// Restores the default SIGTERM / SIGINT actions.
void clinux_reset_shutdown_signals(void);

/// Ignores SIGPIPE process-wide: a peer that closes early must not kill the server.
static inline void clinux_ignore_sigpipe(void) {
    signal(SIGPIPE, SIG_IGN);
}

/// Long-running server memory policy for glibc malloc: allocations of 256 KiB and
/// more (the big transient arrays of agreement, rater and export requests) are
/// mmapped and go back to the OS when freed, instead of fragmenting per-thread
/// heaps that never shrink; and at most 4 arenas. Measured by Benchmarks/soak.
static inline void clinux_server_malloc_policy(void) {
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, 4);
}

/// Returns freed heap memory to the OS (after a large request).
static inline void clinux_malloc_trim(void) {
    malloc_trim(0);
}

/// Raises the soft RLIMIT_NOFILE to `wanted` (and the hard limit too when allowed).
/// Returns the soft limit in force afterwards.
static inline long clinux_raise_nofile(long wanted) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if ((long)rl.rlim_cur >= wanted) return (long)rl.rlim_cur;
    if ((long)rl.rlim_max < wanted) {
        struct rlimit raised = { (rlim_t)wanted, (rlim_t)wanted };
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return wanted;
    }
    rl.rlim_cur = rl.rlim_max < (rlim_t)wanted ? rl.rlim_max : (rlim_t)wanted;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long)rl.rlim_cur;
}

/// A pipe whose two ends close on exec, atomically (pipe2 with O_CLOEXEC), so a
/// child spawned by another thread at the same moment never inherits it.
int clinux_pipe_cloexec(int fds[2]);

#endif
