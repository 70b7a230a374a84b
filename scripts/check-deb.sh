#!/bin/sh
# Checks the package built by `make deb` (scripts/build-deb.sh): its file list, its control
# fields, the links of its documentation where it is installed, and lintian with no error
# and no warning.
# Usage: scripts/check-deb.sh target/debian/<package>.deb
set -eu
deb=${1:?usage: $0 package.deb}
cd "$(dirname "$0")/.."
fail() { echo "check-deb: $*" >&2; exit 1; }

pkg=pam-google-authenticator-rs
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
doc=usr/share/doc/$pkg

files=$(dpkg -c "$deb")
for entry in \
  "-rw-r--r-- .*\./lib/$triplet/security/pam_google_authenticator.so\$" \
  "-rwxr-xr-x .*\./usr/bin/google-authenticator\$" \
  "-rwxr-xr-x .*\./usr/bin/google-authenticator-audit\$" \
  "-rw-r--r-- .*\./usr/share/man/man1/google-authenticator.1.gz\$" \
  "-rw-r--r-- .*\./usr/share/man/man8/pam_google_authenticator.8.gz\$" \
  "-rw-r--r-- .*\./$doc/copyright\$" \
  "-rw-r--r-- .*\./$doc/changelog.gz\$" \
  "\./$doc/README.md\$" \
  "\./$doc/docs/COMPATIBILITY.md\$"
do
  echo "$files" | grep -Eq -- "$entry" || fail "missing file: $entry"
done
for recipe in pam.d/*; do
  echo "$files" | grep -q -- "\./$doc/$recipe\$" || fail "missing recipe: $recipe"
done
echo "$files" | grep -Ev ' root/root ' && fail "files not owned by root:root"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = "$pkg" ] || fail "Package: $(field Package)"
[ "$(field Architecture)" = "$(dpkg-architecture -qDEB_HOST_ARCH)" ] \
  || fail "Architecture: $(field Architecture)"
# Replaces + Breaks take Debian's files over in place; Conflicts would make apt remove
# Debian's package (and its module) before ours is unpacked.
for name in Replaces Breaks Provides; do
  field "$name" | grep -Eq '(^|, )libpam-google-authenticator($|[ ,])' \
    || fail "$name does not name libpam-google-authenticator: $(field "$name")"
done
[ -z "$(field Conflicts)" ] || fail "Conflicts: $(field Conflicts) (leaves a moment without a module)"
# Depends comes from dpkg-shlibdeps: versioned by the newest symbols the binaries use.
depends=$(field Depends)
for dep in libc6 libpam0g; do
  echo "$depends" | grep -Eq "(^|, )$dep \(>= [0-9][^)]*\)" || fail "Depends lacks a versioned $dep: $depends"
done
echo "Depends: $depends"
# The version is Cargo.toml's unless a rebuild asked for another one.
if [ -z "${DEB_VERSION:-}" ]; then
  cargo_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
  [ "$(field Version)" = "$cargo_version" ] \
    || fail "Version $(field Version) is not Cargo.toml's $cargo_version (debian/changelog)"
fi

# Every relative link in the installed documentation names a file that is installed.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
for md in $(find "$tmp/$doc" -name '*.md'); do
  grep -o '\]([^)]*)' "$md" | sed 's/^](//; s/)$//; s/#.*//' | while read -r target; do
    case $target in '' | http://* | https://* | mailto:*) continue ;; esac
    [ -e "$(dirname "$md")/$target" ] || fail "broken link in ${md#"$tmp"/}: $target"
  done
done

command -v lintian >/dev/null || fail "lintian is not installed (make deps installs it as root)"
lintian --fail-on error,warning --display-info "$deb" || fail "lintian reports errors or warnings"
echo "check-deb: $deb is fine (lintian: no errors, no warnings)"
