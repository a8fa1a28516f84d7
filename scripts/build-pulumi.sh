#!/usr/bin/env bash
# Builds the Pulumi CLI from the Go module proxy at the version that matches the
# pinned @pulumi/pulumi npm package, into a git-ignored folder that is reused
# between runs. Used when no `pulumi` is on PATH (offline machines, CI).
#
# Why a throwaway module: `go install .../pkg/v3/cmd/pulumi@vX` is refused because
# pkg/go.mod carries `replace` directives. A module that requires pkg/v3 and sdk/v3
# at the same version, with the non-local replace lines copied, builds the same binary.
#
# pulumi-language-nodejs is NOT built: the module proxy refuses every version of
# github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 (403). pgshift's
# tests, demo and example drive Pulumi through inline Automation API programs, which
# serve the language runtime from the Node.js process itself (runtime "client"),
# so the CLI never needs that plugin. The dynamic-provider plugin
# pulumi-resource-pulumi-nodejs ships inside the @pulumi/pulumi npm package.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=${PULUMI_VERSION:-$(node -p "require('$root/node_modules/@pulumi/pulumi/package.json').version" 2>/dev/null || true)}
if [ -z "$version" ]; then
  version=$(node -p "require('$root/package.json').dependencies['@pulumi/pulumi'].replace(/^[~^]/, '')")
fi
out=${PGSHIFT_PULUMI_DIR:-$root/.pulumi-cli}/v$version
bin=$out/bin/pulumi

if [ -x "$bin" ] && "$bin" version >/dev/null 2>&1; then
  echo "$out/bin"
  exit 0
fi

command -v go >/dev/null || { echo "build-pulumi: Go is needed to build the Pulumi CLI (none on PATH)" >&2; exit 1; }

work=$out/module
mkdir -p "$work" "$out/bin"
cat > "$work/go.mod" <<MOD
module pgshift.local/pulumi-cli

go 1.25

require (
	github.com/pulumi/pulumi/pkg/v3 v$version
	github.com/pulumi/pulumi/sdk/v3 v$version
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
cat > "$work/tools.go" <<'GO'
//go:build tools

// Package tools only pins the CLI's main package so `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO

cd "$work"
echo "build-pulumi: resolving modules for Pulumi v$version (first run takes several minutes)" >&2
GOFLAGS=-mod=mod go mod tidy >&2
echo "build-pulumi: compiling pulumi v$version" >&2
go build -trimpath -o "$bin" \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
"$bin" version >&2
echo "$out/bin"
