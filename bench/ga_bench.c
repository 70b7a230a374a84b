/*
 * ga_bench: times two pam_google_authenticator modules (ours and Debian's C module) through
 * the real libpam, call by call in alternation, on the same secret files.
 *
 * Written in C so that the process holds nothing but libc, libpam and what libpam loads: in
 * particular not libgcc_s, which sshd, login and su do not link, so a module that needs it
 * pays for loading it at every real login. The host refuses to run when libgcc_s is mapped.
 *
 *   ga_bench -o OURS -c C_MODULE -d DIR [-n ITERATIONS] [-w WAVES] [-k CASE] [-m ours|c]
 *            [-r SEED]
 *   ga_bench -t        prints the current TOTP code of the benchmark secret and exits
 *
 *   -d  a private directory: the host writes DIR/pam.d/<service> (one line:
 *       "auth required <module> secret=DIR/<case>.secret <args>") and the secret files.
 *   -n  timed calls per case and module (default 200).
 *   -w  waves per concurrency setting and module (default 20; 0 skips the concurrency runs).
 *   -k  only the case named CASE (no concurrency runs).
 *   -m  only this module, one timed call per case, for callgrind: the timed call goes through
 *       bench_login_measured() and bench_auth_measured(), which nothing else calls, so
 *       --toggle-collect on either counts exactly one pam_start..pam_end or pam_authenticate.
 *   -r  seed of the per-pair order (default 1).
 *
 * Every case is checked before it is timed: both modules must return the case's expected PAM
 * result with the expected number of prompts, and must change the secret file or leave it
 * alone as the case expects; otherwise the host stops with exit status 1. A timed call that
 * returns another result also gives exit status 1 at the end. Harness failures (bad usage, a
 * failed system call of the host): exit status 2.
 *
 * Output on stdout, one record per line, fields separated by TAB:
 *   case   NAME GROUP PARAM EXPECTED_RESULT EXPECTED_PROMPTS WRITES DESCRIPTION
 *   check  NAME MODULE RESULT PROMPTS FILE_CHANGED
 *   sample NAME MODULE I START_NS AUTH_NS END_NS RESULT
 *   maps   NAME LIBGCC_S_MAPPED MODULE_MAPPED        (after the case, no login in progress)
 *   conc   NAME THREADS FILES                        (FILES: same or distinct)
 *   csample NAME MODULE WAVE START_NS AUTH_NS END_NS RESULT
 *   wave   NAME MODULE WAVE WALL_NS
 *   failures N
 *
 * Build: cc -Wall -Wextra -Werror -O2 -pthread -o ga_bench ga_bench.c -lpam
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define SECRET_B32 "GEZDGNBVGY3TQOJQGEZDGNBVGY"
#define SCRATCH_CODES "48213695\n71920384\n30571846\n96302718\n25784930\n"
#define SCRATCH_CODE "71920384"
#define STEP 30
#define FILE_CAP 65536

/* ----------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------- */

static void harness_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ga_bench: harness error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

/* ----------------------------------------------------------------------------------------
 * SHA-1, HMAC-SHA1, HOTP (RFC 3174, 2104, 4226): the host computes the codes it types.
 * ------------------------------------------------------------------------------------- */

struct sha1 {
    uint32_t h[5];
    uint64_t len;
    unsigned char buf[64];
    size_t n;
};

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(struct sha1 *s, const unsigned char *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
}

