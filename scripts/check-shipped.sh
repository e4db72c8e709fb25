#!/usr/bin/env bash
# Runs Walkout as it ships: the repository's files (no node_modules) in a temporary folder,
# `npm ci --omit=dev`, then `npm run cloud` on a fresh database until /openapi.json answers, and
# one detection through the model loader's worker threads. It fails if anything the product needs
# at run time is only a devDependency. Run from .ci/run (too slow for `npm test`: the install copies
# ~400 MB out of npm's cache). Needs DATABASE_URL (a server where it may create a database).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${DATABASE_URL:?DATABASE_URL must point at a PostgreSQL server}"
# How long the cloud may take to answer: migrations on an empty database take a few seconds.
CLOUD_START_TIMEOUT_S=${CLOUD_START_TIMEOUT_S:-60}

work="$(mktemp -d -t walkout-shipped-XXXXXX)"
cloud_pid=''
database=''
cleanup() {
  status=$?
  if [[ -n $cloud_pid ]]; then
    kill -TERM -- "-$cloud_pid" 2>/dev/null || true
    wait "$cloud_pid" 2>/dev/null || true
  fi
  if [[ -n $database ]]; then
    (cd "$work" && node -e "$SQL" "drop database if exists $database with (force)") || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

say() { printf '[shipped %3ss] %s\n' "$SECONDS" "$*"; }

say "copying tracked and new files into $work"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  grep -zv '^node_modules$' | xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$work"

say 'npm ci --omit=dev'
(cd "$work" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error)
for dev in vitest typescript @biomejs/biome; do
  if [[ -e $work/node_modules/$dev ]]; then
    echo "shipped: $dev was installed by npm ci --omit=dev; the check would prove nothing" >&2
    exit 1
  fi
done

# One statement against the server's `postgres` database, with the shipped `pg`.
SQL='const pg = require("pg"); const u = new URL(process.env.DATABASE_URL); u.pathname = "/postgres";
const c = new pg.Client({ connectionString: u.toString() });
c.connect().then(() => c.query(process.argv[1])).then(() => c.end(), (e) => { console.error(e.message); process.exit(1); });'
database="walkout_shipped_$$"
(cd "$work" && node -e "$SQL" "create database $database")
db_url="$(node -e 'const u = new URL(process.env.DATABASE_URL); u.pathname = process.argv[1]; console.log(u.toString())' "/$database")"

say 'npm run cloud'
# In a process group of its own (npm, sh, tsx and node), so stopping it stops all of them.
(cd "$work" && exec setsid env DATABASE_URL="$db_url" HOST=127.0.0.1 PORT=0 GRPC_PORT=0 LOG_LEVEL=info \
  npm run --silent cloud >"$work/cloud.out" 2>&1) &
cloud_pid=$!
url=''
for _ in $(seq "$((CLOUD_START_TIMEOUT_S * 5))"); do
  url="$(grep -o '"http":"http://[^"]*"' "$work/cloud.out" | head -1 | cut -d'"' -f4 || true)"
  [[ -n $url ]] && break
  if ! kill -0 "$cloud_pid" 2>/dev/null; then break; fi
  sleep 0.2
done
if [[ -z $url ]]; then
  echo "shipped: the cloud did not start; its output:" >&2
  cat "$work/cloud.out" >&2
  exit 1
fi
node -e '
fetch(process.argv[1]).then(async (res) => {
  const text = await res.text();
  if (res.status !== 200 || !JSON.parse(text).openapi)
    throw new Error(`${res.status} ${text.slice(0, 200)}`);
}).catch((e) => { console.error(`shipped: ${process.argv[1]} did not answer with an OpenAPI document: ${e.message}`); process.exit(1); });
' "$url/openapi.json"
say "the cloud answered $url/openapi.json"
group=$cloud_pid
kill -TERM -- "-$group"
wait "$cloud_pid" || true
cloud_pid=''
# The cloud closes its servers and pool on SIGTERM; none of its processes may linger.
for _ in $(seq 50); do
  pgrep -g "$group" >/dev/null || break
  sleep 0.2
done
if pgrep -g "$group" >/dev/null; then
  echo "shipped: the cloud's processes outlived SIGTERM by 10 s:" >&2
  pgrep -a -g "$group" >&2
  kill -KILL -- "-$group" 2>/dev/null || true
  exit 1
fi

say 'one detection through the model loader (worker threads)'
(cd "$work" && node --import tsx scripts/shipped-detect.ts)
say 'ok: the shipped install runs the cloud and the inference workers'
