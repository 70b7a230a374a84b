#!/bin/bash
# Runs the side-by-side benchmark of our module and Debian's C module (method and results:
# docs/BENCHMARKS.md, which the full run rewrites).
#
#   bench/run.sh full    timing, callgrind for every case, docs/BENCHMARKS.md rewritten
#   bench/run.sh smoke   a few calls per case, callgrind for one case, the report generated
#                        into target/bench/smoke-report.md; docs/ untouched
#
# Environment: BENCH_PROFILE (target/<profile>/libpam_google_authenticator.so; release),
# BENCH_ITERATIONS (timed calls per case and module), BENCH_WAVES (waves per concurrency
# setting and module), BENCH_SEED, BENCH_TMPDIR (where the private temp directory is made;
# target/bench), BENCH_CALLGRIND=0 (skip callgrind), BENCH_JOBS (parallel callgrind runs),
# GA_REFERENCE_MODULE (Debian's module; otherwise downloaded and unpacked as the tests do).
#
# Exit status: 0, or non-zero when a case failed, the modules took different paths, or the
# benchmark could not run (the reason is printed).
set -eu -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$root/target/bench
host=$out/ga_bench
sink=$out/syslog_sink

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# ---------------------------------------------------------------------------------------
# Inside the syslog set-up: timing, callgrind, report
# ---------------------------------------------------------------------------------------

# Runs one callgrind measurement: KIND (auth or login), CASE, MODULE (ours or c).
callgrind_one() {
    local kind=$1 case=$2 module=$3 fn
    case $kind in
        auth) fn=bench_auth_measured ;;
        login) fn=bench_login_measured ;;
    esac
    local d=$BENCH_WORK/cg/$kind.$case.$module
    mkdir -p "$d/files"
    if ! valgrind --tool=callgrind --toggle-collect="$fn" --callgrind-out-file="$d/callgrind.out" \
        "$host" -o "$BENCH_OURS" -c "$BENCH_REF" -d "$d/files" -k "$case" -m "$module" \
        >"$d/stdout" 2>"$d/stderr"; then
        cat "$d/stderr" >&2
        say "callgrind run failed: $kind $case $module"
        return 1
    fi
}

inside() {
    local mode=$1
    say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    cut -d' ' -f1-3 /proc/loadavg >"$BENCH_WORK/load-before"
    mkdir -p "$BENCH_WORK/files"
    say "timing: $BENCH_ITERATIONS calls per case and module, $BENCH_WAVES waves per concurrency setting"
    local started=$SECONDS
    "$host" -o "$BENCH_OURS" -c "$BENCH_REF" -d "$BENCH_WORK/files" -n "$BENCH_ITERATIONS" \
        -w "$BENCH_WAVES" -r "$BENCH_SEED" >"$BENCH_WORK/samples.tsv"
    echo $((SECONDS - started)) >"$BENCH_WORK/timing-seconds"
    cut -d' ' -f1-3 /proc/loadavg >"$BENCH_WORK/load-after"
    say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    awk -F'\t' '$1 == "check" { printf "bench: %-22s %-4s result %2d, %d prompt(s), file %s\n",
        $2, $3, $4, $5, ($6 ? "changed" : "unchanged") }' "$BENCH_WORK/samples.tsv" >&2

    [ "${BENCH_CALLGRIND:-1}" = 0 ] && return 0
    local cases jobs=${BENCH_JOBS:-$(nproc)}
    if [ "$mode" = smoke ]; then
        cases=totp_ok
    else
        cases=$(awk -F'\t' '$1 == "case" { print $2 }' "$BENCH_WORK/samples.tsv")
    fi
    say "callgrind: $(echo $cases | wc -w) case(s) x 2 modules x 2 runs, $jobs at a time"
    local running=0 kind case module
    for case in $cases; do
        for module in ours c; do
            for kind in auth login; do
                callgrind_one "$kind" "$case" "$module" &
                running=$((running + 1))
                if [ "$running" -ge "$jobs" ]; then
                    wait -n
                    running=$((running - 1))
                fi
            done
        done
    done
    while [ "$running" -gt 0 ]; do
        wait -n
        running=$((running - 1))
    done
}

