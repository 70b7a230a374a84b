#!/bin/sh
# Checks the file list and control fields of the package built by `make deb`.
# Usage: scripts/check-deb.sh target/debian/<package>.deb
set -eu
deb=${1:?usage: $0 package.deb}
fail() { echo "check-deb: $*" >&2; exit 1; }

files=$(dpkg -c "$deb")
for entry in \
  "-rw-r--r-- .*\./lib/x86_64-linux-gnu/security/pam_google_authenticator.so\$" \
  "-rwxr-xr-x .*\./usr/bin/google-authenticator\$" \
  "-rw-r--r-- .*\./usr/share/man/man1/google-authenticator.1(\.gz)?\$" \
  "-rw-r--r-- .*\./usr/share/man/man8/pam_google_authenticator.8(\.gz)?\$" \
  "\./usr/share/doc/pam-google-authenticator-rs/README.md\$" \
  "\./usr/share/doc/pam-google-authenticator-rs/COMPATIBILITY.md\$"
do
  echo "$files" | grep -Eq -- "$entry" || fail "missing file: $entry"
done

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = pam-google-authenticator-rs ] || fail "Package: $(field Package)"
[ "$(field Architecture)" = amd64 ] || fail "Architecture: $(field Architecture)"
for name in Conflicts Replaces Provides; do
  field "$name" | grep -Eq '(^|, )libpam-google-authenticator($|[ ,])' \
    || fail "$name does not name libpam-google-authenticator: $(field "$name")"
done
depends=$(field Depends)
for dep in libc6 libpam0g; do
  echo "$depends" | grep -Eq "(^|, )$dep( |,|\$)" || fail "Depends lacks $dep: $depends"
done
dpkg -I "$deb" >/dev/null
echo "check-deb: $deb is fine"
