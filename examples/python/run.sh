#!/usr/bin/env bash
# Runs the Python example client against a running server: makes a venv, installs the pinned
# packages, generates the stubs from proto/ and runs client.py.
#
#   examples/python/run.sh [ADDRESS]        # default 127.0.0.1:50051 (or PHONE_AUTH_ADDR)
#
# The venv and the generated code live in PYTHON_EXAMPLE_BUILD (default examples/python/.build,
# git-ignored); the stubs are regenerated on every run so they always match the proto.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${PYTHON_EXAMPLE_BUILD:-$here/.build}"
venv="$build/venv"
gen="$build/gen"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

rm -rf "$gen"
mkdir -p "$gen"
"$venv/bin/python" -m grpc_tools.protoc -I "$root/proto" \
  --python_out="$gen" --grpc_python_out="$gen" \
  "$root/proto/phoneauth/v1/auth.proto"

PYTHONPATH="$gen" exec "$venv/bin/python" "$here/client.py" "$@"
