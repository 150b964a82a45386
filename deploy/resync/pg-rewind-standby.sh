#!/bin/sh
# pg-rewind-standby.sh: make this host's PostgreSQL a streaming standby of the current primary,
# as dr-bot's failback needs (components.postgres.resync.command). Runs ON THE DATABASE HOST, as
# the OS user that owns the data directory (postgres), with its own database identity (dr_resync,
# see resync-role.sql), never the bot's. Steps: check the source, stop this server, pg_rewind
# from the source (or, when told to rebuild, replace the data directory with a pg_basebackup),
# write standby.signal and primary_conninfo, start, wait until the WAL receiver streams.
#
# Method: the first argument, else SSH_ORIGINAL_COMMAND (an ssh forced command), else
# DR_RESYNC_METHOD (set by the bot), else auto:
#   rewind   pg_rewind only; exit 4 when it fails (the bot then runs the script with rebuild)
#   rebuild  pg_basebackup into the emptied data directory
#   auto     rewind, and rebuild when the rewind fails (for a person running it by hand)
#
# Settings: environment variables, or a file of them (sh syntax) named by RESYNC_ENV_FILE
# (default /etc/dr-bot/resync.env, read when it exists):
#   PGDATA                required  this server's data directory
#   SOURCE_CONNINFO       required  libpq key=value string of the current primary for the resync
#                                   identity, e.g. "host=db-b.internal user=dr_resync dbname=postgres"
#                                   (password in ~/.pgpass)
#   PGBIN                 optional  absolute directory of pg_ctl, pg_rewind, pg_basebackup, psql
#                                   (default: PATH)
#   PRIMARY_CONNINFO      optional  what the standby streams with (default: SOURCE_CONNINFO)
#   PRIMARY_SLOT_NAME     optional  a physical slot on the source to stream from (created if missing)
#   LOCAL_CONNINFO        optional  this server, to see it stream (default: dbname=postgres, the
#                                   local socket as the OS user)
#   PG_CTL_OPTIONS        optional  server options for `pg_ctl start -o` (e.g. "-p 5433")
#   START_COMMAND         optional  starts the server instead of pg_ctl (e.g. systemctl start ...)
#   STOP_COMMAND          optional  stops it instead of pg_ctl stop -m fast
#   KEEP_FILES            optional  this host's files kept across the copy (default:
#                                   "postgresql.conf pg_hba.conf pg_ident.conf postgresql.auto.conf")
#   STANDBY_WAIT_SECONDS  optional  how long to wait for streaming after the start (default 300)
#
# Exit codes (the bot reads the code and the last lines of output):
#   0  this server streams from the source (or already did)
#   2  bad settings or input: nothing was changed
#   3  refused or the source is unreachable: nothing was changed
#   4  pg_rewind failed: the server is stopped; run again with rebuild
#   5  stopping the server or pg_basebackup failed: the server is stopped
#   6  the server did not start (see its log)
#   7  started, but not streaming within STANDBY_WAIT_SECONDS
set -u

log() { printf '%s pg-rewind-standby: %s\n' "$(date -u +%H:%M:%SZ)" "$*"; }
fail() {
  code=$1
  shift
  log "FAILED (exit $code): $*"
  exit "$code"
}

env_file=${RESYNC_ENV_FILE:-/etc/dr-bot/resync.env}
if [ -r "$env_file" ]; then
  # shellcheck disable=SC1090
  . "$env_file"
elif [ -n "${RESYNC_ENV_FILE:-}" ]; then
  fail 2 "RESYNC_ENV_FILE=$RESYNC_ENV_FILE cannot be read"
fi

method=${1:-${SSH_ORIGINAL_COMMAND:-${DR_RESYNC_METHOD:-auto}}}
case $method in
  rewind | rebuild | auto) ;;
  *) fail 2 "method must be rewind, rebuild or auto, got \"$method\"" ;;
esac
[ -n "${PGDATA:-}" ] || fail 2 "PGDATA is not set: this server's data directory"
[ -n "${SOURCE_CONNINFO:-}" ] || fail 2 "SOURCE_CONNINFO is not set: the current primary (host=... user=dr_resync dbname=postgres)"
case $SOURCE_CONNINFO in
  *://*) fail 2 "SOURCE_CONNINFO must be key=value (host=... user=...), not a URI: replication=true is appended to it" ;;
