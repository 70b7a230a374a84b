/*
 * pam_host: a long-running PAM application for the host hygiene and memory tests.
 *
 * It is written in C so that the process holds nothing but libc, libpam and the modules
 * libpam loads: a leak report, a memory map or a resident-set figure is about the module.
 *
 *   pam_host [-n LOGINS] [-t THREADS] [-b PER_THREAD] [-w WARMUP] [-m MODULE] [-s] [-x]
 *            CONFDIR SCENARIO...
 *
 *   SCENARIO  SERVICE:EXPECTED_RESULT:ANSWER (the answer may be empty). Login i is user
 *             "u<i>" on scenario i % (number of scenarios): pam_start_confdir(SERVICE,
 *             "u<i>", CONFDIR), pam_authenticate (every prompt answered with ANSWER),
 *             pam_end. A result other than EXPECTED_RESULT is a violation.
 *   -n        number of logins (default 100).
 *   -t        0 (default): every login in the main thread. Otherwise logins run in waves of
 *             THREADS threads that each do up to PER_THREAD logins (-b, default 10) and
 *             exit; the next wave starts after all of them have been joined.
 *   -w        RSS "after warm-up" is taken once at least WARMUP logins are done, at a point
 *             where no login is in progress (default: LOGINS / 10).
 *   -m        a substring of the module's path (default "pam_google_authenticator"): at
 *             every point where no login is in progress, /proc/self/maps must not map it.
 *   -s        also run a sampler thread that checks the process state while logins run.
 *   -x        with -t: the threads take turns (one login at a time), so that every login
 *             loads and unloads the module; otherwise concurrent logins share one load.
 *
 * What must not change (a difference is a violation, printed with the login's number):
 *   - after every call, in the calling thread: its fsuid/fsgid and signal mask; the
 *     process's umask, working directory, real/effective/saved uids and gids, supplementary
 *     groups, and every signal disposition (handler, flags, mask);
 *   - wherever no login is in progress (after every login with -t 0, after every wave
 *     otherwise): the open file descriptors (number and what each one refers to), the main
 *     thread's signal mask and the module's absence from /proc/self/maps;
 *   - with -s, continuously from another thread: the process-wide state above, and the
 *     uids/gids (fs ids included) of every thread that is not inside a PAM call.
 *
 * Output: "key=value" lines on stdout (logins, results, violations and violations_<kind>
 * per kind, rss_*_kb, fds_*, samples), then the first 20 "violation: ..." lines. Exit
 * status: 0 when there was no violation, 1 when there was one, 2 on a harness error (bad
 * usage, a failed system call of the host itself), which "harness error:" on stderr
 * explains.
 *
 * Build: cc -O2 -Wall -pthread -o pam_host pam_host.c -lpam
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <syslog.h>
#include <unistd.h>

#define MAX_SCENARIOS 16
#define MAX_THREADS 256
#define MAX_FDS 256
#define MAX_REPORTED 20

struct scenario {
    char service[256];
    int expected;
    char answer[256];
};

static struct scenario scenarios[MAX_SCENARIOS];
static int n_scenarios;
static const char *confdir;
static const char *module_name = "pam_google_authenticator";
static long n_logins = 100;
static int n_threads;
static long per_thread = 10;
static long warmup = -1;
static int use_sampler;
static int one_at_a_time;
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;

static atomic_long next_login;
static atomic_long done_logins;
static atomic_long n_violations;
static atomic_long n_samples;
static atomic_long results[64];
static atomic_int stop_sampler;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
/* Held by the sampler while it samples (it opens files), so fds are counted without it. */
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
static char reported[MAX_REPORTED][512];
static int n_reported;

static void harness_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "harness error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

#define MAX_KINDS 32
static const char *kind_names[MAX_KINDS];
static long kind_counts[MAX_KINDS];

