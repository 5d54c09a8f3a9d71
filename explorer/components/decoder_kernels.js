// The bundle's decoder, run in the page: z (or a VQ-VAE's code grid) -> image, with no server
// round trip. explorer/page_decoder.py describes the layers and packs the weights; this file
// only computes. Plain script (function declarations, no import/export) so that the component
// and the Chromium test load the same text.
//
// Activations between convolutions are kept channels-last (HWC), so the innermost loop of every
// kernel runs over output channels through contiguous memory; weights are reordered to match
// once, when the decoder is built. Accumulation is float32, as torch's CPU kernels do.

function pdHalfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 5.960464477539063e-8;  // subnormal: f * 2^-24
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * Math.pow(2, exponent - 15);
}

// base64 of little-endian float16 or float32 values -> Float32Array.
function pdFloats(b64, dtype) {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (dtype === "float32") return new Float32Array(bytes.buffer);
  if (dtype !== "float16") throw new Error("unknown weight dtype " + dtype);
  const half = new Uint16Array(bytes.buffer), out = new Float32Array(half.length);
  const table = new Float32Array(65536);  // every float16 value once: cheaper than 1e6 conversions
  for (let h = 0; h < 65536; h++) table[h] = pdHalfToFloat(h);
  for (let i = 0; i < half.length; i++) out[i] = table[half[i]];
  return out;
}

function pdLinear(layer, W, shape) {
  const nIn = layer.in, nOut = layer.out, w = W.subarray(layer.w, layer.w + nIn * nOut);
  const b = W.subarray(layer.b, layer.b + nOut), y = new Float32Array(nOut);
  if (shape.size !== nIn) throw new Error(`linear expects ${nIn} inputs, gets ${shape.size}`);
  const run = (x) => {
    for (let j = 0; j < nOut; j++) {
      let s = b[j];
      const row = j * nIn;
      for (let i = 0; i < nIn; i++) s += w[row + i] * x[i];
      y[j] = s;
    }
    return y;
  };
  return [run, { size: nOut }];
}

function pdElementwise(f) {
  return (layer, W, shape) => {
    const y = new Float32Array(shape.size);
    const run = (x) => {
      for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
      return y;
    };
    return [run, shape];
  };
}

// torch's flat (C*H*W) order -> HWC.
function pdUnflatten(layer, W, shape) {
  const [c, h, w] = layer.shape, n = h * w, y = new Float32Array(c * n);
  if (shape.size !== c * n) throw new Error(`unflatten to ${layer.shape} gets ${shape.size} values`);
  const run = (x) => {
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < n; p++) y[p * c + ch] = x[ch * n + p];
    return y;
  };
  return [run, { size: c * n, c, h, w }];
}

// ConvTranspose2d, torch weight (in, out, k, k): each input pixel scatters into a k x k patch.
function pdConvTranspose(layer, W, shape) {
  const { in: cin, out: cout, k, stride: s, pad: p } = layer;
  const hin = shape.h, win = shape.w, hout = (hin - 1) * s - 2 * p + k, wout = (win - 1) * s - 2 * p + k;
  const w = new Float32Array(cin * k * k * cout);  // reordered to (in, ky, kx, out)
  for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) for (let t = 0; t < k * k; t++)
    w[(c * k * k + t) * cout + o] = W[layer.w + (c * cout + o) * k * k + t];
  const b = W.subarray(layer.b, layer.b + cout), y = new Float32Array(hout * wout * cout);
  const run = (x) => {
    for (let q = 0; q < hout * wout; q++) y.set(b, q * cout);
    for (let iy = 0; iy < hin; iy++) for (let ix = 0; ix < win; ix++) {
      const xb = (iy * win + ix) * cin;
      for (let c = 0; c < cin; c++) {
        const v = x[xb + c];
        if (v === 0) continue;  // after a ReLU most inputs are 0
        for (let ky = 0; ky < k; ky++) {
          const oy = iy * s - p + ky;
          if (oy < 0 || oy >= hout) continue;
          for (let kx = 0; kx < k; kx++) {
            const ox = ix * s - p + kx;
            if (ox < 0 || ox >= wout) continue;
            const yb = (oy * wout + ox) * cout, wb = (c * k * k + ky * k + kx) * cout;
            for (let o = 0; o < cout; o++) y[yb + o] += v * w[wb + o];
          }
        }
      }
    }
    return y;
  };
  return [run, { size: y.length, c: cout, h: hout, w: wout }];
}