esac
bin() { if [ -n "${PGBIN:-}" ]; then printf '%s/%s' "$PGBIN" "$1"; else printf '%s' "$1"; fi; }
for tool in pg_ctl pg_rewind pg_basebackup pg_controldata psql; do
  command -v "$(bin $tool)" >/dev/null 2>&1 || fail 2 "$(bin $tool) not found: set PGBIN"
done
case $PGDATA in
  /?*) ;;
  *) fail 2 "PGDATA must be an absolute path below /, got \"$PGDATA\"" ;;
esac
case ${PGBIN:-/} in
  /*) ;;
  *) fail 2 "PGBIN must be an absolute path, got \"$PGBIN\"" ;;
esac
# Run from /: psql warns on stderr in a directory this user cannot read (sudo -u postgres from
# /root), and that warning would be read as the answer of the checks below.
cd / || fail 2 "cannot change to /"
# A rebuild empties PGDATA: only a data directory, or an empty or missing one, is ever emptied.
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  [ "$method" = rebuild ] ||
    fail 2 "$PGDATA is not a PostgreSQL data directory (no PG_VERSION); a rebuild would create one"
  [ ! -d "$PGDATA" ] || [ -z "$(ls -A "$PGDATA")" ] ||
    fail 2 "$PGDATA holds files but no PG_VERSION: not emptying what is not a data directory"
fi
if [ -d "$PGDATA/pg_tblspc" ] && [ -n "$(ls -A "$PGDATA/pg_tblspc")" ]; then
  fail 2 "$PGDATA has tablespaces (pg_tblspc): this script does not map them; resync by hand"
fi
primary_conninfo=${PRIMARY_CONNINFO:-$SOURCE_CONNINFO}
local_conninfo=${LOCAL_CONNINFO:-dbname=postgres}
wait_seconds=${STANDBY_WAIT_SECONDS:-300}
keep_files=${KEEP_FILES:-postgresql.conf pg_hba.conf pg_ident.conf postgresql.auto.conf}

q() { "$(bin psql)" -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }
control() { "$(bin pg_controldata)" -D "$PGDATA" 2>/dev/null | sed -n "s/^$1: *//p"; }

# The source: a writer of the same cluster, on a later timeline than this server (it was promoted
# from it). Anything else means a wrong host or a wrong direction: refuse before touching anything.
in_recovery=$(q "$SOURCE_CONNINFO" 'SELECT pg_is_in_recovery()') ||
  fail 3 "cannot reach the source ($in_recovery)"
[ "$in_recovery" = f ] || fail 3 "the source is in recovery: it is not the primary to follow"
ident=$(q "$SOURCE_CONNINFO replication=true" 'IDENTIFY_SYSTEM') ||
  fail 3 "IDENTIFY_SYSTEM on the source failed; the resync role needs REPLICATION and a replication line in pg_hba.conf ($ident)"
source_id=$(printf '%s' "$ident" | cut -d'|' -f1)
source_tl=$(printf '%s' "$ident" | cut -d'|' -f2)
local_id=$(control 'Database system identifier')
local_tl=$(control "Latest checkpoint's TimeLineID")
if [ -n "$local_id" ]; then
  [ "$local_id" = "$source_id" ] ||
    fail 3 "the source is another cluster (system identifier $source_id, this server $local_id)"
  state=$(control 'Database cluster state')
  case $state in
    "in archive recovery" | "shut down in recovery") ;;
    *)
      [ "$source_tl" -gt "$local_tl" ] ||
        fail 3 "the source is on timeline $source_tl, this server on $local_tl: the source was not promoted after it (wrong host or direction?)"
      ;;
  esac
elif [ "$method" != rebuild ]; then
  fail 2 "pg_controldata cannot read $PGDATA: only a rebuild can help (method rebuild)"
fi

