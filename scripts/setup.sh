#!/usr/bin/env bash
# Provision Ferry's tool binaries (idempotent). Builds with `go install` from the Go module proxy and caches
# them outside the checkout in $FERRY_TOOLS_DIR (default ~/.cache/ferry/tools/<name>-<version>/), so fresh
# clones on the same machine reuse them. Re-running skips what is already built.
#
# Usage: scripts/setup.sh [--with-bench] [--only NAME ...]
#   --with-bench  also builds rclone, the benchmark peer
#   --only NAME   builds only the named tools (e.g. --only temporal for the demo)
set -euo pipefail

CACHE="${FERRY_TOOLS_DIR:-$HOME/.cache/ferry/tools}"
export CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local
WITH_BENCH=0
ONLY=()
while [ $# -gt 0 ]; do
  case "$1" in
    --with-bench) WITH_BENCH=1 ;;
    --only) shift; [ $# -gt 0 ] || { echo "setup: --only needs a tool name" >&2; exit 2; }; ONLY+=("$1") ;;
    *) echo "setup: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[setup] %s\n' "$*"; }

have_go=1
if ! command -v go >/dev/null 2>&1; then
  have_go=0
  log "Go is not installed: cannot build temporal, minio, versitygw, toxiproxy or temporal-server from the Go module proxy."
  log "Install Go >= 1.25 (https://go.dev/dl/ or 'apt-get install golang') and re-run 'npm run setup'."
  log "Fallback for the Temporal CLI only: @temporalio/testing downloads its dev server when online (FERRY_TEMPORAL_DOWNLOAD=1)."
fi

# build NAME VERSION MODULE [LDFLAGS] [BINARY-NAME-PRODUCED]
build() {
  local name=$1 version=$2 module=$3 ldflags=${4:-} produced=${5:-$1}
  if [ ${#ONLY[@]} -gt 0 ] && [[ " ${ONLY[*]} " != *" $name "* ]]; then return 0; fi
  local dir="$CACHE/$name-$version"
  if [ -x "$dir/$name" ]; then log "$name $version: cached at $dir/$name"; return 0; fi
  if [ "$have_go" = 0 ]; then log "$name $version: SKIPPED (no Go)"; return 0; fi
  mkdir -p "$dir"
  local start=$SECONDS flags=()
  [ -n "$ldflags" ] && flags=(-ldflags "$ldflags")
  log "$name $version: building $module@$version ..."
  local tmp; tmp=$(mktemp -d "$dir/.build.XXXXXX")
  if ! GOBIN="$tmp" go install "${flags[@]}" "$module@$version"; then
    rm -rf "$tmp"; log "$name $version: BUILD FAILED"; return 1
  fi
  mv "$tmp/$produced" "$dir/$name"; rm -rf "$tmp"
  log "$name $version: built in $((SECONDS - start))s -> $dir/$name"
}

status=0
build temporal  v1.5.1 github.com/temporalio/cli/cmd/temporal "-X github.com/temporalio/cli/temporalcli.Version=1.5.1" || status=1
build minio     v0.0.0-20260212201848-7aac2a2c5b7c github.com/minio/minio || status=1
build versitygw v1.7.0 github.com/versity/versitygw/cmd/versitygw || status=1
build toxiproxy-server v2.12.0 github.com/Shopify/toxiproxy/v2/cmd/server "" server || status=1
# The full Temporal server and its schema tool (PostgreSQL persistence; test/e2e/full-server.test.ts).
build temporal-server   v1.29.1 go.temporal.io/server/cmd/server    "" server || status=1
build temporal-sql-tool v1.29.1 go.temporal.io/server/cmd/tools/sql "" sql    || status=1
# moto (AWS semantics for archive classes, restore, versions, tagging, SSE): a virtualenv from PyPI.
moto() {
  local version=5.2.6 dir="$CACHE/moto-5.2.6"
  if [ ${#ONLY[@]} -gt 0 ] && [[ " ${ONLY[*]} " != *" moto "* ]]; then return 0; fi
  if [ -f "$dir/.installed" ]; then log "moto $version: cached at $dir/bin/moto_server"; return 0; fi
  if ! command -v python3 >/dev/null 2>&1; then log "moto $version: SKIPPED (no python3)"; return 0; fi
  local start=$SECONDS
  log "moto $version: installing moto[server]==$version into a virtualenv ..."
  rm -rf "$dir"
  # A virtualenv cannot be moved after it is made (its scripts name its path): built in place, marked when whole.
  if ! { python3 -m venv "$dir" && "$dir/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$version"; }; then
    rm -rf "$dir"; log "moto $version: INSTALL FAILED (python3-venv and PyPI needed)"; return 1
  fi
  touch "$dir/.installed"
  log "moto $version: installed in $((SECONDS - start))s -> $dir/bin/moto_server"
}
moto || status=1
if [ "$WITH_BENCH" = 1 ]; then
  build rclone v1.75.0 github.com/rclone/rclone || status=1
fi
exit $status
