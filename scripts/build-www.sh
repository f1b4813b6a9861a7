#!/usr/bin/env bash
# Builds the browser inspector into www/dist/: static files with relative URLs, servable by any static
# server or Workers static assets (scripts/inspector.sh serves it on 127.0.0.1:8790):
#   bash scripts/build-www.sh
# Copies www/ (index.html, style.css, app.js, lib/, favicon.svg) and the npm package's browser entry
# (js/browser.js and the package modules it imports, found by following its relative imports; js/pkg/)
# into dist/edge-auth/; builds the package only when js/pkg/ is
# missing (scripts/test.sh builds it once per run). Writes dist/_headers (Workers static assets' header
# file; scripts/inspector.sh sends it too) with the page's Content-Security-Policy, read from the meta tag
# of index.html, plus frame-ancestors 'none' (which a meta tag cannot carry). Prints the gzip size of the
# first load. www/dist/ is a build artefact (gitignored).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'build-www: %s\n' "$*"; }

if [ ! -f js/pkg/edge_auth_wasm_bg.wasm ] || [ ! -f js/pkg/edge_auth_wasm.js ]; then
  say "js/pkg/ is missing: bash scripts/build-js.sh"
  bash scripts/build-js.sh
fi

out=www/dist
rm -rf "$out"
mkdir -p "$out/lib" "$out/edge-auth/pkg"
cp www/index.html www/style.css www/app.js www/favicon.svg "$out/"
cp www/lib/*.js "$out/lib/"
# js/browser.js and every module of js/ it reaches through relative imports (js/pkg/ is copied whole).
node -e '
  const { readFileSync } = require("node:fs"); const { join, resolve, dirname } = require("node:path");
  const js = resolve("js"), seen = [];
  const follow = (path) => {
    if (seen.includes(path) || path.startsWith(join(js, "pkg"))) return;
    seen.push(path);
    for (const [, spec] of readFileSync(path, "utf8").matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.\.?\/[^"]+\.js)"/gms)) {
      follow(resolve(dirname(path), spec));
    }
  };
  follow(join(js, "browser.js"));
  console.log(seen.join("\n"));
' | while read -r module; do cp "$module" "$out/edge-auth/"; done
cp -R js/pkg/. "$out/edge-auth/pkg/"
rm -f "$out/edge-auth/pkg/package.json" "$out/edge-auth/pkg/.gitignore" "$out/edge-auth/pkg/"*.d.ts

csp=$(sed -n 's/.*http-equiv="Content-Security-Policy" content="\([^"]*\)".*/\1/p' www/index.html)
if [ -z "$csp" ]; then
  say "no Content-Security-Policy meta tag in www/index.html" >&2
  exit 1
fi
cat >"$out/_headers" <<HEADERS
/*
  Content-Security-Policy: $csp; frame-ancestors 'none'
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer
  Cross-Origin-Opener-Policy: same-origin
HEADERS

total=0
while IFS= read -r f; do
  total=$((total + $(gzip -9 -c "$f" | wc -c)))
done < <(find "$out" -type f ! -name _headers)
say "built $out: $(find "$out" -type f | wc -l) files, first load $(awk -v b="$total" 'BEGIN { printf "%.1f KB", b / 1024 }') gzip -9 in total"