static void sha1_init(struct sha1 *s) {
    static const uint32_t h0[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
    s->n = 0;
}

static void sha1_update(struct sha1 *s, const unsigned char *p, size_t len) {
    s->len += len;
    while (len > 0) {
        size_t take = 64 - s->n < len ? 64 - s->n : len;
        memcpy(s->buf + s->n, p, take);
        s->n += take;
        p += take;
        len -= take;
        if (s->n == 64) {
            sha1_block(s, s->buf);
            s->n = 0;
        }
    }
}

static void sha1_final(struct sha1 *s, unsigned char out[20]) {
    uint64_t bits = s->len * 8;
    unsigned char pad = 0x80, zero = 0, lenbuf[8];
    sha1_update(s, &pad, 1);
    while (s->n != 56)
        sha1_update(s, &zero, 1);
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha1_update(s, lenbuf, 8);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (unsigned char)(s->h[i] >> (24 - 8 * j));
}

static unsigned hotp(const unsigned char *key, size_t klen, uint64_t counter) {
    unsigned char ipad[64], opad[64], msg[8], inner[20], d[20];
    memset(ipad, 0x36, sizeof ipad);
    memset(opad, 0x5c, sizeof opad);
    for (size_t i = 0; i < klen && i < 64; i++) {
        ipad[i] ^= key[i];
        opad[i] ^= key[i];
    }
    for (int i = 0; i < 8; i++)
        msg[i] = (unsigned char)(counter >> (56 - 8 * i));
    struct sha1 s;
    sha1_init(&s);
    sha1_update(&s, ipad, 64);
    sha1_update(&s, msg, 8);
    sha1_final(&s, inner);
    sha1_init(&s);
    sha1_update(&s, opad, 64);
    sha1_update(&s, inner, 20);
    sha1_final(&s, d);
    int off = d[19] & 15;
    uint32_t bin = (uint32_t)(d[off] & 0x7f) << 24 | (uint32_t)d[off + 1] << 16 |
                   (uint32_t)d[off + 2] << 8 | (uint32_t)d[off + 3];
    return bin % 1000000;
}

/* Decodes base32 (A-Z, 2-7); leftover bits at the end are dropped, as the modules do. */
static size_t base32_decode(const char *in, unsigned char *out, size_t cap) {
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *in; in++) {
        int v;
        if (*in >= 'A' && *in <= 'Z')
            v = *in - 'A';
        else if (*in >= '2' && *in <= '7')
            v = *in - '2' + 26;
        else
            harness_error("bad base32 character in the secret");
        acc = acc << 5 | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (n == cap)
                harness_error("secret too long");
            out[n++] = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return n;
}

static unsigned char key[64];
static size_t key_len;

static unsigned code_at_step(uint64_t step) { return hotp(key, key_len, step); }

static void current_code(char out[7]) {
    snprintf(out, 7, "%06u", code_at_step((uint64_t)time(NULL) / STEP));
}

/* A code that matches no step within 1,600 steps of now: both modules run their whole
 * window and their skew search (±1,500 steps) without a match, also a while later. */
static void wrong_code(char out[7]) {
    static unsigned char used[1000000];
    uint64_t tm = (uint64_t)time(NULL) / STEP;
    memset(used, 0, sizeof used);
    for (uint64_t s = tm - 1600; s <= tm + 1600; s++)
        used[code_at_step(s)] = 1;
    for (unsigned c = 123456; c < 1000000; c++)
        if (!used[c]) {
            snprintf(out, 7, "%06u", c);
            return;
        }
    harness_error("no unused code");
}

static void self_test(void) {
    unsigned char k[20];
    size_t n = base32_decode("2SH3V3GDW7ZNMGYE", k, sizeof k);
    /* Test vectors of upstream's unit test. */
    if (hotp(k, n, 1) != 293240 || hotp(k, n, 10000) != 50548 || hotp(k, n, 20000) != 178844)
        harness_error("the host's HOTP self-test failed");
    key_len = base32_decode(SECRET_B32, key, sizeof key);
}

/* ----------------------------------------------------------------------------------------
 * Cases
 * ------------------------------------------------------------------------------------- */

enum contents { F_NONE, F_TOTP, F_RATE_FRESH, F_REUSE, F_HOTP, F_RATE_OLD };
enum answer { A_NOW, A_WRONG, A_SCRATCH, A_HOTP1, A_ANY };

struct case_def {
    const char *name;
    const char *group;
    const char *args;
    enum contents contents;
    int window;  /* WINDOW_SIZE written in the file (0: no line) */
    int entries; /* DISALLOW_REUSE or RATE_LIMIT entries */
    enum answer answer;
    int result;
    int prompts;
    int writes;
    const char *description;
};

static const struct case_def cases[] = {
    {"totp_ok", "path", "", F_TOTP, 17, 0, A_NOW, PAM_SUCCESS, 1, 0,
     "right TOTP code; WINDOW_SIZE 17; nothing written"},
    {"totp_wrong", "path", "", F_TOTP, 17, 0, A_WRONG, PAM_AUTH_ERR, 1, 0,
     "wrong code: window, then the skew search (3000 steps); nothing written"},
    {"totp_wrong_noskewadj", "path", "noskewadj", F_TOTP, 17, 0, A_WRONG, PAM_AUTH_ERR, 1, 0,
     "wrong code with noskewadj: window only; nothing written"},
    {"missing_nullok", "path", "nullok", F_NONE, 0, 0, A_ANY, PAM_PERM_DENIED, 0, 0,
     "no secret file, nullok: PAM_IGNORE (libpam: PAM_PERM_DENIED, the only line)"},
    {"scratch", "path", "", F_TOTP, 17, 0, A_SCRATCH, PAM_SUCCESS, 1, 1,
     "scratch code: accepted and removed; file rewritten"},
    {"rate_limited", "path", "", F_RATE_FRESH, 17, 3, A_NOW, PAM_AUTH_ERR, 0, 1,
     "RATE_LIMIT 3 30 with 3 attempts in the last 3 s: refused, no prompt; attempt recorded"},
    {"reuse_ok", "path", "", F_REUSE, 17, 0, A_NOW, PAM_SUCCESS, 1, 1,
     "DISALLOW_REUSE, right code: accepted; step recorded"},
    {"hotp_ok", "path", "", F_HOTP, 0, 0, A_HOTP1, PAM_SUCCESS, 1, 1,
     "HOTP_COUNTER 1, code of counter 1: accepted; counter advanced"},
    {"window_3_ok", "window", "", F_TOTP, 3, 0, A_NOW, PAM_SUCCESS, 1, 0,
     "WINDOW_SIZE 3, right code"},
    {"window_100_ok", "window", "", F_TOTP, 100, 0, A_NOW, PAM_SUCCESS, 1, 0,
     "WINDOW_SIZE 100, right code"},
    {"window_3_wrong", "window", "noskewadj", F_TOTP, 3, 0, A_WRONG, PAM_AUTH_ERR, 1, 0,
     "WINDOW_SIZE 3, wrong code, noskewadj"},
    {"window_100_wrong", "window", "noskewadj", F_TOTP, 100, 0, A_WRONG, PAM_AUTH_ERR, 1, 0,
     "WINDOW_SIZE 100, wrong code, noskewadj"},
    {"reuse_10", "entries", "", F_REUSE, 17, 10, A_NOW, PAM_SUCCESS, 1, 1,
     "DISALLOW_REUSE with 10 old entries, right code (entries dropped on the rewrite)"},
    {"reuse_1000", "entries", "", F_REUSE, 17, 1000, A_NOW, PAM_SUCCESS, 1, 1,
     "DISALLOW_REUSE with 1,000 old entries, right code (entries dropped on the rewrite)"},
    {"ratelimit_0", "entries", "", F_RATE_OLD, 17, 0, A_NOW, PAM_SUCCESS, 1, 1,
     "RATE_LIMIT 3 30 with no entries, right code; attempt recorded"},
    {"ratelimit_10", "entries", "", F_RATE_OLD, 17, 10, A_NOW, PAM_SUCCESS, 1, 1,
     "RATE_LIMIT 3 30 with 10 expired entries, right code; attempt recorded"},
    {"ratelimit_1000", "entries", "", F_RATE_OLD, 17, 1000, A_NOW, PAM_SUCCESS, 1, 1,
     "RATE_LIMIT 3 30 with 1,000 expired entries, right code; attempt recorded"},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static void append(char *buf, size_t cap, const char *fmt, ...) {
    size_t len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - len)
        harness_error("secret file contents too long");
}

/* The secret file of a case at time `now`, in the order the setup command writes the
 * option lines (RATE_LIMIT, WINDOW_SIZE, DISALLOW_REUSE, TOTP_AUTH/HOTP_COUNTER), then
 * five scratch codes. */
static void make_contents(const struct case_def *c, time_t now, char *buf, size_t cap) {
    uint64_t tm = (uint64_t)now / STEP;
    buf[0] = '\0';
    append(buf, cap, "%s\n", SECRET_B32);
    if (c->contents == F_RATE_FRESH) {
        append(buf, cap, "\" RATE_LIMIT 3 30");
        /* now-2, now-1, now: the call's own attempt makes one too many, and the newest three
         * that are kept always differ from these, so the rewrite always changes the file. */
        for (int i = 0; i < c->entries; i++)
            append(buf, cap, " %ld", (long)now - (c->entries - 1 - i));
        append(buf, cap, "\n");
    } else if (c->contents == F_RATE_OLD) {
        append(buf, cap, "\" RATE_LIMIT 3 30");
        for (int i = 0; i < c->entries; i++)
            append(buf, cap, " %ld", (long)now - 100000 + i * 10);
        append(buf, cap, "\n");
    }
    if (c->window)
        append(buf, cap, "\" WINDOW_SIZE %d\n", c->window);
    if (c->contents == F_REUSE) {
        append(buf, cap, "\" DISALLOW_REUSE");
        for (int i = 0; i < c->entries; i++)
            append(buf, cap, " %" PRIu64, tm - 5000 + (uint64_t)i);
        append(buf, cap, "\n");
    }
    if (c->contents == F_HOTP)
        append(buf, cap, "\" HOTP_COUNTER 1\n");
    else
        append(buf, cap, "\" TOTP_AUTH\n");
    append(buf, cap, "%s", SCRATCH_CODES);
}

/* ----------------------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------------------- */

static const char *dir;
static char confdir[PATH_MAX];
static const char *module_path[2];
static const char *module_label[2] = {"ours", "c"};

static void write_all(int fd, const char *data, size_t len, const char *what) {
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            harness_error("write %s: %s", what, strerror(errno));
        data += w;
        len -= (size_t)w;
    }
}

