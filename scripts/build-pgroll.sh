#!/usr/bin/env bash
# Builds pgroll (xataio/pgroll) from the Go module proxy for `npm run bench`, which runs the
# same column type change through pgroll side by side with pgshift. Prints the bin directory.
#
# Why a throwaway module: `go install github.com/xataio/pgroll@v0.16.2` is refused for its
# version list, but a module that requires it and `go build`s its main package works (cgo:
# pgroll links libpg_query, so gcc is needed). Built once into a git-ignored folder
# (PGSHIFT_PGROLL_DIR, default .work/pgroll) and reused.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=${PGROLL_VERSION:-0.16.2}
out=${PGSHIFT_PGROLL_DIR:-$root/.work/pgroll}/v$version
bin=$out/bin/pgroll

if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  echo "$out/bin"
  exit 0
fi

command -v go >/dev/null || { echo "build-pgroll: Go is needed to build pgroll (none on PATH)" >&2; exit 1; }
command -v gcc >/dev/null || { echo "build-pgroll: gcc is needed (pgroll uses cgo)" >&2; exit 1; }

work=$out/module
mkdir -p "$work" "$out/bin"
cat > "$work/go.mod" <<MOD
module pgshift.local/pgroll-cli

go 1.24

require github.com/xataio/pgroll v$version
MOD
cat > "$work/tools.go" <<'GO'
//go:build tools

// Package tools only pins pgroll's main package so `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/xataio/pgroll"
GO

cd "$work"
echo "build-pgroll: resolving modules for pgroll v$version" >&2
GOFLAGS=-mod=mod go mod tidy >&2
echo "build-pgroll: compiling pgroll v$version (cgo)" >&2
CGO_ENABLED=1 go build -trimpath -o "$bin" github.com/xataio/pgroll >&2
"$bin" --version >&2
echo "$out/bin"
