#!/usr/bin/env python3
"""ONNX Runtime's own post-training static int8 quantization, as the peer of `cacheai compress`.

Quantizes an fp32 ONNX model with onnxruntime.quantization.quantize_static on the SAME calibration
samples cacheai used, read from a raw tensor file in cacheai's CAIT format (what the Java peer test
writes from the MNIST IDX file or the image folder):

    0   4    magic "CAIT"
    4   4    rank r (int32), dims[0] = number of samples
    8   8r   dims (int64)
    ..  4*prod(dims)  fp32 values, row-major, little-endian
    ..  4*dims[0]     optional int32 labels (ignored here)

The recipe mirrors cacheai's int8: per-output-channel symmetric int8 weights, per-tensor asymmetric
u8 activations, QDQ format (ORT fuses it into QLinearConv / QLinearMatMul kernels), calibration
method MinMax or Percentile (99.99, like cacheai's default). Weights held in Constant nodes (as
PaddlePaddle exports them) are moved into initializers first, or quantize_static would leave them
fp32; models below opset 13 (PP-OCRv4 rec is opset 12) are converted to opset 13, which
per-channel QDQ (DequantizeLinear with an axis) needs.

Usage: ort_quantize_static.py MODEL.onnx CALIBRATION.cait OUT.onnx [--method minmax|percentile]
       [--samples N] [--op-types Conv,MatMul,Gemm]
Needs: pip install -r tools/quant/requirements.txt (onnx, onnxruntime, numpy).
"""
import argparse
import struct
import sys
import tempfile
import os

import numpy as np
import onnx
from onnx import version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)

MAGIC = b"CAIT"


def constants_to_initializers(model):
    """Moves Constant nodes' tensors into graph initializers, where quantize_static looks for weights
    (PaddlePaddle's exporter, e.g. PP-OCRv4 rec, stores every weight in a Constant node)."""
    graph = model.graph
    kept = []
    moved = 0
    for node in graph.node:
        value = [a for a in node.attribute if a.name == "value" and a.type == onnx.AttributeProto.TENSOR]
        if node.op_type == "Constant" and value:
            tensor = onnx.TensorProto()
            tensor.CopyFrom(value[0].t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
            moved += 1
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    return moved


def read_cait(path):
    """The samples of a CAIT file as a float32 array [count, ...]."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or data[:4] != MAGIC:
        sys.exit(f"calibration={path}: not a CAIT file (magic {data[:4]!r})")
    (rank,) = struct.unpack_from("<i", data, 4)
    if not 1 <= rank <= 8:
        sys.exit(f"calibration={path}: rank={rank} (1..8)")
    dims = struct.unpack_from(f"<{rank}q", data, 8)
    count = int(np.prod(dims))
    start = 8 + 8 * rank
    if len(data) < start + 4 * count:
        sys.exit(f"calibration={path}: {len(data)} bytes, header promises {start + 4 * count}")
    return np.frombuffer(data, dtype="<f4", count=count, offset=start).reshape(dims)


class CaitReader(CalibrationDataReader):
    """Feeds one sample at a time, batch axis restored."""

    def __init__(self, input_name, samples):
        self.input_name = input_name
        self.samples = samples
        self.index = 0

    def get_next(self):
        if self.index >= len(self.samples):
            return None
        sample = self.samples[self.index][np.newaxis, ...].astype(np.float32)
        self.index += 1
        return {self.input_name: sample}

    def rewind(self):
        self.index = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("calibration")
    parser.add_argument("out")
    parser.add_argument("--method", choices=["minmax", "percentile"], default="percentile")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--op-types", default="Conv,MatMul,Gemm")
    args = parser.parse_args()

    samples = read_cait(args.calibration)[: args.samples]
    model = onnx.load(args.model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    source = args.model
    tmp = None
    moved = constants_to_initializers(model)
    if opset < 13:
        model = version_converter.convert_version(model, 13)
    if moved or opset < 13:
        tmp = tempfile.NamedTemporaryFile(suffix=".onnx", delete=False)
        tmp.close()
        onnx.save(model, tmp.name)
        source = tmp.name
    input_name = model.graph.input[0].name
    method = CalibrationMethod.MinMax if args.method == "minmax" else CalibrationMethod.Percentile
    extra = {"CalibPercentile": 99.99} if args.method == "percentile" else {}
    try:
        quantize_static(
            source,
            args.out,
            CaitReader(input_name, samples),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=args.op_types.split(","),
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=method,
            extra_options=extra,
        )
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    print(
        f"ort_quantize_static: {args.model} -> {args.out} ({os.path.getsize(args.out)} bytes),"
        f" {len(samples)} samples, {args.method}, opset {opset}"
    )


if __name__ == "__main__":
    main()