static void fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        harness_error("fsync %s: %s", path, strerror(errno));
    close(fd);
}

/* Writes a file durably (temp file, fsync, rename, directory fsync), so that the writeback
 * of a restore is not paid by the timed call that follows. */
static void put_file(const char *path, const char *data, mode_t mode) {
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.bench-new", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        harness_error("create %s: %s", tmp, strerror(errno));
    write_all(fd, data, strlen(data), tmp);
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0)
        harness_error("fchmod/fsync %s: %s", tmp, strerror(errno));
    close(fd);
    if (rename(tmp, path) != 0)
        harness_error("rename %s: %s", tmp, strerror(errno));
    fsync_dir(dir);
}

/* Reads a file into buf; -1 when it does not exist. */
static long read_file(const char *path, char *buf, size_t cap, struct timespec *mtime) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return -1;
        harness_error("open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        harness_error("fstat %s: %s", path, strerror(errno));
    if (mtime)
        *mtime = st.st_mtim;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            harness_error("read %s: %s", path, strerror(errno));
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap - 1)
            break;
    }
    buf[n] = '\0';
    close(fd);
    return (long)n;
}

static void secret_path(char *out, size_t cap, const char *name) {
    if ((size_t)snprintf(out, cap, "%s/%s.secret", dir, name) >= cap)
        harness_error("path too long");
}