// Conv2d with stride 1, torch weight (out, in, k, k), zero padding p.
function pdConv(layer, W, shape) {
  const { in: cin, out: cout, k, pad: p } = layer, h = shape.h, wd = shape.w;
  const hout = h + 2 * p - k + 1, wout = wd + 2 * p - k + 1;
  const w = new Float32Array(k * k * cin * cout);  // reordered to (ky, kx, in, out)
  for (let o = 0; o < cout; o++) for (let c = 0; c < cin; c++) for (let t = 0; t < k * k; t++)
    w[(t * cin + c) * cout + o] = W[layer.w + (o * cin + c) * k * k + t];
  const b = W.subarray(layer.b, layer.b + cout), y = new Float32Array(hout * wout * cout);
  const run = (x) => {
    for (let oy = 0; oy < hout; oy++) for (let ox = 0; ox < wout; ox++) {
      const yb = (oy * wout + ox) * cout;
      y.set(b, yb);
      for (let ky = 0; ky < k; ky++) {
        const iy = oy + ky - p;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < k; kx++) {
          const ix = ox + kx - p;
          if (ix < 0 || ix >= wd) continue;
          const xb = (iy * wd + ix) * cin, wb = (ky * k + kx) * cin * cout;
          for (let c = 0; c < cin; c++) {
            const v = x[xb + c];
            if (v === 0) continue;
            const wc = wb + c * cout;
            for (let o = 0; o < cout; o++) y[yb + o] += v * w[wc + o];
          }
        }
      }
    }
    return y;
  };
  return [run, { size: y.length, c: cout, h: hout, w: wout }];
}

// x + body(x): the VQ-VAE's residual block.
function pdResidual(layer, W, shape) {
  const [body, out] = pdChain(layer.body, W, shape), y = new Float32Array(shape.size);
  if (out.size !== shape.size) throw new Error("a residual body must keep its input's shape");
  const run = (x) => {
    const r = body(x);
    for (let i = 0; i < y.length; i++) y[i] = x[i] + r[i];
    return y;
  };
  return [run, shape];
}

const PD_OPS = {
  linear: pdLinear, unflatten: pdUnflatten, conv_transpose: pdConvTranspose, conv: pdConv,
  residual: pdResidual,
  relu: pdElementwise((v) => (v > 0 ? v : 0)),
  tanh: pdElementwise(Math.tanh),
  sigmoid: pdElementwise((v) => 1 / (1 + Math.exp(-v))),
};

function pdChain(layers, W, shape) {
  const runs = [];
  for (const layer of layers) {
    const op = PD_OPS[layer.op];
    if (!op) throw new Error("the page cannot run a layer of type " + layer.op);
    const [run, next] = op(layer, W, shape);
    runs.push(run);
    shape = next;
  }
  return [(x) => runs.reduce((v, run) => run(v), x), shape];
}

// spec: {input: {kind: "vector", size} | {kind: "codes", h, w, codebook: {offset, K, D}},
// layers: [...], output: [C, H, W]}; W: every weight as one Float32Array.
// Returns {decode(latent) -> Float32Array (C*H*W, torch's CHW order, in [0, 1]), output, input},
// where input is spec.input.kind and latent is D numbers or h*w code indices. The returned
// array is reused by the next call.
function buildPageDecoder(spec, W) {
  const inp = spec.input;
  let first, shape;
  if (inp.kind === "vector") {
    shape = { size: inp.size };
    first = (z) => (z instanceof Float32Array ? z : Float32Array.from(z));
  } else if (inp.kind === "codes") {
    const { offset, K, D } = inp.codebook, n = inp.h * inp.w, grid = new Float32Array(n * D);
    shape = { size: n * D, c: D, h: inp.h, w: inp.w };
    first = (codes) => {
      for (let p = 0; p < n; p++) {
        const code = codes[p];
        if (!(code >= 0 && code < K)) throw new Error("code " + code + " is outside the codebook");
        grid.set(W.subarray(offset + code * D, offset + (code + 1) * D), p * D);
      }
      return grid;
    };
  } else {
    throw new Error("unknown decoder input " + inp.kind);
  }
  const [body, out] = pdChain(spec.layers, W, shape);
  const [C, H, Wd] = spec.output, image = new Float32Array(C * H * Wd);
  if (out.size !== image.length) throw new Error(`the decoder gives ${out.size} values, not ${image.length}`);
  const decode = (latent) => {
    const y = body(first(latent));
    if (out.c === undefined || C === 1) { image.set(y); return image; }
    for (let c = 0; c < C; c++) for (let p = 0; p < H * Wd; p++) image[c * H * Wd + p] = y[p * C + c];  // HWC -> CHW
    return image;
  };
  return { decode, output: spec.output, input: inp.kind };
}
