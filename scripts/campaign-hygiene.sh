#!/bin/sh
# The long runs of tests/host_hygiene.rs, on the release build (what gets installed), with the
# same figures for Debian's C module printed next to ours (nothing is asserted about it):
#
#   - memcheck over MEMCHECK_CYCLES load/unload cycles (success, wrong code, scratch code,
#     no file with nullok, bad file): bytes lost, still reachable, errors, and leak records
#     allocated through the module;
#   - HYGIENE_LOGINS logins of distinct users on waves of 8 threads that start and exit,
#     with a sampler thread: fds, RSS (start, after warm-up, end, max), umask, signal
#     dispositions and masks, working directory, credentials, every thread's fs ids, and
#     the module's mappings after pam_end;
#   - a module that panics on every call inside the module's panic boundary, with
#     RUST_BACKTRACE=1: nothing printed, nothing mapped or left after pam_end.
#
# Usage: scripts/campaign-hygiene.sh   (or `make campaign-hygiene`)
#   MEMCHECK_CYCLES (default 1000), HYGIENE_LOGINS (default 10000), CARGO (default cargo).
#   COMPARE=0 skips Debian's module (which is fetched with apt-get download + dpkg -x).
set -eu
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
cycles=${MEMCHECK_CYCLES:-1000}
logins=${HYGIENE_LOGINS:-10000}
compare=${COMPARE:-1}

command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
"$cargo" build --release --lib --examples
log=target/campaign-hygiene.log
echo "memcheck cycles: $cycles, hygiene logins: $logins, valgrind: $(valgrind --version)" | tee "$log"
# As root, the run with files owned by nobody (the module switches fs ids) is included.
ignored=
[ "$(id -u)" = 0 ] && ignored=--include-ignored
GA_MEMCHECK_CYCLES=$cycles GA_HYGIENE_LOGINS=$logins GA_HOST_COMPARE=$compare \
  "$cargo" test --release --test host_hygiene -- $ignored --test-threads=2 --nocapture 2>&1 |
  tee -a "$log"
echo
echo "Figures (also in $log):"
grep -E '^(memcheck|hygiene) |^  violations by kind' "$log" || true
grep -q '^test result: ok' "$log"
