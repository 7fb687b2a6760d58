#!/usr/bin/env bash
# The project's Python environment in .venv, installed from constraints.txt (exact versions).
# Reinstalls only when pyproject.toml or constraints.txt changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
stamp=.venv/.installed
want=$(cat pyproject.toml constraints.txt | md5sum | cut -c1-32)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    say "installing python3-venv"
    sudo=()
    is_root || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq python3-venv >/dev/null
fi
say "installing the Python project into .venv (pinned by constraints.txt)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
printf '%s\n' "$want" >"$stamp"
