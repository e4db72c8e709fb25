#!/usr/bin/env bash
# Local PostgreSQL + Mosquitto for development and CI.
#   scripts/services.sh [up|down|status]
# `up` prints three machine-readable lines on stdout (DATABASE_URL=..., MQTT_URL=..., MQTT_ADMIN=user:password);
# everything else goes to stderr, so callers can `export $(scripts/services.sh up)`.
# Mosquitto refuses anonymous clients: MQTT_ADMIN is the account of its dynamic-security plugin, with
# which the cloud, the simulator and tests create each device's own account (platform/mqtt-authority.ts).
set -euo pipefail

BASE_DIR="${WALKOUT_SERVICES_DIR:-/tmp/walkout-services}"
PG_PORT="${PGPORT_WALKOUT:-54329}"
MQTT_PORT="${MQTT_PORT_WALKOUT:-18830}"
PG_DATA="$BASE_DIR/pg"
PG_LOG="$BASE_DIR/pg.log"
MQTT_DIR="$BASE_DIR/mqtt"
MQTT_PID="$MQTT_DIR/mosquitto.pid"
MQTT_DYNSEC="$MQTT_DIR/dynamic-security.json"
MQTT_ADMIN_FILE="$MQTT_DIR/admin"
MQTT_ADMIN_USER=walkout-admin
DB_USER=walkout
# Over the server's Unix socket (in its data directory): on these VMs a loopback TCP write costs
# several times as much, and every statement is one (docs/cloud.md, where a gate scan's time goes).
DATABASE_URL="postgres://$DB_USER@localhost:$PG_PORT/walkout?host=$PG_DATA"
MQTT_URL="mqtt://127.0.0.1:$MQTT_PORT"