static void service_name(char *out, size_t cap, int m, const char *name) {
    if ((size_t)snprintf(out, cap, "ga-%s-%s", module_label[m], name) >= cap)
        harness_error("service name too long");
}

static void write_service(int m, const char *name, const char *secret, const char *args) {
    char service[128], path[PATH_MAX + 160], line[2 * PATH_MAX + 256];
    service_name(service, sizeof service, m, name);
    snprintf(path, sizeof path, "%s/%s", confdir, service);
    snprintf(line, sizeof line, "auth required %s secret=%s%s%s\n", module_path[m], secret,
             *args ? " " : "", args);
    put_file(path, line, 0644);
}

/* Whether /proc/self/maps maps a path containing `needle`. */
static int mapped(const char *needle) {
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        harness_error("open /proc/self/maps: %s", strerror(errno));
    char line[PATH_MAX + 256];
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            found = 1;
    fclose(f);
    return found;
}

/* ----------------------------------------------------------------------------------------
 * One login through libpam
 * ------------------------------------------------------------------------------------- */

static const char *user;

struct conv_state {
    const char *answer;
    int prompts;
    int messages;
};

static int conversation(int n, const struct pam_message **msg, struct pam_response **resp,
                        void *appdata) {
    struct conv_state *cs = appdata;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
            cs->prompts++;
            r[i].resp = strdup(cs->answer);
        } else {
            cs->messages++;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

struct login {
    const char *service;
    const char *answer;
    int result;
    int prompts;
    int64_t start_ns, auth_ns, end_ns; /* pam_start, pam_authenticate, pam_end */
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Two copies of every step: the *_measured ones are called for timed calls only, so that
 * callgrind's --toggle-collect=bench_auth_measured (or =bench_login_measured) counts only
 * the timed call. noipa keeps them apart (no inlining, cloning or identical-code folding). */
__attribute__((noipa)) static int bench_auth_measured(pam_handle_t *h) {
    return pam_authenticate(h, 0);
}

__attribute__((noipa)) static int bench_auth_plain(pam_handle_t *h) {
    return pam_authenticate(h, 0);
}

static inline __attribute__((always_inline)) void login_body(struct login *l,
                                                              int (*auth)(pam_handle_t *)) {
    struct conv_state cs = {l->answer, 0, 0};
    struct pam_conv conv = {conversation, &cs};
    pam_handle_t *h = NULL;
    int64_t t0 = now_ns();
    int rc = pam_start_confdir(l->service, user, &conv, confdir, &h);
    int64_t t1 = now_ns();
    if (rc != PAM_SUCCESS)
        harness_error("pam_start_confdir(%s): %d", l->service, rc);
    int result = auth(h);
    int64_t t2 = now_ns();
    pam_end(h, result);
    int64_t t3 = now_ns();
    l->result = result;
    l->prompts = cs.prompts;
    l->start_ns = t1 - t0;
    l->auth_ns = t2 - t1;
    l->end_ns = t3 - t2;
}

__attribute__((noipa)) static void bench_login_measured(struct login *l) {
    login_body(l, bench_auth_measured);
}

__attribute__((noipa)) static void bench_login_plain(struct login *l) {
    login_body(l, bench_auth_plain);
}

/* ----------------------------------------------------------------------------------------
 * Sequential cases
 * ------------------------------------------------------------------------------------- */

static long failures;
static int only_module = -1;
static uint64_t rng = 1;

static unsigned next_bit(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 32) & 1;
}

static char file_buf[FILE_CAP];
static char after_buf[FILE_CAP];

static void restore(const struct case_def *c, const char *path) {
    if (c->contents == F_NONE)
        return;
    make_contents(c, time(NULL), file_buf, sizeof file_buf);
    put_file(path, file_buf, 0600);
}

static void make_answer(const struct case_def *c, const char *wrong, char *out, size_t cap) {
    char code[7];
    switch (c->answer) {
    case A_NOW: current_code(code); snprintf(out, cap, "%s", code); break;
    case A_WRONG: snprintf(out, cap, "%s", wrong); break;
    case A_SCRATCH: snprintf(out, cap, "%s", SCRATCH_CODE); break;
    case A_HOTP1: snprintf(out, cap, "%06u", code_at_step(1)); break;
    case A_ANY: snprintf(out, cap, "123456"); break;
    }
}

/* One untimed call of module m, checked against the case's expectations. */
static void check_case(const struct case_def *c, int m, const char *path, const char *wrong) {
    char answer[16], service[128];
    struct timespec before_mtime = {0, 0}, after_mtime = {0, 0};
    restore(c, path);
    long before = read_file(path, file_buf, sizeof file_buf, &before_mtime);
    if ((before < 0) != (c->contents == F_NONE))
        harness_error("%s: the secret file is %s", c->name, before < 0 ? "missing" : "there");
    make_answer(c, wrong, answer, sizeof answer);
    service_name(service, sizeof service, m, c->name);
    struct login l = {service, answer, 0, 0, 0, 0, 0};
    bench_login_plain(&l);
    long after = read_file(path, after_buf, sizeof after_buf, &after_mtime);
    int changed = after != before || (before >= 0 && strcmp(file_buf, after_buf) != 0) ||
                  before_mtime.tv_sec != after_mtime.tv_sec ||
                  before_mtime.tv_nsec != after_mtime.tv_nsec;
    printf("check\t%s\t%s\t%d\t%d\t%d\n", c->name, module_label[m], l.result, l.prompts, changed);
    fflush(stdout);
    if (l.result != c->result || l.prompts != c->prompts || changed != c->writes) {
        fprintf(stderr,
                "ga_bench: %s: the %s module returned %d (%s) with %d prompt(s) and %s the file; "
                "the case expects %d (%s) with %d prompt(s), file %s. The two modules would not "
                "be timed on the same path; stopping.\n",
                c->name, module_label[m], l.result, pam_strerror(NULL, l.result), l.prompts,
                changed ? "changed" : "did not change", c->result,
                pam_strerror(NULL, c->result), c->prompts, c->writes ? "changed" : "unchanged");
        exit(1);
    }
}

static void run_case(const struct case_def *c, long iterations) {
    char path[PATH_MAX], wrong[7], answer[16], service[2][128];
    secret_path(path, sizeof path, c->name);
    unlink(path);
    printf("case\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", c->name, c->group,
           strcmp(c->group, "entries") == 0 ? c->entries : c->window, c->result, c->prompts, c->writes, c->description);
    for (int m = 0; m < 2; m++) {
        write_service(m, c->name, path, c->args);
        service_name(service[m], sizeof service[m], m, c->name);
    }
    wrong_code(wrong);
    for (int m = 0; m < 2; m++)
        if (only_module < 0 || only_module == m)
            check_case(c, m, path, wrong);

    if (only_module >= 0) {
        /* callgrind: one warm-up call, then the one measured call. */
        int m = only_module;
        restore(c, path);
        make_answer(c, wrong, answer, sizeof answer);
        struct login warm = {service[m], answer, 0, 0, 0, 0, 0};
        bench_login_plain(&warm);
        restore(c, path);
        make_answer(c, wrong, answer, sizeof answer);
        struct login l = {service[m], answer, 0, 0, 0, 0, 0};
        bench_login_measured(&l);
        printf("sample\t%s\t%s\t0\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%d\n", c->name,
               module_label[m], l.start_ns, l.auth_ns, l.end_ns, l.result);
        if (l.result != c->result)
            failures++;
        return;
    }

    /* Warm-up: two untimed calls each. */
    for (int i = 0; i < 2; i++)
        for (int m = 0; m < 2; m++) {
            restore(c, path);
            make_answer(c, wrong, answer, sizeof answer);
            struct login l = {service[m], answer, 0, 0, 0, 0, 0};
            bench_login_plain(&l);
        }
    for (long i = 0; i < iterations; i++) {
        unsigned first = next_bit();
        for (unsigned k = 0; k < 2; k++) {
            int m = (int)(first ^ k);
            if (c->writes)
                restore(c, path);
            make_answer(c, wrong, answer, sizeof answer);
            struct login l = {service[m], answer, 0, 0, 0, 0, 0};
            bench_login_measured(&l);
            printf("sample\t%s\t%s\t%ld\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%d\n", c->name,
                   module_label[m], i, l.start_ns, l.auth_ns, l.end_ns, l.result);
            if (l.result != c->result) {
                failures++;
                fprintf(stderr, "ga_bench: %s: the %s module returned %d in call %ld (expected %d)\n",
                        c->name, module_label[m], l.result, i, c->result);
            }
        }
    }
    printf("maps\t%s\t%d\t%d\n", c->name, mapped("libgcc_s"),
           mapped(module_path[0]) || mapped(module_path[1]));
    fflush(stdout);
}

/* ----------------------------------------------------------------------------------------
 * The cost of a sync, for the writing paths: what the module's write does, without a module
 * ------------------------------------------------------------------------------------- */

/* Writes a secret-sized file the way a module rewrites the secret file (new file, fsync,
 * rename over the old one) and times the fsync of the new file and, after the rename, the
 * fsync of the directory: the one extra sync our module's write makes (Google's module
 * syncs the file only). */
static void run_fsync_reference(long iterations) {
    char target[PATH_MAX], tmp[PATH_MAX + 8], data[101];
    snprintf(target, sizeof target, "%s/fsync-reference", dir);
    snprintf(tmp, sizeof tmp, "%s.new", target);
    memset(data, 'A', sizeof data - 1);
    data[sizeof data - 1] = '\n';
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        harness_error("open %s: %s", dir, strerror(errno));
    for (long i = -2; i < iterations; i++) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            harness_error("create %s: %s", tmp, strerror(errno));
        write_all(fd, data, sizeof data, tmp);
        int64_t t0 = now_ns();
        if (fsync(fd) != 0)
            harness_error("fsync %s: %s", tmp, strerror(errno));
        int64_t t1 = now_ns();
        close(fd);
        if (rename(tmp, target) != 0)
            harness_error("rename %s: %s", tmp, strerror(errno));
        int64_t t2 = now_ns();
        if (fsync(dfd) != 0)
            harness_error("fsync %s: %s", dir, strerror(errno));
        int64_t t3 = now_ns();
        if (i >= 0) /* two warm-up rounds */
            printf("fsync\t%ld\t%" PRId64 "\t%" PRId64 "\n", i, t1 - t0, t3 - t2);
    }
    close(dfd);
    unlink(target);
    fflush(stdout);
}