/* Counts a violation of `kind` and keeps the text of the first few. */
static void violation(const char *kind, const char *fmt, ...) {
    va_list ap;
    atomic_fetch_add(&n_violations, 1);
    pthread_mutex_lock(&report_lock);
    for (int k = 0; k < MAX_KINDS; k++) {
        if (!kind_names[k])
            kind_names[k] = kind;
        if (strcmp(kind_names[k], kind) == 0) {
            kind_counts[k]++;
            break;
        }
    }
    if (n_reported < MAX_REPORTED) {
        va_start(ap, fmt);
        vsnprintf(reported[n_reported++], sizeof reported[0], fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&report_lock);
}

/* ----------------------------------------------------------------------------------------
 * Process-wide state
 * ------------------------------------------------------------------------------------- */

struct process_state {
    char umask[32];
    char cwd[PATH_MAX];
    dev_t cwd_dev;
    ino_t cwd_ino;
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    int n_groups;
    gid_t groups[256];
    int have_sig[NSIG];
    struct sigaction sig[NSIG];
};

static struct process_state base;

/* Reads the first line starting with `key` from a /proc status file into `out`. */
static int status_field(const char *path, const char *key, char *out, size_t cap) {
    char buf[8192];
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t klen = strlen(key);
    for (char *line = buf; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        if (strncmp(line, key, klen) == 0) {
            snprintf(out, cap, "%s", line + klen);
            return 0;
        }
        line = end ? end + 1 : NULL;
    }
    return -1;
}

static void read_process_state(struct process_state *s) {
    memset(s, 0, sizeof *s);
    if (status_field("/proc/self/status", "Umask:", s->umask, sizeof s->umask) != 0)
        snprintf(s->umask, sizeof s->umask, "?");
    if (!getcwd(s->cwd, sizeof s->cwd))
        snprintf(s->cwd, sizeof s->cwd, "(getcwd failed: %s)", strerror(errno));
    struct stat st;
    if (stat(".", &st) == 0) {
        s->cwd_dev = st.st_dev;
        s->cwd_ino = st.st_ino;
    }
    getresuid(&s->ruid, &s->euid, &s->suid);
    getresgid(&s->rgid, &s->egid, &s->sgid);
    s->n_groups = getgroups(256, s->groups);
    for (int sig = 1; sig < NSIG; sig++)
        s->have_sig[sig] = sigaction(sig, NULL, &s->sig[sig]) == 0;
}

static int same_sigset(const sigset_t *a, const sigset_t *b) {
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(a, sig) != sigismember(b, sig))
            return 0;
    return 1;
}

/* Compares the process-wide state with the baseline; `where` names the moment. */
static void check_process_state(const char *where) {
    struct process_state now;
    read_process_state(&now);
    if (strcmp(now.umask, base.umask) != 0)
        violation("umask", "%s: umask changed from%s to%s", where, base.umask, now.umask);
    if (strcmp(now.cwd, base.cwd) != 0 || now.cwd_dev != base.cwd_dev ||
        now.cwd_ino != base.cwd_ino)
        violation("cwd", "%s: working directory changed from %s to %s", where, base.cwd, now.cwd);
    if (now.ruid != base.ruid || now.euid != base.euid || now.suid != base.suid)
        violation("uids", "%s: uids changed from %u/%u/%u to %u/%u/%u", where, base.ruid, base.euid,
                  base.suid, now.ruid, now.euid, now.suid);
    if (now.rgid != base.rgid || now.egid != base.egid || now.sgid != base.sgid)
        violation("gids", "%s: gids changed from %u/%u/%u to %u/%u/%u", where, base.rgid, base.egid,
                  base.sgid, now.rgid, now.egid, now.sgid);
    if (now.n_groups != base.n_groups ||
        memcmp(now.groups, base.groups, sizeof(gid_t) * (now.n_groups > 0 ? now.n_groups : 0)))
        violation("groups", "%s: supplementary groups changed", where);
    for (int sig = 1; sig < NSIG; sig++) {
        if (now.have_sig[sig] != base.have_sig[sig]) {
            violation("signal_disposition", "%s: signal %d disposition became %s", where, sig,
                      now.have_sig[sig] ? "readable" : "unreadable");
            continue;
        }
        if (!now.have_sig[sig])
            continue;
        const struct sigaction *a = &base.sig[sig], *b = &now.sig[sig];
        if (a->sa_handler != b->sa_handler || a->sa_flags != b->sa_flags ||
            !same_sigset(&a->sa_mask, &b->sa_mask))
            violation("signal_disposition", "%s: disposition of signal %d (%s) changed", where, sig, strsignal(sig));
    }
}

/* ----------------------------------------------------------------------------------------
 * Descriptors, maps, memory
 * ------------------------------------------------------------------------------------- */

struct fd_entry {
    int fd;
    char target[256];
};

