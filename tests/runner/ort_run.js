#!/usr/bin/env node
// tests/runner/ort_run.js — runs an ONNX model on ONNX Runtime (onnxruntime-node, CPU), the peer of
// `tilec run`:
//   node ort_run.js MODEL.onnx [--input NAME=FILE.npy]... [--shape NAME=1x3x48x192]...
//                   [--output-dir DIR] [--threads N] [--bench N] [--warmup W]
// Inputs are .npy files (little-endian float32/float64/float16/int8..int64/uint8..uint64/bool, C
// order). An input left out is filled with zeros; its shape is the declared one, or --shape's when
// the model leaves dimensions symbolic. Each output is written to DIR/NAME.npy, NAME with every
// char outside [A-Za-z0-9._-] replaced by '_' (as tilec-run does). Session: intra_op_num_threads
// N (default 1), inter_op 1, sequential, graphOptimizationLevel 'all'. With --bench N: W warm-up
// runs (default 3), then N timed runs of session.run (median and min, ms).
// Prints one JSON object on stdout: model, threads, load_ms, inputs and outputs (name, dtype,
// shape, file) and, with --bench, bench {runs, warmup, median_ms, min_ms, mean_ms, max_ms}.
// onnxruntime-node is looked up in $ORT_NODE_MODULES, then node's usual places (NODE_PATH), then
// $TILEC_MODELS_DIR/ort/node_modules, then build/models/ort/node_modules (tests/runner/fetch-models.sh).
'use strict';
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');

function die(msg) {
    process.stderr.write(`ort_run: ${msg}\n`);
    process.exit(2);
}

function loadOrt() {
    const repo = path.resolve(__dirname, '..', '..');
    const dirs = [];
    if (process.env.ORT_NODE_MODULES) dirs.push(process.env.ORT_NODE_MODULES);
    dirs.push(null);
    if (process.env.TILEC_MODELS_DIR) dirs.push(path.join(process.env.TILEC_MODELS_DIR, 'ort', 'node_modules'));
    dirs.push(path.join(repo, 'build', 'models', 'ort', 'node_modules'));
    for (const d of dirs) {
        try {
            return require(d === null ? 'onnxruntime-node' : path.join(d, 'onnxruntime-node'));
        } catch (e) {
            if (e.code !== 'MODULE_NOT_FOUND') throw e;
        }
    }
    die('onnxruntime-node not found: run tests/runner/fetch-models.sh or set ORT_NODE_MODULES');
}

// ---- .npy -------------------------------------------------------------------------------------
// descr (little-endian or byte-sized) -> [ORT type, TypedArray constructor]
const NPY_TYPES = {
    '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
    '<f2': ['float16', Uint16Array],
    '|i1': ['int8', Int8Array], '<i2': ['int16', Int16Array], '<i4': ['int32', Int32Array],
    '<i8': ['int64', BigInt64Array],
    '|u1': ['uint8', Uint8Array], '<u2': ['uint16', Uint16Array], '<u4': ['uint32', Uint32Array],
    '<u8': ['uint64', BigUint64Array],
    '|b1': ['bool', Uint8Array],
};
const ORT_TO_DESCR = {};
for (const [d, [t]] of Object.entries(NPY_TYPES)) ORT_TO_DESCR[t] = d;

function readNpy(file) {
    const buf = fs.readFileSync(file);
    if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') die(`${file}: not a .npy file`);
    const major = buf[6];
    let hlen, hstart;
    if (major === 1) { hlen = buf.readUInt16LE(8); hstart = 10; }
    else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); hstart = 12; }
    else die(`${file}: .npy version ${major} not supported`);
    const header = buf.toString('latin1', hstart, hstart + hlen);
    const descrM = header.match(/'descr'\s*:\s*'([^']*)'/);
    const fortranM = header.match(/'fortran_order'\s*:\s*(True|False)/);
    const shapeM = header.match(/'shape'\s*:\s*\(([^)]*)\)/);
    if (!descrM || !fortranM || !shapeM) die(`${file}: bad .npy header ${header}`);
    let descr = descrM[1];
    if (descr === '<i1' || descr === '<u1' || descr === '<b1') descr = '|' + descr.slice(1);
    if (descr === '=f4') descr = '<f4';
    const t = NPY_TYPES[descr];
    if (!t) die(`${file}: dtype ${descr} not supported`);
    if (fortranM[1] === 'True') die(`${file}: Fortran order not supported`);
    const shape = shapeM[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
    const count = shape.reduce((a, b) => a * b, 1);
    const off = hstart + hlen;
    const bytes = count * t[1].BYTES_PER_ELEMENT;
    if (buf.length - off < bytes) die(`${file}: truncated (${buf.length - off} bytes of data, ${bytes} expected)`);
    // Copy into an aligned buffer (the data offset need not be a multiple of the element size).
    const data = new t[1](count);
    Buffer.from(data.buffer).set(buf.subarray(off, off + bytes));
    return { type: t[0], shape, data };
}

