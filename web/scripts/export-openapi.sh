#!/usr/bin/env bash
# The page's types and limits come from the api's OpenAPI schema (docs/architecture.md, "Validate at the edge,
# re-check at the worker"): this writes
# web/openapi.json from the api's app factory (no worker needed: the channel opens in the lifespan, which never
# runs here) and web/src/api/schema.d.ts from it with openapi-typescript.
#   scripts/export-openapi.sh          regenerate both files (npm run api:generate)
#   scripts/export-openapi.sh --check  regenerate into a temp dir and fail if the committed files differ (npm run api:check)
set -euo pipefail

web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$web/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
files=(openapi.json src/api/schema.d.ts)

generate() {
  local out="$1"
  mkdir -p "$out/src/api"
  # No .env and no API keys: the committed schema must not depend on one machine's settings (keys add a bearer
  # scheme to every operation).
  (cd "$root" && "$python" - "$out/openapi.json" <<'PY'
import json
import sys

from api.app import create_app
from api.settings import ApiSettings

schema = create_app(ApiSettings(_env_file=None, api_keys=[], api_keys_file=None)).openapi()
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(schema, f, indent=2, sort_keys=True, ensure_ascii=False)
    f.write("\n")
PY
  )
  "$web/node_modules/.bin/openapi-typescript" "$out/openapi.json" --default-non-nullable false --output "$out/src/api/schema.d.ts" >/dev/null
}

if [[ "${1:-}" == "--check" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp"
  stale=()
  for file in "${files[@]}"; do
    cmp -s "$tmp/$file" "$web/$file" || stale+=("web/$file")
  done
  if ((${#stale[@]})); then
    echo "api:check: ${stale[*]} differ from what the api's schema generates now." >&2
    for file in "${files[@]}"; do diff -u "$web/$file" "$tmp/$file" --label "web/$file (committed)" --label "web/$file (generated)" >&2 || true; done
    echo "api:check: run \`npm run api:generate\` in web/ and commit the result." >&2
    exit 1
  fi
  echo "api:check: web/openapi.json and web/src/api/schema.d.ts match the api's schema."
else
  generate "$web"
  echo "api:generate: wrote web/openapi.json and web/src/api/schema.d.ts"
fi