# Inside a private mount namespace: puts the receiver's socket at /dev/log, then runs.
inside_namespace() {
    local mode=$1
    if ! mount --bind "$BENCH_WORK/log" /dev/log 2>/dev/null; then
        # No /dev/log to bind over (or a dangling symlink): a private /dev with links to the
        # real entries and a /dev/log of our own.
        mkdir "$BENCH_WORK/realdev"
        mount --rbind /dev "$BENCH_WORK/realdev"
        mount -t tmpfs -o mode=0755 bench-dev /dev
        local e
        for e in "$BENCH_WORK"/realdev/* "$BENCH_WORK"/realdev/.[!.]*; do
            [ -e "$e" ] || [ -L "$e" ] || continue
            [ "$(basename "$e")" = log ] && continue
            ln -s "$e" "/dev/$(basename "$e")"
        done
        ln -s "$BENCH_WORK/log" /dev/log
    fi
    "$sink" -p /dev/log || die "the private /dev/log does not work"
    inside "$mode"
}

case ${1:-} in
    inside) inside "$2"; exit 0 ;;
    inside-namespace) inside_namespace "$2"; exit 0 ;;
    full | smoke) mode=$1 ;;
    *) echo "usage: bench/run.sh full|smoke" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------

if [ "$mode" = smoke ]; then
    : "${BENCH_ITERATIONS:=3}" "${BENCH_WAVES:=2}"
else
    : "${BENCH_ITERATIONS:=200}" "${BENCH_WAVES:=20}"
fi
: "${BENCH_PROFILE:=release}" "${BENCH_SEED:=1}" "${BENCH_TMPDIR:=$out}"
export BENCH_ITERATIONS BENCH_WAVES BENCH_PROFILE BENCH_SEED

for tool in cc readelf ldd valgrind python3; do
    command -v "$tool" >/dev/null || die "$tool is needed (make deps installs it)"
done
[ -e /usr/include/security/pam_appl.h ] || die "libpam0g-dev is needed (make deps installs it)"

mkdir -p "$out"
CFLAGS="-Wall -Wextra -Werror -O2"
# shellcheck disable=SC2086
cc $CFLAGS -pthread -o "$host" bench/ga_bench.c -lpam
# shellcheck disable=SC2086
cc $CFLAGS -o "$sink" bench/syslog_sink.c

# The host must not bring libgcc_s: sshd, login and su do not link it, so our module pays
# for loading it at every login, and so must it here.
if readelf -d "$host" | grep -q 'NEEDED.*libgcc_s' || ldd "$host" | grep -q libgcc_s; then
    die "$host links libgcc_s; it would hide the cost of loading it with our module. Refusing to run."
fi

BENCH_OURS=$root/target/$BENCH_PROFILE/libpam_google_authenticator.so
[ -f "$BENCH_OURS" ] || die "$BENCH_OURS is missing; build it: cargo build --locked --release --lib"
if [ -n "${GA_REFERENCE_MODULE:-}" ]; then
    BENCH_REF=$(realpath "$GA_REFERENCE_MODULE")
    BENCH_REF_VERSION=unknown
else
    BENCH_REF=$(sh bench/reference-module.sh)
    BENCH_REF_VERSION=$(cat "$(dirname "$BENCH_REF")/../../../VERSION" 2>/dev/null || echo unknown)
fi
export BENCH_OURS BENCH_REF BENCH_REF_VERSION

mkdir -p "$BENCH_TMPDIR"
BENCH_WORK=$(mktemp -d "$(realpath "$BENCH_TMPDIR")/run.XXXXXX")
chmod 700 "$BENCH_WORK"
export BENCH_WORK

"$host" -t >/dev/null
code=$("$host" -t) oath=$(oathtool --totp -b GEZDGNBVGY3TQOJQGEZDGNBVGY 2>/dev/null || echo none)
again=$("$host" -t)
if [ "$code" != "$oath" ] && [ "$again" != "$oath" ] && [ "$oath" != none ]; then
    die "the host's TOTP code ($code) differs from oathtool's ($oath)"
fi

sink_pid=
made_dev_log=
cleanup() {
    if [ -n "$sink_pid" ]; then
        kill "$sink_pid" 2>/dev/null || true
        wait "$sink_pid" 2>/dev/null || true
    fi
    if [ -n "$made_dev_log" ] && [ -S /dev/log ] && ! "$sink" -p /dev/log; then
        rm -f /dev/log
    fi
    rm -rf "$BENCH_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts the receiver at $1 and waits until it is ready.
start_sink() {
    "$sink" "$1" >"$BENCH_WORK/sink.out" 2>"$BENCH_WORK/sink.err" &
    sink_pid=$!
    local i
    for i in $(seq 100); do
        grep -q ready "$BENCH_WORK/sink.out" 2>/dev/null && return 0
        kill -0 "$sink_pid" 2>/dev/null || break
        sleep 0.05
    done
    cat "$BENCH_WORK/sink.err" >&2
    die "the syslog receiver did not start at $1"
}

# Syslog: both modules log every attempt. Without a listener on /dev/log, glibc's
# openlog(LOG_CONS) in the C module writes each line to /dev/console, which is slow and
# would be charged to whichever module runs next.
if [ -S /dev/log ] && "$sink" -p /dev/log; then
    BENCH_SYSLOG="a running syslog daemon serves /dev/log; it received both modules' lines"
    say "$BENCH_SYSLOG"
    export BENCH_SYSLOG
    run=(bash "$0" inside "$mode")
elif [ ! -e /dev/log ] && [ ! -L /dev/log ] && [ "$(id -u)" = 0 ]; then
    start_sink /dev/log
    made_dev_log=1
    BENCH_SYSLOG="no /dev/log: the benchmark's receiver was bound at /dev/log for the run and removed afterwards"
    say "$BENCH_SYSLOG"
    export BENCH_SYSLOG
    run=(bash "$0" inside "$mode")
else
    if [ "$(id -u)" = 0 ]; then
        ns=(unshare --mount --propagation private)
        why="/dev/log exists but nothing listens"
    else
        ns=(unshare --user --map-root-user --mount --propagation private)
        why="not root"
        [ -e /dev/log ] || [ -L /dev/log ] || why="not root, and there is no /dev/log"
    fi
    start_sink "$BENCH_WORK/log"
    if ! "${ns[@]}" true 2>/dev/null; then
        die "$why, and '${ns[*]}' does not work here, so the benchmark cannot give the modules a
     syslog receiver on /dev/log. Run it as root (sudo make bench), or start a syslog daemon
     (e.g. rsyslog), or allow unprivileged user namespaces."
    fi
    BENCH_SYSLOG="$why: the benchmark's receiver was bind-mounted at /dev/log in a private mount namespace (${ns[*]})"
    [ "$(id -u)" = 0 ] || BENCH_SYSLOG="$BENCH_SYSLOG; the PAM user inside is root, which maps to the invoking user"
    say "$BENCH_SYSLOG"
    export BENCH_SYSLOG
    run=("${ns[@]}" bash "$0" inside-namespace "$mode")
fi

"${run[@]}"

if [ -n "$sink_pid" ]; then
    kill "$sink_pid"
    wait "$sink_pid" || true
    sink_pid=
    cat "$BENCH_WORK/sink.err" >&2
    BENCH_SINK=$(grep messages= "$BENCH_WORK/sink.out" || true)
    export BENCH_SINK
    say "syslog receiver: $BENCH_SINK"
fi

export BENCH_TMPFS
BENCH_TMPFS="$(findmnt -n -o FSTYPE,SOURCE -T "$BENCH_WORK" | tr -s ' ' | sed 's/ / on /')"
report=$out/smoke-report.md
[ "$mode" = full ] && report=$root/docs/BENCHMARKS.md
if ! python3 bench/report.py "$mode" "$BENCH_WORK" >"$report.new"; then
    rm -f "$report.new"
    die "the report could not be written"
fi
mv "$report.new" "$report"
say "report written to ${report#"$root"/}"