function writeNpy(file, type, shape, data) {
    const descr = ORT_TO_DESCR[type];
    if (!descr) die(`output type ${type} cannot be written as .npy`);
    const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
    let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shp}, }`;
    const pad = 64 - ((10 + header.length + 1) % 64);
    header += ' '.repeat(pad % 64) + '\n';
    const pre = Buffer.alloc(10);
    pre.write('\x93NUMPY', 0, 'latin1');
    pre[6] = 1; pre[7] = 0;
    pre.writeUInt16LE(header.length, 8);
    let body;
    if (type === 'bool' && !(data instanceof Uint8Array)) body = Buffer.from(Uint8Array.from(data, v => (v ? 1 : 0)));
    else body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

function safeName(name) {
    return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

function zeros(type, shape) {
    const t = Object.values(NPY_TYPES).find(v => v[0] === type);
    if (!t) die(`cannot make zeros of type ${type}`);
    return new t[1](shape.reduce((a, b) => a * b, 1));
}

// ---- main -------------------------------------------------------------------------------------
function parseArgs(argv) {
    const o = { inputs: {}, shapes: {}, threads: 1, bench: 0, warmup: 3, outDir: null, model: null };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => { if (i + 1 >= argv.length) die(`${a} needs a value`); return argv[++i]; };
        const kv = (s) => { const k = s.indexOf('='); if (k <= 0) die(`${a} ${s}: expected NAME=VALUE`); return [s.slice(0, k), s.slice(k + 1)]; };
        if (a === '--input') { const [k, v] = kv(val()); o.inputs[k] = v; }
        else if (a === '--shape') { const [k, v] = kv(val()); o.shapes[k] = v.split('x').map(Number); }
        else if (a === '--output-dir') o.outDir = val();
        else if (a === '--threads') o.threads = parseInt(val(), 10);
        else if (a === '--bench') o.bench = parseInt(val(), 10);
        else if (a === '--warmup') o.warmup = parseInt(val(), 10);
        else if (a === '-h' || a === '--help') {
            process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 17).map(l => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
            process.exit(0);
        } else if (a.startsWith('-')) die(`unknown option ${a}`);
        else if (o.model === null) o.model = a;
        else die(`unexpected argument ${a}`);
    }
    if (!o.model) die('usage: ort_run.js MODEL.onnx [--input NAME=FILE.npy]... [--output-dir DIR] [--threads N] [--bench N]');
    if (!(o.threads >= 1)) die('--threads must be >= 1');
    return o;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const ort = loadOrt();
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(o.model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: o.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
    });
    const loadMs = performance.now() - t0;

    const meta = {};
    for (const m of session.inputMetadata || []) meta[m.name] = m;
    const feeds = {};
    const inputs = [];
    for (const name of session.inputNames) {
        let t;
        if (o.inputs[name]) {
            t = readNpy(o.inputs[name]);
        } else {
            const m = meta[name];
            const type = m && m.isTensor ? m.type : 'float32';
            let shape = o.shapes[name];
            if (!shape) {
                if (!m || !m.shape || m.shape.some(d => typeof d !== 'number' || d < 0))
                    die(`input ${name} has no file and a symbolic shape ${JSON.stringify(m && m.shape)}: give --input or --shape`);
                shape = m.shape;
            }
            t = { type, shape, data: zeros(type, shape) };
            process.stderr.write(`ort_run: input ${name}: zeros ${type}[${shape.join('x')}]\n`);
        }
        feeds[name] = new ort.Tensor(t.type, t.data, t.shape);
        inputs.push({ name, dtype: t.type, shape: t.shape, file: o.inputs[name] || null });
    }
    for (const k of Object.keys(o.inputs))
        if (!session.inputNames.includes(k)) die(`the model has no input ${k} (inputs: ${session.inputNames.join(', ')})`);

    const results = await session.run(feeds);
    const outputs = [];
    if (o.outDir) fs.mkdirSync(o.outDir, { recursive: true });
    for (const name of session.outputNames) {
        const r = results[name];
        const out = { name, dtype: r.type, shape: r.dims };
        if (o.outDir) {
            out.file = path.join(o.outDir, safeName(name) + '.npy');
            writeNpy(out.file, r.type, r.dims, r.data);
        }
        outputs.push(out);
    }

    const report = { model: o.model, runtime: `onnxruntime-node ${ort.env.versions ? ort.env.versions.common : ''}`.trim(),
                     threads: o.threads, load_ms: +loadMs.toFixed(3), inputs, outputs };
    if (o.bench > 0) {
        for (let i = 0; i < o.warmup; i++) await session.run(feeds);
        const times = [];
        for (let i = 0; i < o.bench; i++) {
            const s = performance.now();
            await session.run(feeds);
            times.push(performance.now() - s);
        }
        const sorted = [...times].sort((a, b) => a - b);
        const n = sorted.length;
        const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        report.bench = { runs: n, warmup: o.warmup, median_ms: +median.toFixed(3), min_ms: +sorted[0].toFixed(3),
                         mean_ms: +(times.reduce((a, b) => a + b, 0) / n).toFixed(3), max_ms: +sorted[n - 1].toFixed(3) };
    }
    process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch(e => die(e && e.stack ? e.stack : String(e)));
