#!/bin/sh
# Prints the path of Debian's pam_google_authenticator.so (package libpam-google-authenticator),
# downloaded once with `apt-get download` and unpacked with `dpkg -x` under target/reference/
# (never installed), the same place the tests use (tests/support/binaries.rs).
set -eu
cache=target/reference
so=$cache/root/lib/x86_64-linux-gnu/security/pam_google_authenticator.so
if [ ! -e "$cache/root/VERSION" ]; then
    work=$cache/download.$$
    rm -rf "$work"
    mkdir -p "$work"
    if ! (cd "$work" && apt-get download libpam-google-authenticator >/dev/null 2>&1); then
        rm -rf "$work"
        echo "bench: apt-get download libpam-google-authenticator failed; run apt-get update" \
            "(network access to Debian's archive is needed)" >&2
        exit 1
    fi
    dpkg -x "$work"/*.deb "$work/root"
    dpkg-deb -f "$work"/*.deb Version >"$work/root/VERSION"
    mv "$work/root" "$cache/root" 2>/dev/null || true
    rm -rf "$work"
fi
found=$(find "$cache/root" -name pam_google_authenticator.so | head -n 1)
[ -n "$found" ] || { echo "bench: no pam_google_authenticator.so under $cache/root" >&2; exit 1; }
realpath "$found"
