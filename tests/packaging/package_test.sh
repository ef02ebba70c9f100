#!/usr/bin/env bash
# The Debian package as cpack builds it from BUILD_DIR (scripts/package builds the same
# one from a Release build): its control fields, its files and their modes, its
# conffiles and maintainer scripts, the units' paths, the packaged binaries accepting
# the packaged configs, and lintian, when installed, finding nothing but what
# packaging/debian/lintian-overrides explains. Every miss is reported, then it fails.
#   tests/packaging/package_test.sh BUILD_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: tests/packaging/package_test.sh BUILD_DIR}" && pwd)
tmp=$(mktemp -d /tmp/reflex-package-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

failures=0
fail() {
  echo "package_test: FAIL: $*" >&2
  failures=$((failures + 1))
}

# The package, in a directory of its own: the build directory is left as it was.
if ! cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log" >&2
  echo "package_test: FAIL: cpack could not build the package" >&2
  exit 1
fi
version=$(sed -n 's/^project(reflex VERSION \([0-9][0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
deb=$tmp/out/reflex_${version}_${arch}.deb
if [ ! -f "$deb" ]; then
  echo "package_test: FAIL: cpack made $(cd "$tmp/out" && echo *.deb), not $(basename "$deb")" >&2
  exit 1
fi
dpkg-deb --info "$deb"

# Control fields.
field_is() {
  local got
  got=$(dpkg-deb --field "$deb" "$1")
  [ "$got" = "$2" ] || fail "$1 is '$got', not '$2'"
}
field_is Package reflex
field_is Version "$version"
field_is Architecture "$arch"
field_is Section admin
field_is Priority optional
dpkg-deb --field "$deb" Maintainer | grep -qE '^[^<>]+ <[^@<>]+@[^@<>]+>$' ||
  fail "Maintainer is not 'Name <address>'"
dpkg-deb --field "$deb" Homepage | grep -qE '^https?://' || fail "Homepage is not a URL"
# The packages Depends names, without their versions.
dpkg-deb --field "$deb" Depends | tr ',|' '\n' | sed 's/^ *//; s/[ (].*//' >"$tmp/depends"
# adduser for postinst; the rest found by dpkg-shlibdeps in the binaries.
for dep in adduser libc6 libstdc++6 libzmq5 libcurl4 libpq5; do
  grep -qx "$dep" "$tmp/depends" || fail "Depends lacks $dep: $(dpkg-deb --field "$deb" Depends)"
done
dpkg-deb --field "$deb" Description >"$tmp/description"
synopsis=$(head -1 "$tmp/description")
if [ -z "$synopsis" ] || [ ${#synopsis} -gt 80 ]; then fail "the synopsis is empty or over 80 characters"; fi
[ "$(wc -l <"$tmp/description")" -ge 5 ] || fail "the long description has fewer than 4 lines"

# Files: each where the units, the docs and Debian expect it, with its mode, owned by
# root, and nothing else.
dpkg-deb --contents "$deb" | awk '{print $1, $2, $6}' >"$tmp/contents"
expected=(
  "-rwxr-xr-x usr/bin/reflex-hub" "-rwxr-xr-x usr/bin/reflex-agent" "-rwxr-xr-x usr/bin/reflexctl"
  "-rw-r--r-- lib/systemd/system/reflex-hub.service"
  "-rw-r--r-- lib/systemd/system/reflex-agent.service"
  "-rw-r--r-- etc/reflex/hub.yaml" "-rw-r--r-- etc/reflex/agent.yaml"
  "-rw-r--r-- usr/share/doc/reflex/README.md" "-rw-r--r-- usr/share/doc/reflex/copyright"
  "-rw-r--r-- usr/share/doc/reflex/changelog.gz"
  "-rw-r--r-- usr/share/lintian/overrides/reflex"
)
for f in "$src"/docs/*.md; do expected+=("-rw-r--r-- usr/share/doc/reflex/$(basename "$f")"); done
for f in "$src"/examples/*.yaml; do
  expected+=("-rw-r--r-- usr/share/doc/reflex/examples/$(basename "$f")")
done
for entry in "${expected[@]}"; do
  mode=${entry%% *} path=${entry#* }
  grep -qxF -- "$mode root/root ./$path" "$tmp/contents" || fail "no $path with mode $mode, root/root"
done
owners=$(awk '$2 != "root/root" {print $3 " (" $2 ")"}' "$tmp/contents")
[ -z "$owners" ] || fail "not owned by root: $owners"
unexpected=$(awk '$1 !~ /^d/ {print $3}' "$tmp/contents" | sed 's|^\./||' |
  grep -vE '^(usr/bin/reflex(-hub|-agent|ctl)|lib/systemd/system/reflex-(hub|agent)\.service|etc/reflex/(hub|agent)\.yaml|usr/share/doc/reflex/.*|usr/share/lintian/overrides/reflex)$' ||
  true)
[ -z "$unexpected" ] || fail "files nobody asked for: $unexpected"

# Control files: the configs are conffiles; the maintainer scripts are sh, set -e, and
# parse.
dpkg-deb --control "$deb" "$tmp/control"
[ "$(sort "$tmp/control/conffiles" 2>/dev/null)" = "$(printf '/etc/reflex/agent.yaml\n/etc/reflex/hub.yaml')" ] ||
  fail "conffiles is not /etc/reflex/{agent,hub}.yaml: $(cat "$tmp/control/conffiles" 2>/dev/null)"
[ -s "$tmp/control/md5sums" ] || fail "no md5sums"
for script in postinst prerm postrm; do
  f=$tmp/control/$script
  if [ ! -x "$f" ]; then
    fail "no executable $script"
    continue
  fi
  [ "$(head -1 "$f")" = "#!/bin/sh" ] || fail "$script does not start with #!/bin/sh"
  grep -qx 'set -e' "$f" || fail "$script does not set -e"
  sh -n "$f" || fail "$script does not parse"
done

# The extracted tree: what the units run, read and point to is in it, and the packaged
# binaries accept the packaged configs and report the package's version.
dpkg-deb -x "$deb" "$tmp/root"
for unit in "$tmp"/root/lib/systemd/system/reflex-*.service; do
  grep -v '^#' "$unit" | grep -oE '(/usr/bin|/etc/reflex|/usr/share/doc/reflex)/[A-Za-z0-9._-]+' |
    sort -u | while read -r path; do
    [ -e "$tmp/root$path" ] || echo "$(basename "$unit") names $path, which the package lacks"
  done
done >"$tmp/unit-paths"
[ ! -s "$tmp/unit-paths" ] || fail "$(cat "$tmp/unit-paths")"
for daemon in hub agent; do
  "$tmp/root/usr/bin/reflex-$daemon" check-config "$tmp/root/etc/reflex/$daemon.yaml" ||
    fail "reflex-$daemon check-config refuses the packaged /etc/reflex/$daemon.yaml"
done
for binary in reflex-hub reflex-agent reflexctl; do
  got=$("$tmp/root/usr/bin/$binary" --version) || true
  [ "$got" = "$binary $version" ] || fail "$binary --version says '$got', not '$binary $version'"
done

# lintian, when installed (scripts/install-deps installs it): warnings fail too, so
# every tag let through is explained in packaging/debian/lintian-overrides.
if command -v lintian >/dev/null; then
  lintian --fail-on error,warning "$deb" || fail "lintian reports errors or warnings"
else
  echo "package_test: lintian is not installed; not run"
fi

if [ "$failures" -ne 0 ]; then
  echo "package_test: $failures failed" >&2
  exit 1
fi
echo "package_test: $(basename "$deb") is as expected"
