#!/bin/sh
# Builds the release artifact dist/aws-masker-<version>.tar.gz (make dist):
#   aws-masker-<version>/
#     wasm/aws_masker.wasm, wasm/aws_masker.meta.json   -> wasm_filters_path
#     bin/aws-masker-bridge                             (linux x86_64)
#     kong/ (kong.conf, kong*.yml templates, render-config.sh, examples, systemd), docs/, README.md,
#     LICENSE, SHA256SUMS (of every other file)
# Reproducible: same sources and toolchain, same bytes. Names sorted, owner 0:0, modes normalised,
# every mtime = SOURCE_DATE_EPOCH (default: the last commit's time), gzip -n, build paths remapped.
# Needs GNU tar, gzip, sha256sum and the wasm32-wasip1 target.
set -eu
cd "$(dirname "$0")/.."

die() { printf 'dist: %s\n' "$1" >&2; exit 1; }

CARGO=${CARGO:-cargo}
version=$(sed -n '/^\[workspace\.package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
[ -n "$version" ] || die "no version in [workspace.package] of Cargo.toml"
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || true)}
case $epoch in '' | *[!0-9]*) die "set SOURCE_DATE_EPOCH (no git history to take the time from)" ;; esac

# A target directory of its own: the remapped paths below change RUSTFLAGS, and sharing target/
# would rebuild everything on every switch between make build and make dist.
target=${DIST_TARGET_DIR:-target/dist}
CARGO_ENCODED_RUSTFLAGS=$(printf -- '--remap-path-prefix=%s=aws-masker\037--remap-path-prefix=%s=cargo' \
    "$(pwd)" "${CARGO_HOME:-$HOME/.cargo}")
export CARGO_ENCODED_RUSTFLAGS

# CARGO_ENCODED_RUSTFLAGS replaces .cargo/config.toml's flags: repeat the filter's simd128 there.
CARGO_ENCODED_RUSTFLAGS="$CARGO_ENCODED_RUSTFLAGS$(printf '\037')-Ctarget-feature=+simd128" \
    $CARGO build --release --locked --target-dir "$target" --target wasm32-wasip1 -p aws-masker
wasm=$target/wasm32-wasip1/release/aws_masker.wasm

host=$(rustc -vV | sed -n 's/^host: //p')
if [ "$host" = x86_64-unknown-linux-gnu ]; then
    $CARGO build --release --locked --target-dir "$target" -p aws-masker-bridge
    bridge=$target/release/aws-masker-bridge
else
    $CARGO build --release --locked --target-dir "$target" --target x86_64-unknown-linux-gnu -p aws-masker-bridge
    bridge=$target/x86_64-unknown-linux-gnu/release/aws-masker-bridge
fi

name=aws-masker-$version
stage=dist/stage
top=$stage/$name
rm -rf "$stage"
mkdir -p "$top"

install -m 0644 -D "$wasm" "$top/wasm/aws_masker.wasm"
install -m 0644 -D kong/aws_masker.meta.json "$top/wasm/aws_masker.meta.json"
install -m 0755 -D "$bridge" "$top/bin/aws-masker-bridge"
install -m 0644 README.md LICENSE "$top/"
for f in kong/kong.conf kong/kong.yml kong/kong-traditional.yml kong/kong-managed.yml; do
    install -m 0644 -D "$f" "$top/$f"
done
install -m 0755 -D kong/render-config.sh "$top/kong/render-config.sh"
for dir in kong/examples kong/systemd docs; do
    [ -d "$dir" ] || continue
    find "$dir" -type f | while IFS= read -r f; do install -m 0644 -D "$f" "$top/$f"; done
done

( cd "$top" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort |
    while IFS= read -r f; do sha256sum "$f"; done > SHA256SUMS )
chmod 0644 "$top/SHA256SUMS"

out=dist/$name.tar.gz
LC_ALL=C tar --sort=name --format=gnu --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
    --mode='u+rwX,go+rX,go-w' -C "$stage" -cf - "$name" | gzip -n -9 > "$out.tmp"
mv -f "$out.tmp" "$out"
( cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256" )
rm -rf "$stage"
printf '%s\n' "$out"
