#!/bin/sh
# `make install` and `make uninstall`: copy what `make build` built (never build), and never
# overwrite or delete a file that dpkg or rpm owns without saying so.
#
# Usage: scripts/install.sh install|uninstall
# From make: DESTDIR, PREFIX, PAMDIR; DIVERT=1 lets `install` divert files of a Debian
# package with dpkg-divert (kept as <file>.distrib; `uninstall` puts them back).
set -eu
cd "$(dirname "$0")/.."
mode=${1:?usage: $0 install|uninstall}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
DIVERT=${DIVERT:-}
[ -n "${PAMDIR:-}" ] || { echo "Cannot find the directory of pam_unix.so; pass PAMDIR=..." >&2; exit 1; }

# source, destination, mode
FILES="target/release/libpam_google_authenticator.so $PAMDIR/pam_google_authenticator.so 0644
target/release/google-authenticator $PREFIX/bin/google-authenticator 0755
man/google-authenticator.1 $PREFIX/share/man/man1/google-authenticator.1 0644
target/release/google-authenticator-audit $PREFIX/bin/google-authenticator-audit 0755
man/google-authenticator-audit.1 $PREFIX/share/man/man1/google-authenticator-audit.1 0644
man/pam_google_authenticator.8 $PREFIX/share/man/man8/pam_google_authenticator.8 0644"

# The names a path may have in dpkg's database on a merged-/usr system.
aliases() {
  echo "$1"
  case $1 in
    /usr/lib/* | /usr/lib64/* | /usr/bin/* | /usr/sbin/*) echo "${1#/usr}" ;;
    /lib/* | /lib64/* | /bin/* | /sbin/*) echo "/usr$1" ;;
  esac
}

# Prints "dpkg <package> <path as dpkg knows it>" or "rpm <package> <path>" for an owned file.
owner() {
  for p in $(aliases "$1"); do
    if command -v dpkg-query >/dev/null; then
      pkg=$(dpkg-query -S "$p" 2>/dev/null | grep -E "^[^ ]+(, [^ ]+)*: $p\$" | sed 's/: .*//' | head -n 1)
      [ -z "$pkg" ] || { echo "dpkg $pkg $p"; return; }
    fi
    if command -v rpm >/dev/null && rpm -qf "$p" >/dev/null 2>&1; then
      echo "rpm $(rpm -qf "$p" | head -n 1) $p"; return
    fi
  done
}

# Prints the path dpkg knows with a local diversion made by `make install DIVERT=1`.
our_diversion() {
  command -v dpkg-divert >/dev/null || return 0
  for p in $(aliases "$1"); do
    if [ "$(dpkg-divert --listpackage "$p")" = LOCAL ] \
      && [ "$(dpkg-divert --truename "$p")" = "$p.distrib" ]; then
      echo "$p"; return
    fi
  done
}

# First pass: refuse before touching anything.
refused=""
echo "$FILES" | {
  while read -r src dest perm; do
    if [ "$mode" = install ] && [ ! -f "$src" ]; then
      echo "make install: $src is missing. Run 'make build' first (as yourself); install only copies what it built." >&2
      exit 1
    fi
    [ -z "$DESTDIR" ] || continue
    [ -z "$(our_diversion "$dest")" ] || continue
    set -- $(owner "$dest")
    [ $# -gt 0 ] || continue
    if [ "$1" = dpkg ] && [ "$mode" = install ] && [ "$DIVERT" = 1 ]; then continue; fi
    verb=overwrite; [ "$mode" = install ] || verb=delete
    kind="Debian package"; [ "$1" = dpkg ] || kind="RPM package"
    echo "make $mode: will not $verb $dest: it belongs to the $kind $2." >&2
    refused=1
  done
  if [ -n "$refused" ]; then
    if [ "$mode" = install ]; then
      echo "Remove that package first (docs/MIGRATION.md), or on Debian run 'make install DIVERT=1'" >&2
      echo "to keep its files as <file>.distrib with dpkg-divert ('make uninstall' puts them back)." >&2
    else
      echo "Nothing was deleted. Remove the package with your package manager instead." >&2
    fi
    exit 1
  fi
}

echo "$FILES" | while read -r src dest perm; do
  target=$DESTDIR$dest
  if [ "$mode" = install ]; then
    if [ -z "$DESTDIR" ] && [ -z "$(our_diversion "$dest")" ]; then
      set -- $(owner "$dest")
      if [ $# -gt 0 ]; then
        # Keep the package's file as <file>.distrib (a hard link: the file never goes
        # away) and tell dpkg that the package's copy now lives there.
        ln -f "$3" "$3.distrib"
        dpkg-divert --local --no-rename --divert "$3.distrib" --add "$3"
      fi
    fi
    # A temporary file and a rename: libpam never sees a missing or half-written module.
    mkdir -p "$(dirname "$target")"
    install -m "$perm" "$src" "$target.make-install"
    mv -f "$target.make-install" "$target"
    echo "installed $target"
  else
    diverted=$([ -n "$DESTDIR" ] || our_diversion "$dest")
    if [ -n "$diverted" ]; then
      if [ -e "$diverted.distrib" ]; then
        mv -f "$diverted.distrib" "$diverted"
        echo "restored the packaged $diverted"
      else
        rm -f "$target"
      fi
      dpkg-divert --local --no-rename --remove "$diverted"
    elif [ -e "$target" ] || [ -L "$target" ]; then
      rm -f "$target"
      echo "removed $target"
    fi
  fi
done
