#!/usr/bin/env bash
# Makes the embedded default model mnist-cnn-cacheai (server resources, served first by
# `cacheai serve`): the MNIST CNN with its 800->120 layer as 4-bit lookup tables (>= 10x smaller
# than that layer in fp32), the other layers int8. Tables built on 3 000 training images, the last
# table layer and the layers after it fine-tuned on all 60 000 (keys fixed); the test set is never
# seen. Deterministic for the seed: running it again gives the same bytes.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
"$root/tools/mnist/fetch-train.sh"
models="$root/server/src/main/resources/io/cacheai/models"
mkdir -p "$models/mnist-cnn-cacheai/1"
"$root/cacheai" compress "$models/mnist-cnn/1/model.onnx" \
  --calibration "$root/tools/mnist/train-data/train-images-idx3-ubyte" \
  --samples 3000 --lut-finetune-samples 60000 \
  --method cacheai --lut-table-bits 4 --lut-rest int8 --seed 1 \
  --out "$models/mnist-cnn-cacheai/1/model.cai"
"$root/cacheai" eval "$models/mnist-cnn-cacheai/1/model.cai" \
  --data "$root/tools/mnist/data/t10k-images-idx3-ubyte.gz" --reference "$models/mnist-cnn/1/model.onnx"
