/*
 * syslog_sink: a syslog receiver for the benchmark, so that neither module's log lines go to
 * /dev/console (glibc's fallback for openlog(LOG_CONS) when nothing listens on /dev/log).
 *
 *   syslog_sink PATH          binds a datagram socket at PATH (mode 0666), prints "ready",
 *                             reads and counts messages until SIGTERM or SIGINT, then
 *                             removes PATH and prints "messages=N ours=N c=N other=N".
 *                             The benchmark's services are named ga-ours-* and ga-c-*, and
 *                             both modules put the service name into every line; the
 *                             first five other lines are printed on stderr.
 *   syslog_sink -p PATH       exits 0 when something accepts datagrams at PATH, 1 otherwise.
 *
 * Build: cc -Wall -Wextra -Werror -O2 -o syslog_sink syslog_sink.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int address(const char *path, struct sockaddr_un *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) {
        fprintf(stderr, "syslog_sink: path too long: %s\n", path);
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

static int probe(const char *path) {
    struct sockaddr_un sa;
    if (address(path, &sa) != 0)
        return 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 1;
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "-p") == 0)
        return probe(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: syslog_sink PATH | syslog_sink -p PATH\n");
        return 2;
    }
    const char *path = argv[1];
    struct sockaddr_un sa;
    if (address(path, &sa) != 0)
        return 2;
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "syslog_sink: cannot bind %s: %s\n", path, strerror(errno));
        return 2;
    }
    chmod(path, 0666);
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    printf("ready\n");
    fflush(stdout);
    long total = 0, ours = 0, c = 0, other = 0;
    char buf[8192];
    while (!stop) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
            if (n < 0)
                break;
            buf[n] = '\0';
            total++;
            if (strstr(buf, "ga-ours-"))
                ours++;
            else if (strstr(buf, "ga-c-"))
                c++;
            else if (++other <= 5)
                fprintf(stderr, "syslog_sink: a line without a benchmark service name: %s\n", buf);
        }
    }
    unlink(path);
    printf("messages=%ld ours=%ld c=%ld other=%ld\n", total, ours, c, other);
    return 0;
}