static struct fd_entry base_fds[MAX_FDS];
static int n_base_fds;

static int list_fds(struct fd_entry *out, int cap) {
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        harness_error("opendir /proc/self/fd: %s", strerror(errno));
    int n = 0, self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd == self)
            continue;
        if (n == cap)
            break;
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, out[n].target, sizeof out[n].target - 1);
        out[n].target[len > 0 ? len : 0] = '\0';
        out[n].fd = fd;
        n++;
    }
    closedir(d);
    return n;
}

static int fd_count(void) {
    struct fd_entry now[MAX_FDS];
    return list_fds(now, MAX_FDS);
}

static void check_fds(const char *where) {
    struct fd_entry now[MAX_FDS];
    int n = list_fds(now, MAX_FDS);
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int j = 0; j < n_base_fds; j++)
            if (base_fds[j].fd == now[i].fd) {
                found = 1;
                if (strcmp(base_fds[j].target, now[i].target) != 0)
                    violation("fds", "%s: fd %d now refers to %s instead of %s", where, now[i].fd,
                              now[i].target, base_fds[j].target);
            }
        if (!found)
            violation("fds", "%s: fd %d (%s) left open", where, now[i].fd, now[i].target);
    }
    if (n < n_base_fds)
        violation("fds", "%s: %d of the host's fds were closed", where, n_base_fds - n);
}

static int module_mapped(void) {
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        harness_error("fopen /proc/self/maps: %s", strerror(errno));
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, module_name))
            found = 1;
    fclose(f);
    return found;
}

static long rss_kb(void) {
    char value[64];
    if (status_field("/proc/self/status", "VmRSS:", value, sizeof value) != 0)
        return -1;
    return atol(value);
}

static long rss_max_kb;
static long rss_warm_kb = -1;

static sigset_t main_mask;

/* Everything that is checked where no login is in progress (in the main thread). */
static void check_quiescent(const char *where) {
    pthread_mutex_lock(&sample_lock);
    check_fds(where);
    pthread_mutex_unlock(&sample_lock);
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    if (!same_sigset(&mask, &main_mask))
        violation("main_thread_sigmask", "%s: the main thread's signal mask changed", where);
    if (module_mapped())
        violation("still_mapped", "%s: %s is still mapped (see /proc/self/maps)", where, module_name);
    long rss = rss_kb();
    if (rss > rss_max_kb)
        rss_max_kb = rss;
    if (rss_warm_kb < 0 && atomic_load(&done_logins) >= warmup)
        rss_warm_kb = rss;
}

/* ----------------------------------------------------------------------------------------
 * One login
 * ------------------------------------------------------------------------------------- */