/* ----------------------------------------------------------------------------------------
 * Concurrency: waves of T threads, each with its own handle, released together
 * ------------------------------------------------------------------------------------- */

struct worker {
    pthread_t thread;
    int index;
    char service[2][128];
    struct login l;
};

static struct worker workers[MAX_THREADS];
static pthread_barrier_t wave_start, wave_end;
static int wave_module;
static int wave_stop;
static char wave_answer[16];

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (;;) {
        pthread_barrier_wait(&wave_start);
        if (wave_stop)
            return NULL;
        w->l.service = w->service[wave_module];
        w->l.answer = wave_answer;
        bench_login_plain(&w->l);
        pthread_barrier_wait(&wave_end);
    }
}

static void run_concurrency(int threads, int distinct, long waves) {
    const struct case_def *c = &cases[0]; /* totp_ok: the right code, nothing written */
    char name[64], path[PATH_MAX];
    snprintf(name, sizeof name, "conc_%d_%s", threads, distinct ? "distinct" : "same");
    printf("conc\t%s\t%d\t%s\n", name, threads, distinct ? "distinct" : "same");
    for (int k = 0; k < threads; k++) {
        char file_name[80], svc_name[80];
        snprintf(file_name, sizeof file_name, "%s-%d", name, distinct ? k : 0);
        snprintf(svc_name, sizeof svc_name, "%s-%d", name, k);
        secret_path(path, sizeof path, file_name);
        if (k == 0 || distinct)
            restore(c, path);
        for (int m = 0; m < 2; m++) {
            write_service(m, svc_name, path, c->args);
            service_name(workers[k].service[m], sizeof workers[k].service[m], m, svc_name);
        }
        workers[k].index = k;
    }
    /* The path check: one login each, single-threaded. */
    for (int m = 0; m < 2; m++) {
        current_code(wave_answer);
        struct login l = {workers[0].service[m], wave_answer, 0, 0, 0, 0, 0};
        bench_login_plain(&l);
        if (l.result != c->result || l.prompts != c->prompts) {
            fprintf(stderr, "ga_bench: %s: the %s module returned %d with %d prompt(s); expected %d "
                    "with %d; stopping.\n", name, module_label[m], l.result, l.prompts, c->result,
                    c->prompts);
            exit(1);
        }
    }
    if (pthread_barrier_init(&wave_start, NULL, (unsigned)threads + 1) != 0 ||
        pthread_barrier_init(&wave_end, NULL, (unsigned)threads + 1) != 0)
        harness_error("pthread_barrier_init failed");
    wave_stop = 0;
    for (int k = 0; k < threads; k++)
        if (pthread_create(&workers[k].thread, NULL, worker_main, &workers[k]) != 0)
            harness_error("pthread_create failed");
    for (long wv = 0; wv < waves; wv++) {
        unsigned first = next_bit();
        for (unsigned j = 0; j < 2; j++) {
            wave_module = (int)(first ^ j);
            current_code(wave_answer);
            int64_t t0 = now_ns();
            pthread_barrier_wait(&wave_start);
            pthread_barrier_wait(&wave_end);
            int64_t wall = now_ns() - t0;
            printf("wave\t%s\t%s\t%ld\t%" PRId64 "\n", name, module_label[wave_module], wv, wall);
            for (int k = 0; k < threads; k++) {
                struct login *l = &workers[k].l;
                printf("csample\t%s\t%s\t%ld\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%d\n", name,
                       module_label[wave_module], wv, l->start_ns, l->auth_ns, l->end_ns,
                       l->result);
                if (l->result != c->result) {
                    failures++;
                    fprintf(stderr, "ga_bench: %s: the %s module returned %d in wave %ld\n", name,
                            module_label[wave_module], l->result, wv);
                }
            }
        }
    }
    wave_stop = 1;
    pthread_barrier_wait(&wave_start);
    for (int k = 0; k < threads; k++)
        pthread_join(workers[k].thread, NULL);
    pthread_barrier_destroy(&wave_start);
    pthread_barrier_destroy(&wave_end);
    fflush(stdout);
}

