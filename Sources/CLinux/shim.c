#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>
#include "CLinux.h"

static volatile int shutdown_eventfd = -1;

static void on_shutdown_signal(int signo) {
    (void)signo;
    int saved = errno;
    uint64_t one = 1;
    if (shutdown_eventfd >= 0) {
        ssize_t ignored = write(shutdown_eventfd, &one, sizeof one);
        (void)ignored;
    }
    errno = saved;
}

int clinux_install_shutdown_signals(int fd) {
    shutdown_eventfd = fd;
    struct sigaction action = {0};
    action.sa_handler = on_shutdown_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &action, NULL) != 0) return -1;
    if (sigaction(SIGINT, &action, NULL) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

void clinux_reset_shutdown_signals(void) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    shutdown_eventfd = -1;
}

int clinux_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

void clinux_set_thread_name(const char *name) {
    char shortened[16];
    strncpy(shortened, name, 15);
    shortened[15] = 0;
    pthread_setname_np(pthread_self(), shortened);
}

int clinux_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
