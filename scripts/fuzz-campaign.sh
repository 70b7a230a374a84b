#!/bin/sh
# Runs every fuzz target, one after the other (one core), for FUZZ_RUNS executions each
# (libFuzzer -runs=; -1 for no limit), and at most FUZZ_SECONDS each when that is set,
# starting from the committed seeds (fuzz/seeds/<target>) and the local corpus
# (fuzz/corpus/<target>, not committed). Prints, per target, the executions, exec/s, time,
# corpus size and crashes, then a table.
# Logs: fuzz/target/campaign/<target>.log; crashing inputs: fuzz/artifacts/<target>/.
#
# FUZZ_SANITIZER (default address) is cargo fuzz's --sanitizer. The fuzzed code (src/core,
# src/cli) is safe Rust under #![forbid(unsafe_code)], so `none` loses little and runs
# about ten times faster; debug assertions and overflow checks stay on either way.
#
#   scripts/fuzz-campaign.sh [target...]
#   FUZZ_RUNS=10000000 FUZZ_SECONDS=3600 FUZZ_SANITIZER=none scripts/fuzz-campaign.sh policy
set -u

cd "$(dirname "$0")/../fuzz" || exit 1
RUNS=${FUZZ_RUNS:-10000000}
SECONDS_EACH=${FUZZ_SECONDS:-}
SANITIZER=${FUZZ_SANITIZER:-address}
TARGETS=${*:-${FUZZ_TARGETS:-secret_file module_args code_input policy cli_options}}
LOGS=target/campaign
mkdir -p "$LOGS"

export RUSTC_BOOTSTRAP=1
cargo fuzz build --sanitizer "$SANITIZER" || exit 1

table=""
failed=0
for t in $TARGETS; do
  mkdir -p "corpus/$t"
  time_limit=""
  [ -n "$SECONDS_EACH" ] && time_limit="-max_total_time=$SECONDS_EACH"
  start=$(date +%s)
  # shellcheck disable=SC2086 # time_limit is one word or none
  if cargo fuzz run --sanitizer "$SANITIZER" "$t" "corpus/$t" "seeds/$t" -- \
       "-runs=$RUNS" $time_limit -print_final_stats=1 >"$LOGS/$t.log" 2>&1; then
    crashes=0
  else
    crashes=$(ls "artifacts/$t" 2>/dev/null | grep -c -E '^(crash|oom|timeout|leak)-')
    [ "$crashes" -gt 0 ] || crashes="error"
    failed=1
  fi
  secs=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$LOGS/$t.log" | tail -n 1)
  # libFuzzer's corpus at the end (the directory also keeps inputs it has since reduced).
  corpus=$(grep -o 'corp: [0-9]*' "$LOGS/$t.log" | tail -n 1 | cut -d' ' -f2)
  seeds=$(ls "seeds/$t" | wc -l)
  line="| $t | ${execs:-?} | ${rate:-?} | $secs | $seeds | ${corpus:-?} | $crashes |"
  echo "fuzz $t: ${execs:-?} executions, ${rate:-?} exec/s, ${secs}s, corpus ${corpus:-?} (seeds $seeds), crashes $crashes"
  [ "$crashes" = 0 ] || tail -n 30 "$LOGS/$t.log"
  table="$table
$line"
done

echo
echo "| target | executions | exec/s | seconds | seeds | corpus | crashes |"
echo "|---|---|---|---|---|---|---|$table"
exit $failed
