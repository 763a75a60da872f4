#!/usr/bin/env bash
# Generates the Python messages and gRPC stubs of the Open Inference Protocol (KServe v2) from the
# repository's own proto into ./generated (gitignored). Needs grpcio-tools (requirements.txt).
# PYTHON selects the interpreter, e.g. PYTHON=.venv/bin/python ./generate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
proto_dir="$root/proto/src/main/proto"
out="$here/generated"
rm -rf "$out"
mkdir -p "$out"
"${PYTHON:-python3}" -m grpc_tools.protoc \
  -I "$proto_dir" \
  --python_out="$out" \
  --pyi_out="$out" \
  --grpc_python_out="$out" \
  inference/grpc_service.proto
echo "generated: $(cd "$out" && find . -name '*.py' | sort | tr '\n' ' ')"
