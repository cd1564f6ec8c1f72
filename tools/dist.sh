#!/usr/bin/env bash
# The release archive a site owner installs: target/dist/ayuda-VERSION-PLATFORM.tar.gz holding
# one folder with the `ayuda` program (which carries the widget's scripts and the wasm module)
# and models/ with the two packed models it finds beside itself. Needs nothing else to run.
# The folder is left unpacked beside the archive too (tools/npm_pack.sh packs it for npm).
# Prints the archive's path.
#   tools/dist.sh [BINARY] [OUT_DIR]     (default: target/release/ayuda, target/dist)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/ayuda}
out=${2:-target/dist}
fail() { echo "dist: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "$bin not found: run \`make dist\` (it builds it)"
wasm="www/pkg/ayuda_bg.wasm www/pkg/ayuda_relaxed_bg.wasm www/pkg/ayuda_early_bg.wasm"
for w in $wasm; do
  [ -f "$w" ] || fail "the wasm modules are not built: run \`make build\` first"
done
for w in $wasm; do
  [ "$bin" -nt "$w" ] || fail "$bin is older than the wasm module $w it must carry: rebuild it"
done
for m in all-MiniLM-L6-v2 multilingual-e5-small; do
  [ -f "www/models/$m.ayuda" ] || fail "www/models/$m.ayuda is missing: run \`make pack\`"
done
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
platform="$(uname -m)-$(uname -s | tr '[:upper:]' '[:lower:]')"
name="ayuda-$version-$platform"
mkdir -p "$out"
stage=$(cd "$out" && pwd)
rm -rf "${stage:?}/$name"
mkdir -p "$stage/$name/models"
cp "$bin" "$stage/$name/ayuda"
cp www/models/all-MiniLM-L6-v2.ayuda www/models/multilingual-e5-small.ayuda "$stage/$name/models/"
cat > "$stage/$name/README.txt" <<'TXT'
ayuda: answers from your own FAQ, inside your visitors' browsers.

Install: put this folder anywhere and the `ayuda` program on your PATH (keep models/ beside
it), for example:  sudo ln -s "$PWD/ayuda" /usr/local/bin/ayuda
Use, after building your site:  ayuda site public --inject
Then deploy the site as usual. `ayuda site --help` lists the options.

Instalación: deja esta carpeta donde quieras y el programa `ayuda` en tu PATH (con models/ a
su lado), por ejemplo:  sudo ln -s "$PWD/ayuda" /usr/local/bin/ayuda
Uso, después de generar tu sitio:  ayuda site public --inject
Después publica el sitio como siempre. `ayuda site --help` muestra las opciones.
TXT
tar -C "$stage" -czf "$out/$name.tar.gz.partial" "$name"
mv "$out/$name.tar.gz.partial" "$out/$name.tar.gz"
echo "dist: $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1))" >&2
echo "$out/$name.tar.gz"