static int conversation(int n, const struct pam_message **msg, struct pam_response **resp,
                        void *data) {
    const char *answer = data;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        int style = msg[i]->msg_style;
        if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
            r[i].resp = strdup(answer);
            if (!r[i].resp) {
                for (int j = 0; j < i; j++)
                    free(r[j].resp);
                free(r);
                return PAM_BUF_ERR;
            }
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

/* The thread's own state, checked after each of its calls. */
struct thread_state {
    uid_t fsuid;
    gid_t fsgid;
    sigset_t mask;
};

static void read_thread_state(struct thread_state *t) {
    /* An invalid id changes nothing and returns the current one. */
    t->fsuid = (uid_t)setfsuid((uid_t)-1);
    t->fsgid = (gid_t)setfsgid((gid_t)-1);
    pthread_sigmask(SIG_BLOCK, NULL, &t->mask);
}

static void login(long i, const struct thread_state *mine) {
    const struct scenario *s = &scenarios[i % n_scenarios];
    char user[32];
    snprintf(user, sizeof user, "u%ld", i);
    struct pam_conv conv = {conversation, (void *)s->answer};
    pam_handle_t *pamh = NULL;
    int rc = pam_start_confdir(s->service, user, &conv, confdir, &pamh);
    if (rc != PAM_SUCCESS)
        harness_error("pam_start_confdir(%s, %s): %d", s->service, user, rc);
    rc = pam_authenticate(pamh, 0);
    pam_end(pamh, rc);
    atomic_fetch_add(&results[rc >= 0 && rc < 64 ? rc : 63], 1);
    if (rc != s->expected)
        violation("result", "login %ld (%s, %s): result %d, expected %d", i, s->service, user, rc,
                  s->expected);
    char where[64];
    snprintf(where, sizeof where, "after login %ld", i);
    struct thread_state now;
    read_thread_state(&now);
    if (now.fsuid != mine->fsuid || now.fsgid != mine->fsgid)
        violation("thread_fs_ids", "%s: the thread's fsuid/fsgid changed from %u/%u to %u/%u", where,
                  mine->fsuid, mine->fsgid, now.fsuid, now.fsgid);
    if (!same_sigset(&now.mask, &mine->mask))
        violation("thread_sigmask", "%s: the thread's signal mask changed", where);
    check_process_state(where);
    atomic_fetch_add(&done_logins, 1);
}

/* ----------------------------------------------------------------------------------------
 * Workers and the sampler
 * ------------------------------------------------------------------------------------- */

struct worker {
    pthread_t thread;
    atomic_int tid;
    atomic_long seq; /* odd while the worker is inside a PAM call */
};

static struct worker workers[MAX_THREADS];
static char base_uid_line[128], base_gid_line[128];

static void *worker_main(void *arg) {
    struct worker *w = arg;
    atomic_store(&w->tid, (int)syscall(SYS_gettid));
    struct thread_state mine;
    read_thread_state(&mine);
    for (long k = 0; k < per_thread; k++) {
        long i = atomic_fetch_add(&next_login, 1);
        if (i >= n_logins)
            break;
        if (one_at_a_time)
            pthread_mutex_lock(&turn_lock);
        atomic_fetch_add(&w->seq, 1);
        login(i, &mine);
        atomic_fetch_add(&w->seq, 1);
        if (one_at_a_time)
            pthread_mutex_unlock(&turn_lock);
    }
    atomic_store(&w->tid, 0);
    return NULL;
}

static struct worker *find_worker(pid_t tid) {
    for (int k = 0; k < n_threads; k++)
        if (atomic_load(&workers[k].tid) == tid)
            return &workers[k];
    return NULL;
}

static void check_task(pid_t tid) {
    char path[64], uid[128], gid[128];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    struct worker *w = find_worker(tid);
    long seq = w ? atomic_load(&w->seq) : 0;
    if (status_field(path, "Uid:", uid, sizeof uid) != 0 ||
        status_field(path, "Gid:", gid, sizeof gid) != 0)
        return; /* the thread has exited */
    if (w && (seq % 2 == 1 || atomic_load(&w->seq) != seq))
        return; /* inside a PAM call (the module may hold the user's fs ids) */
    if (!w && find_worker(tid))
        return; /* a worker that started while it was sampled: it may be inside a call */
    if (strcmp(uid, base_uid_line) != 0)
        violation("thread_ids_sampled", "sampler: thread %d has uids (real effective saved fs)%s instead of%s", tid,
                  uid, base_uid_line);
    if (strcmp(gid, base_gid_line) != 0)
        violation("thread_ids_sampled", "sampler: thread %d has gids (real effective saved fs)%s instead of%s", tid,
                  gid, base_gid_line);
}

static void *sampler_main(void *arg) {
    (void)arg;
    sigset_t mine, now;
    pthread_sigmask(SIG_BLOCK, NULL, &mine);
    while (!atomic_load(&stop_sampler)) {
        pthread_mutex_lock(&sample_lock);
        check_process_state("sampler");
        DIR *d = opendir("/proc/self/task");
        if (!d)
            harness_error("opendir /proc/self/task: %s", strerror(errno));
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                check_task((pid_t)atoi(e->d_name));
        closedir(d);
        pthread_sigmask(SIG_BLOCK, NULL, &now);
        if (!same_sigset(&now, &mine))
            violation("sampler_sigmask", "sampler: the sampler's signal mask changed");
        pthread_mutex_unlock(&sample_lock);
        atomic_fetch_add(&n_samples, 1);
    }
    return NULL;
}

/* ----------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------- */

static void usage(void) {
    harness_error("usage: pam_host [-n LOGINS] [-t THREADS] [-b PER_THREAD] [-w WARMUP] "
                  "[-m MODULE] [-s] [-x] CONFDIR SERVICE:EXPECTED:ANSWER...");
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "n:t:b:w:m:sx")) != -1) {
        switch (opt) {
        case 'n': n_logins = atol(optarg); break;
        case 't': n_threads = atoi(optarg); break;
        case 'b': per_thread = atol(optarg); break;
        case 'w': warmup = atol(optarg); break;
        case 'm': module_name = optarg; break;
        case 's': use_sampler = 1; break;
        case 'x': one_at_a_time = 1; break;
        default: usage();
        }
    }
    if (optind + 2 > argc || n_threads < 0 || n_threads > MAX_THREADS || per_thread < 1)
        usage();
    confdir = argv[optind++];
    for (; optind < argc; optind++) {
        if (n_scenarios == MAX_SCENARIOS)
            usage();
        struct scenario *s = &scenarios[n_scenarios++];
        char *spec = argv[optind];
        char *c1 = strchr(spec, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || (size_t)(c1 - spec) >= sizeof s->service || strlen(c2 + 1) >= sizeof s->answer)
            usage();
        memcpy(s->service, spec, (size_t)(c1 - spec));
        s->expected = atoi(c1 + 1);
        strcpy(s->answer, c2 + 1);
    }
    if (warmup < 0)
        warmup = n_logins / 10;

    /* A host that logs holds its syslog socket (when there is one) before any login, so a
     * socket glibc opens on the module's first message is not counted as the module's. */
    syslog(LOG_AUTHPRIV | LOG_DEBUG, "pam_host: %ld logins", n_logins);
    pthread_sigmask(SIG_BLOCK, NULL, &main_mask);
    status_field("/proc/self/status", "Uid:", base_uid_line, sizeof base_uid_line);
    status_field("/proc/self/status", "Gid:", base_gid_line, sizeof base_gid_line);
    read_process_state(&base);
    n_base_fds = list_fds(base_fds, MAX_FDS);
    long rss_start = rss_kb();
    rss_max_kb = rss_start;
    if (module_mapped())
        harness_error("%s is mapped before the first pam_start", module_name);

    pthread_t sampler;
    if (use_sampler && pthread_create(&sampler, NULL, sampler_main, NULL) != 0)
        harness_error("pthread_create (sampler) failed");

    long waves = 0;
    if (n_threads == 0) {
        struct thread_state mine;
        read_thread_state(&mine);
        for (long i = 0; i < n_logins; i++) {
            atomic_store(&next_login, i + 1);
            login(i, &mine);
            check_quiescent("after a login in the main thread");
        }
    } else {
        while (atomic_load(&next_login) < n_logins) {
            int started = 0;
            for (int k = 0; k < n_threads; k++) {
                atomic_store(&workers[k].seq, 0);
                if (pthread_create(&workers[k].thread, NULL, worker_main, &workers[k]) != 0)
                    harness_error("pthread_create (worker) failed");
                started++;
            }
            for (int k = 0; k < started; k++)
                pthread_join(workers[k].thread, NULL);
            waves++;
            char where[64];
            snprintf(where, sizeof where, "after wave %ld (all its threads exited)", waves);
            check_quiescent(where);
        }
    }

    if (use_sampler) {
        atomic_store(&stop_sampler, 1);
        pthread_join(sampler, NULL);
    }
    check_process_state("at the end");
    check_quiescent("at the end");
    long rss_end = rss_kb();

    printf("logins=%ld\n", atomic_load(&done_logins));
    printf("threads=%d\nwaves=%ld\n", n_threads, waves);
    for (int rc = 0; rc < 64; rc++)
        if (atomic_load(&results[rc]))
            printf("result_%d=%ld\n", rc, atomic_load(&results[rc]));
    printf("rss_start_kb=%ld\nrss_warm_kb=%ld\nrss_end_kb=%ld\nrss_max_kb=%ld\n", rss_start,
           rss_warm_kb, rss_end, rss_max_kb);
    printf("fds_start=%d\nfds_end=%d\n", n_base_fds, fd_count());
    printf("module_mapped_at_end=%d\n", module_mapped());
    printf("samples=%ld\n", atomic_load(&n_samples));
    printf("violations=%ld\n", atomic_load(&n_violations));
    for (int k = 0; k < MAX_KINDS && kind_names[k]; k++)
        printf("violations_%s=%ld\n", kind_names[k], kind_counts[k]);
    for (int k = 0; k < n_reported; k++)
        printf("violation: %s\n", reported[k]);
    fflush(stdout);
    return atomic_load(&n_violations) ? 1 : 0;
}
