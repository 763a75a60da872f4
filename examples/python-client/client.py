#!/usr/bin/env python3
"""A Python client of cacheai over the Open Inference Protocol (KServe v2) gRPC API.

Checks what any v2 client relies on: readiness, model metadata, and ModelInfer with the elements
sent both as typed contents (fp32_contents) and as raw little-endian bytes (raw_input_contents),
on real MNIST test digits. Exits 0 when the accuracy on them is at least --min-accuracy and both
encodings give identical logits, 1 otherwise (2 for usage/setup problems).

Run ./generate.sh first: the stubs come from the repository's own proto.
"""

import argparse
import gzip
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "generated"))

try:
    import grpc
    import numpy as np
    from inference import grpc_service_pb2 as pb
    from inference import grpc_service_pb2_grpc as pb_grpc
except ImportError as e:  # pragma: no cover - setup problem, not a client failure
    sys.stderr.write(
        f"client.py: {e}\n"
        "  install the requirements (pip install -r requirements.txt) and run ./generate.sh\n"
    )
    sys.exit(2)

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
DEFAULT_DATA_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "tools", "mnist", "data"))


def read_images(path, count):
    """The first `count` images of a gzip IDX file as float32 pixel/255, shape [count, 28, 28]."""
    with gzip.open(path, "rb") as f:
        magic, total, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != IMAGES_MAGIC or total < count:
            raise ValueError(f"{path}: magic=0x{magic:08x} count={total}, wanted images >= {count}")
        pixels = np.frombuffer(f.read(count * rows * cols), dtype=np.uint8)
    return (pixels.astype(np.float32) / 255.0).reshape(count, rows, cols)


def read_labels(path, count):
    """The first `count` labels of a gzip IDX file."""
    with gzip.open(path, "rb") as f:
        magic, total = struct.unpack(">II", f.read(8))
        if magic != LABELS_MAGIC or total < count:
            raise ValueError(f"{path}: magic=0x{magic:08x} count={total}, wanted labels >= {count}")
        return np.frombuffer(f.read(count), dtype=np.uint8).astype(np.int64)


def output_array(response, name):
    """Output `name` of a ModelInferResponse as a numpy array, from raw or typed contents."""
    for i, out in enumerate(response.outputs):
        if out.name != name:
            continue
        if out.datatype != "FP32":
            raise ValueError(f"output '{name}': datatype {out.datatype}, expected FP32")
        shape = tuple(out.shape)
        if response.raw_output_contents:
            values = np.frombuffer(response.raw_output_contents[i], dtype="<f4")
        else:
            values = np.asarray(out.contents.fp32_contents, dtype=np.float32)
        if values.size != int(np.prod(shape)):
            raise ValueError(f"output '{name}': {values.size} elements for shape {list(shape)}")
        return values.reshape(shape)
    names = [o.name for o in response.outputs]
    raise ValueError(f"output '{name}' not in response; outputs={names}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:8001", help="host:port of the gRPC server")
    parser.add_argument("--model", default="mnist-cnn", help="model name (mnist-cnn or mnist-mlp)")
    parser.add_argument("--count", type=int, default=16, help="how many test digits to send")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="dir of t10k-*-ubyte.gz")
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline per call, seconds")
    parser.add_argument("--min-accuracy", type=float, default=0.9, help="fail below this accuracy")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")

    images = read_images(os.path.join(args.data_dir, "t10k-images-idx3-ubyte.gz"), args.count)
    labels = read_labels(os.path.join(args.data_dir, "t10k-labels-idx1-ubyte.gz"), args.count)

    with grpc.insecure_channel(args.target) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        try:
            ready = stub.ServerReady(pb.ServerReadyRequest(), timeout=args.timeout).ready
            print(f"server {args.target}: ready={ready}")
            if not ready:
                return 1
            meta = stub.ModelMetadata(
                pb.ModelMetadataRequest(name=args.model), timeout=args.timeout
            )
            for t in meta.inputs:
                print(f"  input  {t.name} {t.datatype} {list(t.shape)}")
            for t in meta.outputs:
                print(f"  output {t.name} {t.datatype} {list(t.shape)}")
            if len(meta.inputs) != 1 or meta.inputs[0].datatype != "FP32":
                print(f"model {args.model}: expected one FP32 input", file=sys.stderr)
                return 1
            input_meta, output_name = meta.inputs[0], meta.outputs[0].name
            # The model's shape with its -1 batch dimension set to the number of digits.
            shape = [args.count if d == -1 else d for d in input_meta.shape]
            batch = images.reshape(shape)

            typed = pb.ModelInferRequest(model_name=args.model, id="python-typed")
            tensor = typed.inputs.add(name=input_meta.name, datatype="FP32", shape=shape)
            tensor.contents.fp32_contents.extend(batch.ravel().tolist())

            raw = pb.ModelInferRequest(model_name=args.model, id="python-raw")
            raw.inputs.add(name=input_meta.name, datatype="FP32", shape=shape)
            raw.raw_input_contents.append(batch.astype("<f4").tobytes())

            typed_logits = output_array(stub.ModelInfer(typed, timeout=args.timeout), output_name)
            raw_logits = output_array(stub.ModelInfer(raw, timeout=args.timeout), output_name)
        except grpc.RpcError as e:
            print(f"{args.target}: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1

    predicted = typed_logits.reshape(args.count, -1).argmax(axis=1)
    accuracy = float((predicted == labels).mean())
    print("predicted: " + " ".join(str(p) for p in predicted))
    print("labels:    " + " ".join(str(l) for l in labels))
    same = np.array_equal(typed_logits, raw_logits)
    print(f"accuracy {accuracy:.3f} on {args.count} digits; typed == raw logits: {same}")
    if not same:
        diff = float(np.abs(typed_logits - raw_logits).max())
        print(f"typed and raw logits differ (max abs diff {diff})", file=sys.stderr)
        return 1
    if accuracy < args.min_accuracy:
        print(f"accuracy {accuracy:.3f} < {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
