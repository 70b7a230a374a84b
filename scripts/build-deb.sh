#!/bin/sh
# Builds the Debian package from what `make build` built (target/release), without cargo:
# stages the files, lets dpkg-shlibdeps compute Depends from the libc and libpam symbols the
# binaries really use, writes the control file with dpkg-gencontrol and builds the .deb
# with dpkg-deb. The module goes to /lib/<triplet>/security/, the path Debian's
# libpam-google-authenticator uses, with the triplet of the build machine.
#
# Usage: scripts/build-deb.sh            prints the path of the .deb it built
# DEB_VERSION=0.1.0+2 scripts/build-deb.sh   builds the same files with a higher version
#                                            (and a changelog entry for it)
set -eu
cd "$(dirname "$0")/.."

pkg=$(sed -n 's/^Package: //p' debian/control)
out=target/debian
stage=$out/stage
module=target/release/libpam_google_authenticator.so
command=target/release/google-authenticator
audit=target/release/google-authenticator-audit
for f in "$module" "$command" "$audit"; do
  [ -f "$f" ] || { echo "build-deb: $f is missing; run 'make build' first" >&2; exit 1; }
done

triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
doc=usr/share/doc/$pkg

rm -rf "$stage" "$out/work"
mkdir -p "$stage/DEBIAN" "$out/work"

# The changelog: debian/changelog, plus an entry for a version given from outside.
cp debian/changelog "$out/work/changelog"
if [ -n "${DEB_VERSION:-}" ]; then
  {
    printf '%s (%s) unstable; urgency=medium\n\n' "$pkg" "$DEB_VERSION"
    printf '  * Rebuild with version %s.\n\n' "$DEB_VERSION"
    printf ' -- %s  %s\n\n' "$(sed -n 's/^Maintainer: //p' debian/control)" "$(date -R)"
    cat debian/changelog
  } >"$out/work/changelog"
fi
version=$(dpkg-parsechangelog -l "$out/work/changelog" -S Version)

# Files. Binaries are stripped here (the build keeps its symbols for the tests).
install -D -m 0644 "$module" "$stage/lib/$triplet/security/pam_google_authenticator.so"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
  "$stage/lib/$triplet/security/pam_google_authenticator.so"
install -D -m 0755 "$command" "$stage/usr/bin/google-authenticator"
strip --remove-section=.comment --remove-section=.note "$stage/usr/bin/google-authenticator"
install -D -m 0755 "$audit" "$stage/usr/bin/google-authenticator-audit"
strip --remove-section=.comment --remove-section=.note "$stage/usr/bin/google-authenticator-audit"
for page in man/google-authenticator.1 man/google-authenticator-audit.1 man/pam_google_authenticator.8; do
  section=${page##*.}
  install -D -m 0644 "$page" "$stage/usr/share/man/man$section/${page#man/}"
  gzip -9n "$stage/usr/share/man/man$section/${page#man/}"
done

# Documentation keeps the source tree's layout (README.md, docs/, pam.d/, contrib/), so its relative
# links work in /usr/share/doc/<package>/. The licence is in the copyright file there.
install -d "$stage/$doc/docs" "$stage/$doc/pam.d"
sed 's|\[LICENSE\](LICENSE)|[copyright](copyright)|' README.md >"$stage/$doc/README.md"
install -m 0644 docs/*.md "$stage/$doc/docs/"
install -m 0644 pam.d/* "$stage/$doc/pam.d/"
install -D -m 0644 contrib/fail2ban/filter.d/pam-google-authenticator.conf \
  "$stage/$doc/contrib/fail2ban/filter.d/pam-google-authenticator.conf"
install -D -m 0644 contrib/fail2ban/jail.d/pam-google-authenticator.conf \
  "$stage/$doc/contrib/fail2ban/jail.d/pam-google-authenticator.conf"
install -m 0644 debian/copyright "$stage/$doc/copyright"
gzip -9nc "$out/work/changelog" >"$stage/$doc/changelog.gz"
chmod 0644 "$stage/$doc/README.md" "$stage/$doc/changelog.gz"

# Control file: Depends from the symbols the binaries use, Installed-Size from the stage.
(
  cd "$out/work"
  mkdir -p debian
  cp ../../../debian/control debian/control
  dpkg-shlibdeps -Tsubstvars \
    "../stage/lib/$triplet/security/pam_google_authenticator.so" \
    ../stage/usr/bin/google-authenticator ../stage/usr/bin/google-authenticator-audit
  dpkg-gencontrol -p"$pkg" -ldebian/../changelog -Tsubstvars -P../stage -ffiles -v"$version" -Vmisc:Depends=
)
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
  | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
find "$stage" -type d -exec chmod 0755 {} +

deb=$out/${pkg}_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
