#!/usr/bin/env node
// A Node.js client of cacheai over the Open Inference Protocol (KServe v2) gRPC API.
//
// Checks what any v2 client relies on: readiness, model metadata, and ModelInfer with the elements
// sent both as typed contents (fp32_contents) and as raw little-endian bytes (raw_input_contents),
// on real MNIST test digits. Exits 0 when the accuracy on them is at least --min-accuracy and both
// encodings give identical logits, 1 otherwise, 2 for usage/setup problems.
//
// The service is loaded at run time from the repository's own proto with @grpc/proto-loader: no
// generated code. Install with `npm ci` (package-lock.json pins the versions).
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

let grpc;
let protoLoader;
try {
  grpc = require('@grpc/grpc-js');
  protoLoader = require('@grpc/proto-loader');
} catch (e) {
  process.stderr.write(`client.js: ${e.message}\n  run npm ci in ${__dirname} first\n`);
  process.exit(2);
}

const ROOT = path.resolve(__dirname, '..', '..');
const PROTO_DIR = path.join(ROOT, 'proto', 'src', 'main', 'proto');
const DEFAULT_DATA_DIR = path.join(ROOT, 'tools', 'mnist', 'data');
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

function parseArgs(argv) {
  const args = {
    target: '127.0.0.1:8001',
    model: 'mnist-cnn',
    count: 16,
    dataDir: DEFAULT_DATA_DIR,
    timeout: 10,
    minAccuracy: 0.9,
  };
  const names = {
    '--target': 'target',
    '--model': 'model',
    '--count': 'count',
    '--data-dir': 'dataDir',
    '--timeout': 'timeout',
    '--min-accuracy': 'minAccuracy',
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help') {
      console.log(
        'usage: node client.js [--target host:port] [--model name] [--count n] ' +
          '[--data-dir dir] [--timeout seconds] [--min-accuracy fraction]');
      process.exit(0);
    }
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) {
      process.stderr.write(`client.js: unknown or incomplete option '${argv[i]}' (see --help)\n`);
      process.exit(2);
    }
    const value = argv[++i];
    args[key] = typeof args[key] === 'number' ? Number(value) : value;
    if (typeof args[key] === 'number' && !Number.isFinite(args[key])) {
      process.stderr.write(`client.js: ${argv[i - 1]}=${value} is not a number\n`);
      process.exit(2);
    }
  }
  if (!(args.count >= 1)) {
    process.stderr.write(`client.js: --count=${args.count} must be at least 1\n`);
    process.exit(2);
  }
  return args;
}

/** The first `count` images of a gzip IDX file as float32 pixel/255, flattened. */
function readImages(file, count) {
  const bytes = zlib.gunzipSync(fs.readFileSync(file));
  const magic = bytes.readUInt32BE(0);
  const total = bytes.readUInt32BE(4);
  const rows = bytes.readUInt32BE(8);
  const cols = bytes.readUInt32BE(12);
  if (magic !== IMAGES_MAGIC || total < count) {
    throw new Error(`${file}: magic=0x${magic.toString(16)} count=${total}, wanted images >= ${count}`);
  }
  const pixels = new Float32Array(count * rows * cols);
  for (let i = 0; i < pixels.length; i++) {
    pixels[i] = bytes[16 + i] / 255;
  }
  return pixels;
}

/** The first `count` labels of a gzip IDX file. */
function readLabels(file, count) {
  const bytes = zlib.gunzipSync(fs.readFileSync(file));
  const magic = bytes.readUInt32BE(0);
  const total = bytes.readUInt32BE(4);
  if (magic !== LABELS_MAGIC || total < count) {
    throw new Error(`${file}: magic=0x${magic.toString(16)} count=${total}, wanted labels >= ${count}`);
  }
  return Array.from(bytes.subarray(8, 8 + count));
}

