/*
 * syslog_capture.so: an LD_PRELOAD library for the tests that captures syslog messages.
 *
 * It overrides openlog, closelog, syslog, vsyslog and the fortified __syslog_chk and
 * __vsyslog_chk (which Debian's builds call instead of syslog/vsyslog). When the environment
 * variable GA_SYSLOG_CAPTURE names a file, each message is appended to it as one line, with
 * one write() on a descriptor opened with O_APPEND for that message, so many processes and
 * threads can share one file. When the variable is unset, the calls go to the real libc.
 *
 * Line format (fields separated by one TAB, the line ends in LF):
 *
 *     <priority>\t<pid>\t<ident>\t<message>
 *
 * <priority> is the decimal facility|severity a syslog daemon would see: the facility of the
 * call, or else the one given to openlog, or else LOG_USER (e.g. 86 = authpriv.info, 83 =
 * authpriv.err). <ident> is the ident of the last openlog (empty after closelog or when
 * openlog was never called). <message> is the fully formatted text (%m included). In <ident>
 * and <message>, a backslash is written as \\, TAB as \t, LF as \n, CR as \r, other bytes
 * below 0x20 and 0x7f as \xHH; all other bytes are copied.
 *
 * Build: cc -shared -fPIC -O2 -o syslog_capture.so syslog_capture.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char cur_ident[256];
static int cur_facility = LOG_USER;

static const char *capture_file(void) {
    const char *f = getenv("GA_SYSLOG_CAPTURE");
    return (f && *f) ? f : NULL;
}

static size_t escape(char *out, size_t cap, const char *in) {
    size_t n = 0;
    for (; *in && n + 5 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '\\') { out[n++] = '\\'; out[n++] = '\\'; }
        else if (c == '\t') { out[n++] = '\\'; out[n++] = 't'; }
        else if (c == '\n') { out[n++] = '\\'; out[n++] = 'n'; }
        else if (c == '\r') { out[n++] = '\\'; out[n++] = 'r'; }
        else if (c < 0x20 || c == 0x7f) { n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c); }
        else out[n++] = (char)c;
    }
    out[n] = '\0';
    return n;
}

static void capture(int pri, const char *fmt, va_list ap) {
    const char *file = capture_file();
    int saved = errno;
    char msg[8192];
    char line[2 * 8192 + 600];
    char ident_esc[600];
    char ident[256];
    int facility;

    vsnprintf(msg, sizeof msg, fmt, ap);
    pthread_mutex_lock(&lock);
    memcpy(ident, cur_ident, sizeof ident);
    facility = cur_facility;
    pthread_mutex_unlock(&lock);
    if ((pri & LOG_FACMASK) == 0)
        pri |= facility;
    escape(ident_esc, sizeof ident_esc, ident);
    int n = snprintf(line, sizeof line, "%d\t%ld\t%s\t", pri, (long)getpid(), ident_esc);
    if (n < 0) n = 0;
    size_t len = (size_t)n;
    len += escape(line + len, sizeof line - len - 1, msg);
    line[len++] = '\n';
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, len);
        (void)w;
        close(fd);
    }
    errno = saved;
}

void openlog(const char *ident, int option, int facility) {
    if (!capture_file()) {
        void (*real)(const char *, int, int) = (void (*)(const char *, int, int))dlsym(RTLD_NEXT, "openlog");
        if (real) real(ident, option, facility);
        return;
    }
    pthread_mutex_lock(&lock);
    snprintf(cur_ident, sizeof cur_ident, "%s", ident ? ident : "");
    cur_facility = facility ? facility : LOG_USER;
    pthread_mutex_unlock(&lock);
}

void closelog(void) {
    if (!capture_file()) {
        void (*real)(void) = (void (*)(void))dlsym(RTLD_NEXT, "closelog");
        if (real) real();
        return;
    }
    pthread_mutex_lock(&lock);
    cur_ident[0] = '\0';
    cur_facility = LOG_USER;
    pthread_mutex_unlock(&lock);
}

void vsyslog(int pri, const char *fmt, va_list ap) {
    if (!capture_file()) {
        void (*real)(int, const char *, va_list) = (void (*)(int, const char *, va_list))dlsym(RTLD_NEXT, "vsyslog");
        if (real) real(pri, fmt, ap);
        return;
    }
    capture(pri, fmt, ap);
}

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap) {
    (void)flag;
    vsyslog(pri, fmt, ap);
}

void syslog(int pri, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsyslog(pri, fmt, ap);
    va_end(ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...) {
    va_list ap;
    (void)flag;
    va_start(ap, fmt);
    vsyslog(pri, fmt, ap);
    va_end(ap);
}