running() { "$(bin pg_ctl)" status -D "$PGDATA" >/dev/null 2>&1; }
if running && [ "$(q "$local_conninfo" "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')")" = t ]; then
  log "done: already a streaming standby; nothing changed"
  exit 0
fi

log "source: system $source_id, timeline $source_tl; this server: timeline ${local_tl:-unknown}; method $method"
# Without a checkpoint on the source its control file may still show the old timeline, and
# pg_rewind then finds nothing to do. The bot runs one too; without pg_checkpoint this only warns.
out=$(q "$SOURCE_CONNINFO" 'CHECKPOINT') || log "warning: CHECKPOINT on the source failed ($out)"
if [ -n "${PRIMARY_SLOT_NAME:-}" ]; then
  out=$(q "$SOURCE_CONNINFO" "SELECT pg_create_physical_replication_slot('$PRIMARY_SLOT_NAME', true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$PRIMARY_SLOT_NAME')") ||
    fail 3 "creating slot $PRIMARY_SLOT_NAME on the source failed ($out)"
fi

if running; then
  log "stopping the server"
  if [ -n "${STOP_COMMAND:-}" ]; then
    sh -c "$STOP_COMMAND" || fail 5 "STOP_COMMAND failed"
  else
    "$(bin pg_ctl)" stop -D "$PGDATA" -m fast -w -t 120 || fail 5 "pg_ctl stop failed"
  fi
fi

# This host's own configuration survives the copy (pg_rewind and pg_basebackup bring the source's).
saved=$(mktemp -d) || fail 5 "mktemp failed"
trap 'rm -rf "$saved"' EXIT
for f in $keep_files; do [ -f "$PGDATA/$f" ] && cp -p "$PGDATA/$f" "$saved/$f"; done

# Each tool's output goes to a file and only its last lines to ours: the bot keeps the last ten.
tool_out() { rc=$1; tail -n 5 "$saved/.out"; return "$rc"; }
rewind() {
  log "pg_rewind from the source"
  "$(bin pg_rewind)" -D "$PGDATA" --source-server="$SOURCE_CONNINFO" >"$saved/.out" 2>&1
  tool_out $?
}
rebuild() {
  log "pg_basebackup from the source into the emptied $PGDATA"
  find "$PGDATA" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null
  mkdir -p "$PGDATA" && chmod 700 "$PGDATA" || return 1
  "$(bin pg_basebackup)" -D "$PGDATA" -d "$SOURCE_CONNINFO" -X stream -c fast \
    ${PRIMARY_SLOT_NAME:+-S "$PRIMARY_SLOT_NAME"} >"$saved/.out" 2>&1
  tool_out $?
}
did=$method
case $method in
  rewind) rewind || fail 4 "pg_rewind failed; the server is stopped: run again with rebuild" ;;
  rebuild) rebuild || fail 5 "pg_basebackup failed; the server is stopped and $PGDATA incomplete" ;;
  auto)
    did=rewind
    if ! rewind; then
      log "pg_rewind failed: rebuilding with pg_basebackup"
      did=rebuild
      rebuild || fail 5 "pg_basebackup failed; the server is stopped and $PGDATA incomplete"
    fi
    ;;
esac

for f in $keep_files; do [ -f "$saved/$f" ] && cp -p "$saved/$f" "$PGDATA/$f"; done
rm -f "$PGDATA/recovery.signal"
touch "$PGDATA/standby.signal"
esc() { printf '%s' "$1" | sed "s/'/''/g"; }
# Appended: the last setting in postgresql.auto.conf wins over a copied one naming another server.
{
  printf "primary_conninfo = '%s'\n" "$(esc "$primary_conninfo")"
  printf "primary_slot_name = '%s'\n" "$(esc "${PRIMARY_SLOT_NAME:-}")"
} >>"$PGDATA/postgresql.auto.conf"

log "starting the server as a standby"
if [ -n "${START_COMMAND:-}" ]; then
  sh -c "$START_COMMAND" || fail 6 "START_COMMAND failed"
else
  "$(bin pg_ctl)" start -D "$PGDATA" -w -t 120 -l "$PGDATA/pg-rewind-standby.log" \
    ${PG_CTL_OPTIONS:+-o "$PG_CTL_OPTIONS"} >/dev/null ||
    fail 6 "pg_ctl start failed; see $PGDATA/pg-rewind-standby.log"
fi

deadline=$(($(date +%s) + wait_seconds))
while :; do
  status=$(q "$local_conninfo" "SELECT pg_is_in_recovery()::text || ' ' || coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')")
  [ "$status" = "true streaming" ] && break
  [ "$(date +%s)" -lt "$deadline" ] ||
    fail 7 "not streaming after ${wait_seconds} s (recovery, receiver: $status); see the server log"
  sleep 1
done
log "done: $([ "$did" = rewind ] && echo rewound with pg_rewind || echo rebuilt with pg_basebackup), streaming from the source (timeline $source_tl)"