log() { echo "[services] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

pg_bindir() { find /usr/lib/postgresql -maxdepth 3 -path '*/bin/postgres' -printf '%h\n' 2>/dev/null | sort -V | tail -n 1; }
mosquitto_bin() { command -v mosquitto || { [[ -x /usr/sbin/mosquitto ]] && echo /usr/sbin/mosquitto; } || true; }
dynsec_plugin() { find /usr/lib -name mosquitto_dynamic_security.so -print -quit 2>/dev/null || true; }

# PostgreSQL refuses to run as root, so root delegates to the `postgres` user the Debian package creates.
as_pg() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_packages() {
  local missing=()
  [[ -n "$(pg_bindir)" ]] || missing+=(postgresql)
  # Debian's mosquitto package ships the dynamic-security plugin and mosquitto_ctrl beside it.
  [[ -n "$(mosquitto_bin)" && -n "$(dynsec_plugin)" ]] || missing+=(mosquitto)
  # Tests read camera streams with ffmpeg, a real MJPEG client, and the benchmark with curl.
  command -v ffmpeg >/dev/null || missing+=(ffmpeg)
  command -v curl >/dev/null || missing+=(curl)
  # The browser test of the demo page drives Debian's Chromium; no browser is ever downloaded.
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  # The API fuzzer (npm run bench:fuzz) installs Schemathesis into a venv of its own.
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
    sudo=(sudo)
  fi
  log "installing ${missing[*]} with apt-get"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

pg_running() { [[ -f "$PG_DATA/PG_VERSION" ]] && as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_up() {
  local bin
  bin="$(pg_bindir)"
  mkdir -p "$BASE_DIR"
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    log "initdb $PG_DATA"
    mkdir -p "$PG_DATA"
    if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$PG_DATA"; fi
    chmod 700 "$PG_DATA"
    # Trust auth is safe because the server only listens on loopback and a private socket dir.
    as_pg "$bin/initdb" -D "$PG_DATA" -U "$DB_USER" --auth=trust -E UTF8 --locale=C.UTF-8 >&2
  fi
  if pg_running; then
    log "postgres already running ($PG_DATA)"
  else
    if [[ $EUID -eq 0 ]]; then
      touch "$PG_LOG"
      chown postgres:postgres "$PG_LOG"
    fi
    log "starting postgres on 127.0.0.1:$PG_PORT"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DATA" start >&2 ||
      die "postgres failed to start; see $PG_LOG"
  fi
  local i
  for i in $(seq 1 60); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
    ((i == 60)) && die "postgres not accepting connections on $PG_PORT"
    sleep 0.5
  done
  local db
  for db in walkout walkout_test; do
    if [[ -z "$("$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d postgres -tAc \
      "select 1 from pg_database where datname = '$db'")" ]]; then
      log "creating database $db"
      "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" "$db"
    fi
  done
}

mqtt_pid() {
  local pid
  pid="$(cat "$MQTT_PID" 2>/dev/null)" || return 1
  [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == mosquitto ]] && echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mqtt_up() {
  mkdir -p "$MQTT_DIR"
  if mqtt_pid >/dev/null; then
    log "mosquitto already running (pid $(mqtt_pid))"
  else
    port_open "$MQTT_PORT" && die "port $MQTT_PORT is taken by something that is not our mosquitto"
    # The accounts live in the plugin's file, so devices granted before a restart keep theirs (as
    # the database keeps their rows); the admin password is made once and kept beside it.
    if [[ ! -s "$MQTT_DYNSEC" || ! -s "$MQTT_ADMIN_FILE" ]]; then
      rm -f "$MQTT_DYNSEC"
      (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$MQTT_ADMIN_FILE")
      mosquitto_ctrl dynsec init "$MQTT_DYNSEC" "$MQTT_ADMIN_USER" "$(cat "$MQTT_ADMIN_FILE")" >/dev/null ||
        die "mosquitto_ctrl dynsec init failed"
    fi
    # Started as root, mosquitto drops to its own user, which must be able to save the accounts
    # (the plugin writes a new file beside the old and renames it).
    if [[ $EUID -eq 0 ]] && id mosquitto >/dev/null 2>&1; then chown mosquitto "$MQTT_DIR" "$MQTT_DYNSEC"; fi
    cat >"$MQTT_DIR/mosquitto.conf" <<EOF
listener $MQTT_PORT 127.0.0.1
allow_anonymous false
plugin $(dynsec_plugin)
plugin_opt_config_file $MQTT_DYNSEC
persistence false
log_dest stderr
EOF
    log "starting mosquitto on 127.0.0.1:$MQTT_PORT"
    # Started in the background rather than with -d: the daemon form closes stderr (our log).
    # Redirecting all fds matters: callers capture stdout with $(...) and would otherwise hang.
    setsid "$(mosquitto_bin)" -c "$MQTT_DIR/mosquitto.conf" </dev/null >>"$MQTT_DIR/mosquitto.log" 2>&1 &
    echo $! >"$MQTT_PID"
  fi
  # Liveness by pid, not by name: until the forked shell has exec'd mosquitto its comm is still
  # "services.sh" or "setsid", and reading it that early made CI report a healthy broker as dead.
  local i pid
  pid="$(cat "$MQTT_PID")"
  for i in $(seq 1 50); do
    port_open "$MQTT_PORT" && return 0
    kill -0 "$pid" 2>/dev/null || die "mosquitto exited; see $MQTT_DIR/mosquitto.log: $(tail -n 5 "$MQTT_DIR/mosquitto.log" 2>/dev/null)"
    sleep 0.2
  done
  die "mosquitto not accepting connections on $MQTT_PORT"
}

up() {
  ensure_packages
  pg_up
  mqtt_up
  echo "DATABASE_URL=$DATABASE_URL"
  echo "MQTT_URL=$MQTT_URL"
  # A broker started by an older copy of this script has no admin account (and lets anyone in).
  if [[ -s "$MQTT_ADMIN_FILE" ]]; then
    echo "MQTT_ADMIN=$MQTT_ADMIN_USER:$(cat "$MQTT_ADMIN_FILE")"
  else
    log "warning: mosquitto on $MQTT_PORT was started without accounts; restart it (down, up) to enable them"
  fi
}

down() {
  local bin pid
  bin="$(pg_bindir)"
  if [[ -n "$bin" ]] && pg_running; then
    log "stopping postgres"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >&2
  fi
  if pid="$(mqtt_pid)"; then
    log "stopping mosquitto (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$MQTT_PID"
}

status() {
  local rc=0
  if [[ -n "$(pg_bindir)" ]] && pg_running; then
    echo "postgres: running on 127.0.0.1:$PG_PORT ($PG_DATA)  DATABASE_URL=$DATABASE_URL"
  else
    echo "postgres: stopped"
    rc=3
  fi
  if mqtt_pid >/dev/null; then
    echo "mosquitto: running on 127.0.0.1:$MQTT_PORT (pid $(mqtt_pid))  MQTT_URL=$MQTT_URL"
  else
    echo "mosquitto: stopped"
    rc=3
  fi
  return "$rc"
}

case "${1:-up}" in
up) up ;;
down) down ;;
status) status ;;
*) die "usage: $0 [up|down|status]" ;;
esac
