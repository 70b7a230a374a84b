#!/bin/sh
# Builds the RPM for RHEL/Fedora/Rocky from what `make build` built (nothing is compiled
# here) with rpmbuild and packaging/rpm/pam-google-authenticator-rs.spec, into target/rpm/.
# Usage: scripts/build-rpm.sh   (from the repository root)
set -eu
command -v rpmbuild >/dev/null || { echo "rpmbuild is needed: apt-get install rpm (Debian) or dnf install rpm-build" >&2; exit 1; }
for f in target/release/libpam_google_authenticator.so target/release/google-authenticator; do
  [ -f "$f" ] || { echo "$f is missing: run make build first" >&2; exit 1; }
done
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
top=$(pwd)/target/rpm
rm -rf "$top/BUILDROOT" "$top/BUILD"
mkdir -p "$top"
rpmbuild -bb --quiet \
  --define "_topdir $top" \
  --define "_sourcedir $(pwd)" \
  --define "pkg_version $version" \
  packaging/rpm/pam-google-authenticator-rs.spec
ls "$top"/RPMS/x86_64/pam-google-authenticator-rs-"$version"-1*.x86_64.rpm
