#!/bin/sh
# Counts the instructions one pam_authenticate takes (callgrind), for a given module,
# secret file contents and answer. Instruction counts do not depend on the machine's load,
# so two builds can be compared exactly.
#
#   cargo build --release --lib --example pam_driver
#   scripts/callgrind-login.sh target/release/libpam_google_authenticator.so \
#       '2SH3V3GDW7ZNMGYE\n" TOTP_AUTH\n' 000000
#
# The contents are given to printf. The file and a one-line service file go into a
# temporary directory; the result line and the instruction count are printed.
set -eu
module=$(realpath "$1")
contents=$2
answer=$3
driver=$(realpath "${DRIVER:-target/release/examples/pam_driver}")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf "$contents" > "$dir/secret"
chmod 400 "$dir/secret"
mkdir "$dir/pam.d"
echo "auth required $module secret=$dir/secret" > "$dir/pam.d/callgrind"
valgrind --tool=callgrind --toggle-collect=pam_authenticate \
    --callgrind-out-file="$dir/callgrind.out" \
    "$driver" --service callgrind --confdir "$dir/pam.d" --user "$(id -un)" \
    --answer "$answer" > "$dir/out" 2> "$dir/err"
grep '^result' "$dir/out"
grep -E '^(summary|totals):' "$dir/callgrind.out" | head -n 1 | awk '{print "instructions " $2}'
