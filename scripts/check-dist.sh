#!/bin/sh
# Checks the release artifact: builds it twice (the second time with another umask, time zone and
# source mtimes) and compares the bytes, then checks its contents: the expected files and nothing
# else, SHA256SUMS, owner 0:0, one fixed mtime, a gzip header without name or time, the wasm and
# ELF magic, the meta.json of the repository. Needs release builds: run it in CI, not per commit.
set -eu
cd "$(dirname "$0")/.."

fail() { printf 'check-dist: FAIL: %s\n' "$1" >&2; exit 1; }

version=$(sed -n '/^\[workspace\.package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
name=aws-masker-$version
art=dist/$name.tar.gz
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make dist >&2
[ -f "$art" ] || fail "make dist did not write $art"
cp "$art" "$work/first.tar.gz"

touch README.md kong/kong.yml kong/render-config.sh
( umask 077 && TZ=Asia/Tokyo make dist >&2 )
cmp -s "$art" "$work/first.tar.gz" || fail "two builds of $art differ"

# gzip: no file name (FLG.FNAME, byte 3, bit 3) and MTIME (bytes 4-7) zero.
header=$(od -An -tx1 -N8 "$art" | tr -d ' \n')
case $header in 1f8b08[0-9a-f][0-9a-f]00000000) ;; *) fail "gzip header $header carries a name or a time" ;; esac
flags=$(printf '%d' "0x$(printf '%s' "$header" | cut -c7-8)")
[ $((flags & 8)) -eq 0 ] || fail "gzip header carries a file name"

want_time=$(TZ=UTC date -d "@$epoch" '+%Y-%m-%d %H:%M:%S')
TZ=UTC tar --numeric-owner --full-time -tvzf "$art" | awk -v t="$want_time" '
    $2 != "0/0" { print "owner " $2 " on " $NF; bad = 1 }
    ($4 " " $5) != t { print "mtime " $4 " " $5 " on " $NF " (want " t ")"; bad = 1 }
    END { exit bad }' >&2 || fail "owner or mtime not normalised"

files=$(tar -tzf "$art" | grep -v '/$')
sorted=$(printf '%s\n' "$files" | LC_ALL=C sort)
# tar --sort=name orders the entries of each directory by name (depth first).
tar -tzf "$art" | LC_ALL=C awk '
    { p = $0; sub(/\/$/, "", p); parent = p; if (!sub(/\/[^\/]*$/, "", parent)) parent = ""
      name = substr(p, length(parent) + 1)
      if ((parent in last) && !(last[parent] < name)) { print "out of order: " $0; bad = 1 }
      last[parent] = name }
    END { exit bad }' >&2 || fail "entries are not sorted by name"
for required in LICENSE README.md SHA256SUMS wasm/aws_masker.wasm wasm/aws_masker.meta.json \
    bin/aws-masker-bridge kong/kong.conf kong/kong.yml kong/kong-traditional.yml kong/kong-managed.yml \
    kong/render-config.sh kong/examples/kong-filter-plugin.yml docs/CONFIG.md; do
    printf '%s\n' "$sorted" | grep -qx "$name/$required" || fail "$required missing"
done
printf '%s\n' "$sorted" | grep -v "^$name/\(LICENSE\|README.md\|SHA256SUMS\|wasm/aws_masker\.wasm\|wasm/aws_masker\.meta\.json\|bin/aws-masker-bridge\|kong/[^/]*\|kong/examples/.*\|kong/systemd/.*\|docs/.*\)$" |
    sed 's/^/unexpected: /' | grep . >&2 && fail "unexpected files in the archive"

tar -xzf "$art" -C "$work"
top=$work/$name
( cd "$top" && sha256sum --quiet -c SHA256SUMS ) || fail "SHA256SUMS does not verify"
summed=$(awk '{ print $2 }' "$top/SHA256SUMS" | LC_ALL=C sort)
present=$(cd "$top" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort)
[ "$summed" = "$present" ] || fail "SHA256SUMS does not list exactly the other files"

[ "$(od -An -tx1 -N4 "$top/wasm/aws_masker.wasm" | tr -d ' \n')" = 0061736d ] || fail "aws_masker.wasm is not wasm"
elf=$(od -An -tx1 -N20 "$top/bin/aws-masker-bridge" | tr -d ' \n')
case $elf in 7f454c4602*) ;; *) fail "aws-masker-bridge is not a 64-bit ELF" ;; esac
[ "$(printf '%s' "$elf" | cut -c37-40)" = 3e00 ] || fail "aws-masker-bridge is not x86_64"
[ -x "$top/bin/aws-masker-bridge" ] && [ -x "$top/kong/render-config.sh" ] || fail "executables lost their mode"
cmp -s "$top/wasm/aws_masker.meta.json" kong/aws_masker.meta.json || fail "meta.json differs from kong/"
cmp -s "$top/LICENSE" LICENSE || fail "LICENSE differs"

printf 'check-dist: ok: %s (%s bytes, %s files, sha256 %s)\n' "$art" "$(wc -c < "$art")" \
    "$(printf '%s\n' "$sorted" | wc -l)" "$(sha256sum "$art" | cut -d' ' -f1)"