/** Output `name` of a ModelInferResponse as a Float32Array, from raw or typed contents. */
function outputArray(response, name) {
  const index = response.outputs.findIndex((o) => o.name === name);
  if (index < 0) {
    throw new Error(`output '${name}' not in response; outputs=${response.outputs.map((o) => o.name)}`);
  }
  const out = response.outputs[index];
  if (out.datatype !== 'FP32') {
    throw new Error(`output '${name}': datatype ${out.datatype}, expected FP32`);
  }
  let values;
  if (response.raw_output_contents.length > 0) {
    const raw = response.raw_output_contents[index];
    values = new Float32Array(raw.length / 4);
    for (let i = 0; i < values.length; i++) {
      values[i] = raw.readFloatLE(4 * i);
    }
  } else {
    values = Float32Array.from(out.contents.fp32_contents);
  }
  const expected = out.shape.reduce((a, b) => a * Number(b), 1);
  if (values.length !== expected) {
    throw new Error(`output '${name}': ${values.length} elements for shape [${out.shape}]`);
  }
  return values;
}

function call(stub, method, request, timeoutSeconds) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + timeoutSeconds * 1000);
    stub[method](request, { deadline }, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const images = readImages(path.join(args.dataDir, 't10k-images-idx3-ubyte.gz'), args.count);
  const labels = readLabels(path.join(args.dataDir, 't10k-labels-idx1-ubyte.gz'), args.count);

  const definition = protoLoader.loadSync('inference/grpc_service.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const inference = grpc.loadPackageDefinition(definition).inference;
  const stub = new inference.GRPCInferenceService(args.target, grpc.credentials.createInsecure());
  let typedLogits;
  let rawLogits;
  try {
    const ready = (await call(stub, 'ServerReady', {}, args.timeout)).ready;
    console.log(`server ${args.target}: ready=${ready}`);
    if (!ready) {
      return 1;
    }
    const meta = await call(stub, 'ModelMetadata', { name: args.model }, args.timeout);
    for (const t of meta.inputs) console.log(`  input  ${t.name} ${t.datatype} [${t.shape.join(', ')}]`);
    for (const t of meta.outputs) console.log(`  output ${t.name} ${t.datatype} [${t.shape.join(', ')}]`);
    if (meta.inputs.length !== 1 || meta.inputs[0].datatype !== 'FP32') {
      console.error(`model ${args.model}: expected one FP32 input`);
      return 1;
    }
    const input = meta.inputs[0];
    const outputName = meta.outputs[0].name;
    // The model's shape with its -1 batch dimension set to the number of digits.
    const shape = input.shape.map((d) => (Number(d) === -1 ? args.count : Number(d)));

    const typed = {
      model_name: args.model,
      id: 'node-typed',
      inputs: [{ name: input.name, datatype: 'FP32', shape, contents: { fp32_contents: Array.from(images) } }],
    };
    const rawBytes = Buffer.alloc(images.length * 4);
    images.forEach((v, i) => rawBytes.writeFloatLE(v, 4 * i));
    const raw = {
      model_name: args.model,
      id: 'node-raw',
      inputs: [{ name: input.name, datatype: 'FP32', shape }],
      raw_input_contents: [rawBytes],
    };
    typedLogits = outputArray(await call(stub, 'ModelInfer', typed, args.timeout), outputName);
    rawLogits = outputArray(await call(stub, 'ModelInfer', raw, args.timeout), outputName);
  } catch (err) {
    if (err.code !== undefined) {
      console.error(`${args.target}: ${grpc.status[err.code]}: ${err.details}`);
      return 1;
    }
    throw err;
  } finally {
    stub.close();
  }

  const classes = typedLogits.length / args.count;
  const predicted = [];
  for (let n = 0; n < args.count; n++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (typedLogits[n * classes + c] > typedLogits[n * classes + best]) best = c;
    }
    predicted.push(best);
  }
  const correct = predicted.filter((p, i) => p === labels[i]).length;
  const accuracy = correct / args.count;
  console.log(`predicted: ${predicted.join(' ')}`);
  console.log(`labels:    ${labels.join(' ')}`);
  const same = typedLogits.length === rawLogits.length && typedLogits.every((v, i) => Object.is(v, rawLogits[i]));
  console.log(`accuracy ${accuracy.toFixed(3)} on ${args.count} digits; typed == raw logits: ${same}`);
  if (!same) {
    console.error('typed and raw logits differ');
    return 1;
  }
  if (accuracy < args.minAccuracy) {
    console.error(`accuracy ${accuracy.toFixed(3)} < ${args.minAccuracy}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`client.js: ${err.stack || err}`);
    process.exit(1);
  });
