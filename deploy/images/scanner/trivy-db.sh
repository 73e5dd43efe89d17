#!/bin/sh
# trivy-db: keeps trivy's vulnerability DB for the fleetscan scanner under $TRIVY_DB_ROOT.
#
#   trivy-db once      download a DB; if that fails keep the one already there; fail if there is none
#   trivy-db refresh   download a fresh DB every $TRIVY_DB_REFRESH_SECONDS, until stopped
#
# Every download goes into a new directory $TRIVY_DB_ROOT/db-<time>-<pid>. Once it is complete, the
# symlink $TRIVY_DB_ROOT/current (the scanner's TRIVY_CACHE_DIR) is switched to it with a single
# rename(2), so a trivy run sees the old DB or the new one, never half of each. The previous generation
# is kept (a scan may still be reading it); older ones are removed.
#
# Environment: TRIVY_DB_ROOT (default /var/cache/trivy), TRIVY_DB_REPOSITORIES (comma-separated OCI
# repositories, tried in order), TRIVY_DB_REFRESH_SECONDS (default 43200), TRIVY_BIN (default trivy).
set -eu

root=${TRIVY_DB_ROOT:-/var/cache/trivy}
repos=${TRIVY_DB_REPOSITORIES:-mirror.gcr.io/aquasec/trivy-db:2,ghcr.io/aquasecurity/trivy-db:2}
interval=${TRIVY_DB_REFRESH_SECONDS:-43200}
trivy=${TRIVY_BIN:-trivy}

log() { printf '%s trivy-db: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

has_db() { [ -s "$1/db/trivy.db" ] && [ -s "$1/db/metadata.json" ]; }

download() {
  gen="db-$(date -u +%Y%m%d%H%M%S)-$$"
  mkdir -p "$root/$gen"
  log "downloading from $repos into $root/$gen"
  if ! "$trivy" image --download-db-only --no-progress --skip-version-check --disable-telemetry \
    --cache-dir "$root/$gen" --db-repository "$repos" >&2 || ! has_db "$root/$gen"; then
    rm -rf "${root:?}/$gen"
    return 1
  fi
  previous=$(readlink "$root/current" 2>/dev/null || true)
  ln -s "$gen" "$root/.current.$$"
  # rename(2) replaces the old symlink atomically; mv would move the link into the directory it names.
  node -e 'require("node:fs").renameSync(process.argv[1], process.argv[2])' "$root/.current.$$" "$root/current"
  log "current DB is now $gen ($(sed -n 's/.*"UpdatedAt": *"\([^"]*\)".*/\1/p' "$root/$gen/db/metadata.json"))"
  for d in "$root"/db-*; do
    name=${d##*/}
    if [ -d "$d" ] && [ "$name" != "$gen" ] && [ "$name" != "$previous" ]; then rm -rf "$d"; fi
  done
}

case ${1:-} in
  once)
    mkdir -p "$root"
    if download; then exit 0; fi
    if has_db "$root/current"; then
      log "download failed; keeping $(readlink "$root/current")"
      exit 0
    fi
    log "download failed and there is no DB to keep"
    exit 1
    ;;
  refresh)
    trap 'exit 0' TERM INT
    while :; do
      sleep "$interval" &
      wait $!
      download || log "refresh failed; keeping $(readlink "$root/current" 2>/dev/null || echo 'no DB')"
    done
    ;;
  *)
    echo "usage: trivy-db once|refresh" >&2
    exit 2
    ;;
esac