/* ----------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------- */

static void usage(void) {
    harness_error("usage: ga_bench -o OURS -c C_MODULE -d DIR [-n ITERATIONS] [-w WAVES] "
                  "[-k CASE] [-m ours|c] [-r SEED] | ga_bench -t");
}

int main(int argc, char **argv) {
    long iterations = 200, waves = 20;
    const char *only_case = NULL;
    int opt, print_code = 0;
    while ((opt = getopt(argc, argv, "o:c:d:n:w:k:m:r:t")) != -1) {
        switch (opt) {
        case 'o': module_path[0] = optarg; break;
        case 'c': module_path[1] = optarg; break;
        case 'd': dir = optarg; break;
        case 'n': iterations = atol(optarg); break;
        case 'w': waves = atol(optarg); break;
        case 'k': only_case = optarg; break;
        case 'm':
            if (strcmp(optarg, "ours") == 0)
                only_module = 0;
            else if (strcmp(optarg, "c") == 0)
                only_module = 1;
            else
                usage();
            break;
        case 'r': rng = strtoull(optarg, NULL, 10) | 1; break;
        case 't': print_code = 1; break;
        default: usage();
        }
    }
    self_test();
    if (print_code) {
        char code[7];
        current_code(code);
        printf("%s\n", code);
        return 0;
    }
    if (!module_path[0] || !module_path[1] || !dir || iterations < 1 || waves < 0 || optind != argc)
        usage();
    if (module_path[0][0] != '/' || module_path[1][0] != '/' || dir[0] != '/')
        harness_error("module paths and DIR must be absolute");
    for (int m = 0; m < 2; m++)
        if (access(module_path[m], R_OK) != 0)
            harness_error("%s: %s", module_path[m], strerror(errno));
    if (mapped("libgcc_s"))
        harness_error("libgcc_s is mapped in the host before any login: our module's load "
                      "would look cheaper than in sshd, login or su; rebuild the host without it");
    struct passwd *pw = getpwuid(geteuid());
    if (!pw)
        harness_error("no passwd entry for uid %d", (int)geteuid());
    user = strdup(pw->pw_name);
    snprintf(confdir, sizeof confdir, "%s/pam.d", dir);
    if (mkdir(confdir, 0755) != 0 && errno != EEXIST)
        harness_error("mkdir %s: %s", confdir, strerror(errno));
    char other[PATH_MAX + 8];
    snprintf(other, sizeof other, "%s/other", confdir);
    /* libpam always reads "other" (the defaults); without it, it logs an error at every
     * pam_start, and with a module line it loads that module too. A comment only: neither. */
    put_file(other, "# no default handlers\n", 0644);
    printf("user\t%s\n", user);

    int found = 0;
    for (size_t i = 0; i < N_CASES; i++) {
        if (only_case && strcmp(only_case, cases[i].name) != 0)
            continue;
        found = 1;
        run_case(&cases[i], only_module >= 0 ? 1 : iterations);
    }
    if (only_case && !found)
        harness_error("no case named %s", only_case);
    if (!only_case && only_module < 0)
        run_fsync_reference(iterations);
    if (!only_case && only_module < 0 && waves > 0) {
        static const int levels[] = {1, 8, 64};
        for (int d = 0; d < 2; d++)
            for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
                run_concurrency(levels[i], d, waves);
    }
    printf("failures\t%ld\n", failures);
    fflush(stdout);
    if (failures) {
        fprintf(stderr, "ga_bench: %ld timed call(s) returned another result than the case "
                "expects\n", failures);
        return 1;
    }
    return 0;
}
