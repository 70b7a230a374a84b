#!/bin/sh
# Checks the RPM built by `make rpm`: its file list (RHEL's layout), what it requires,
# provides, conflicts with and obsoletes, and rpmlint.
# Usage: scripts/check-rpm.sh target/rpm/RPMS/x86_64/<package>.rpm
set -eu
rpm=${1:?usage: $0 package.rpm}
fail() { echo "check-rpm: $*" >&2; exit 1; }

files=$(rpm -qpl "$rpm")
for f in /usr/lib64/security/pam_google_authenticator.so /usr/bin/google-authenticator \
         /usr/share/man/man1/google-authenticator.1.gz /usr/share/man/man8/pam_google_authenticator.8.gz \
         /usr/share/doc/pam-google-authenticator-rs/README.md \
         /usr/share/doc/pam-google-authenticator-rs/docs/TROUBLESHOOTING.md \
         /usr/share/doc/pam-google-authenticator-rs/contrib/fail2ban/filter.d/pam-google-authenticator.conf \
         /usr/share/doc/pam-google-authenticator-rs/pam.d/sshd-publickey-otp \
         /usr/share/licenses/pam-google-authenticator-rs/LICENSE; do
  echo "$files" | grep -qx "$f" || fail "missing file: $f"
done
requires=$(rpm -qp --requires "$rpm")
for r in 'libpam.so.0(LIBPAM_1.0)(64bit)' 'libc.so.6(GLIBC_2.34)(64bit)'; do
  echo "$requires" | grep -qxF "$r" || fail "does not require $r: $requires"
done
rpm -qp --provides "$rpm" | grep -qx 'google-authenticator = 1.12' || fail "does not provide google-authenticator"
rpm -qp --obsoletes "$rpm" | grep -qx 'google-authenticator < 1.12' || fail "does not obsolete EPEL's google-authenticator"
rpm -qp --conflicts "$rpm" | grep -qx 'google-authenticator < 1.12' || fail "does not conflict with EPEL's google-authenticator"

[ -z "$(rpm -qp --scripts "$rpm")" ] || fail "the package runs scriptlets: $(rpm -qp --scripts "$rpm")"

if command -v rpmlint >/dev/null; then
  # Known and accepted: the package is not signed (signing belongs to the repository that
  # publishes it); Debian's rpmlint 2.4 predates Fedora's move to SPDX licence names; and its
  # man page check records the section instead of the page name (FilesCheck.py:
  # man_basenames.add(res.group('category'))), so it never finds the page of any binary.
  out=$(rpmlint --config "$(dirname "$0")/../packaging/rpm/rpmlint.toml" "$rpm" 2>&1 || true)
  left=$(echo "$out" | grep -E ': [EW]: ' | grep -vE ': E: no-signature$|: W: invalid-license Apache-2.0$|: W: no-manual-page-for-binary google-authenticator(-audit)?$' || true)
  [ -z "$left" ] || fail "rpmlint:
$left"
  echo "$out" | tail -n 1
else
  echo "check-rpm: rpmlint not installed; skipped it" >&2
  exit 1
fi
echo "check-rpm: $rpm is fine"
