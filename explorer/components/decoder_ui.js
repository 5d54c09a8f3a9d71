// The interactions that decode in the page (explorer/live_decode.py mounts them): sliders over
// the leading dimensions, a 2-D pad that decodes the z under the cursor, a scrubber along an
// interpolation path, and a VQ-VAE code picker. Each pointer move decodes and draws at once;
// the release sends one trigger, "release", so Python learns the final position.
// decoder_kernels.js is prepended to this text by live_decode.py.

const PD_CACHE = (window.__vaePageDecoders = window.__vaePageDecoders || {});
// Pointer event -> frame with its image, ms: recorded only where a bench or test has set
// window.__pdTimes = [] (in a class's browsers nothing grows without bound).
function pdTime(event) {
  if (event && Array.isArray(window.__pdTimes)) requestAnimationFrame(() => window.__pdTimes.push(performance.now() - event.timeStamp));
}

function pdEl(tag, attrs, parent) {
  const el = document.createElement(tag);
  Object.assign(el, attrs || {});
  if (parent) parent.appendChild(el);
  return el;
}

// An image canvas: C x H x W values in [0, 1] drawn at `scale` screen pixels per pixel.
function pdImage(parent, output, scale, caption) {
  const [C, H, W] = output, fig = pdEl("figure", { className: "pd-figure" }, parent);
  const canvas = pdEl("canvas", { width: W, height: H, className: "pd-image" }, fig);
  canvas.style.width = `${W * scale}px`;
  canvas.style.height = `${H * scale}px`;
  const label = pdEl("figcaption", { textContent: caption || "" }, fig);
  const ctx = canvas.getContext("2d"), pixels = ctx.createImageData(W, H), n = H * W;
  const draw = (values, event) => {
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < 3; c++) pixels.data[4 * p + c] = Math.round(255 * values[(C === 3 ? c : 0) * n + p]);
      pixels.data[4 * p + 3] = 255;
    }
    ctx.putImageData(pixels, 0, 0);
    if (!window.__pdFirstFrame) window.__pdFirstFrame = performance.now();
    pdTime(event);
  };
  return { draw, label, canvas };
}

// The 2-D lab's output: f(z) is a point of the data plane, drawn with its s-circle over the
// data (plane: {lo, hi, size, points: [[x, y], ...], sigma}); the same draw/label as pdImage.
function pdPlane(parent, plane) {
  const fig = pdEl("figure", { className: "pd-figure" }, parent), size = plane.size;
  const stack = pdEl("div", { className: "pd-stack" }, fig);
  stack.style.width = stack.style.height = `${size}px`;
  const base = pdEl("canvas", { width: size, height: size }, stack);
  const top = pdEl("canvas", { width: size, height: size }, stack);
  const label = pdEl("figcaption", {}, fig), where = pdEl("figcaption", {}, fig);
  const px = (v) => ((v - plane.lo) / (plane.hi - plane.lo)) * size, b = base.getContext("2d");
  b.fillStyle = "rgba(51, 51, 51, 0.55)";
  for (const [x, y] of plane.points) b.fillRect(px(x) - 1.5, size - px(y) - 1.5, 3, 3);
  const ctx = top.getContext("2d"), r = Math.max(1, (plane.sigma / (plane.hi - plane.lo)) * size);
  const draw = (values, event) => {
    const cx = px(values[0]), cy = size - px(values[1]);
    ctx.clearRect(0, 0, size, size);
    ctx.strokeStyle = ctx.fillStyle = "#d62728";
    ctx.beginPath(); ctx.arc(cx, cy, r, 0, 2 * Math.PI); ctx.stroke();
    ctx.beginPath(); ctx.arc(cx, cy, 4, 0, 2 * Math.PI); ctx.fill();
    where.textContent = `f(z) = (${pdFmt(values[0])}, ${pdFmt(values[1])}); circle: radius s = ${plane.sigma.toFixed(3)}`;
    if (!window.__pdFirstFrame) window.__pdFirstFrame = performance.now();
    pdTime(event);
  };
  return { draw, label, canvas: top };
}

// What a move decodes into: an image, or (payload.plane) a point of the 2-D lab's plane.
const pdView = (row, data, decoder, caption) =>
  data.plane ? pdPlane(row, data.plane) : pdImage(row, decoder.output, data.scale, caption);

const pdFmt = (v) => (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(2);

function pdSliders(root, data, decoder, send) {
  const z = Float32Array.from(data.z), row = pdEl("div", { className: "pd-row" }, root);
  const controls = pdEl("div", { className: "pd-controls" }, row);
  const image = pdView(row, data, decoder, "");
  const update = (event) => {
    image.draw(decoder.decode(z), event);
    image.label.textContent = "E[x | z] at " + data.dims.map((d) => `z${d.index} = ${pdFmt(z[d.index])}`).join(", ");
  };
  data.dims.forEach((d, k) => {
    const box = pdEl("label", { className: "pd-slider" }, controls);
    const text = pdEl("span", {}, box);
    const input = pdEl("input", { type: "range", min: data.lo, max: data.hi, step: 0.01, value: d.offset }, box);
    input.setAttribute("aria-label", d.label);
    input.dataset.dim = d.index;
    const show = () => (text.textContent = `${d.label}: t = ${pdFmt(Number(input.value))}`);
    show();
    z[d.index] = data.z[d.index] + d.offset;
    // Timed from the pointer move that moved the thumb (its timeStamp is when the move arrived,
    // as on the pads), not from the input event Chromium makes when it dispatches that move.
    let pointer = null;
    input.addEventListener("pointermove", (event) => (pointer = event));
    input.addEventListener("input", (event) => {
      z[d.index] = data.z[d.index] + Number(input.value);
      show();
      update(pointer && event.timeStamp - pointer.timeStamp < 100 ? pointer : event);
    });
    input.addEventListener("change", () => send({ offsets: data.dims.map((e) => z[e.index] - data.z[e.index]) }));
  });
  update(null);
}

// Cursor fraction f in [0, 1] -> z, linear between the axis's table of values.
function pdAxis(values, f) {
  const t = Math.min(Math.max(f, 0), 1) * (values.length - 1), i = Math.min(Math.floor(t), values.length - 2);
  return values[i] + (t - i) * (values[i + 1] - values[i]);
}

// Two stacked canvases: the base (background picture, points) is painted once, the overlay
// (the cursor's mark) at each move, so a move costs a decode and a crosshair, not a repaint.
function pdPad(root, data, decoder, send) {
  const row = pdEl("div", { className: "pd-row" }, root), size = data.size;
  const wrap = pdEl("div", { className: "pd-pad" }, row);
  const stack = pdEl("div", { className: "pd-stack" }, wrap);
  stack.style.width = stack.style.height = `${size}px`;
  const base = pdEl("canvas", { width: size, height: size, className: "pd-base" }, stack);
  const pad = pdEl("canvas", { width: size, height: size, className: "pd-overlay" }, stack);
  pad.setAttribute("aria-label", "latent plane: hover to decode, click to choose");
  pdEl("div", { className: "pd-axes", textContent: data.axes_label }, wrap);
  const image = pdView(row, data, decoder, "move the cursor over the plane");
  const z = Float32Array.from(data.z), [i, j] = data.dims;
  const paintBase = (background) => {
    const ctx = base.getContext("2d");
    ctx.clearRect(0, 0, size, size);
    if (background) ctx.drawImage(background, 0, 0, size, size);
    for (const [x, y, c] of data.points || []) {
      ctx.fillStyle = data.colors[c % data.colors.length];
      ctx.fillRect(x * size - 1.5, (1 - y) * size - 1.5, 3, 3);
    }
  };
  const ctx = pad.getContext("2d");
  const mark = (cx, cy) => {
    ctx.clearRect(0, 0, size, size);
    ctx.strokeStyle = "#d62728";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(cx, cy, 6, 0, 2 * Math.PI);
    ctx.moveTo(cx - 10, cy); ctx.lineTo(cx + 10, cy); ctx.moveTo(cx, cy - 10); ctx.lineTo(cx, cy + 10);
    ctx.stroke();
  };
  const at = (event) => [event.offsetX / size, 1 - event.offsetY / size];  // the canvas is size CSS px
  const decodeAt = (fx, fy, event) => {
    const a = pdAxis(data.x_values, fx), b = pdAxis(data.y_values, fy);
    if (data.basis) {  // a plane through z = data.z spanned by two directions (the PCA map's)
      for (let k = 0; k < z.length; k++) z[k] = data.z[k] + a * data.basis[0][k] + b * data.basis[1][k];
    } else {
      z[i] = a;
      z[j] = b;
    }
    image.draw(decoder.decode(z), event);
    const [li, lj] = data.plane_labels || [`z${i}`, `z${j}`];
    image.label.textContent = `E[x | z] at ${li} = ${pdFmt(a)}, ${lj} = ${pdFmt(b)}`;
    mark(fx * size, (1 - fy) * size);
  };
  pad.addEventListener("pointermove", (event) => decodeAt(...at(event), event));
  pad.addEventListener("pointerup", (event) => {
    decodeAt(...at(event), event);
    send({ z: Array.from(z) });
  });
  paintBase(null);
  if (data.background) {
    const picture = new Image();
    picture.onload = () => paintBase(picture);
    picture.src = data.background;
  }
  if (data.start) decodeAt(data.start[0], data.start[1], null);
}

// A scrubber along precomputed paths (one image each): for a vector latent z is linear between
// the path's neighbouring points; for a VQ-VAE's code grids the nearest point's grid is taken,
// since there is nothing between two codes.
function pdPath(root, data, decoder, send) {
  const row = pdEl("div", { className: "pd-row" }, root), controls = pdEl("div", { className: "pd-controls" }, row);
  const box = pdEl("label", { className: "pd-slider" }, controls), text = pdEl("span", {}, box);
  const input = pdEl("input", { type: "range", min: 0, max: 1, step: 0.001, value: data.t }, box);
  input.setAttribute("aria-label", "position t along the path");
  const names = Object.keys(data.paths), images = names.map((name) => pdImage(row, decoder.output, data.scale, name));
  const dim = data.paths[names[0]][0].length, z = new Float32Array(dim), codes = decoder.input === "codes";
  const vectorAt = (path, s) => {
    const a = Math.min(Math.floor(s), path.length - 2), f = s - a;
    let norm = 0;
    for (let d = 0; d < dim; d++) { z[d] = path[a][d] + f * (path[a + 1][d] - path[a][d]); norm += z[d] * z[d]; }
    return [z, `‖z‖ = ${Math.sqrt(norm).toFixed(2)}`];
  };
  const gridAt = (path, s) => {
    const grid = path[Math.round(s)];
    let changed = 0;
    for (let d = 0; d < dim; d++) changed += grid[d] !== path[0][d];
    return [grid, `${changed} of ${dim} cells differ from t = 0`];
  };
  const update = (event) => {
    const t = Number(input.value);
    text.textContent = `t = ${t.toFixed(3)} (0: ${data.from}, 1: ${data.to})`;
    names.forEach((name, k) => {
      const path = data.paths[name], [latent, note] = (codes ? gridAt : vectorAt)(path, t * (path.length - 1));
      images[k].draw(decoder.decode(latent), event);
      images[k].label.textContent = `${name} · ${note}`;
    });
  };
  let pointer = null;  // timed from the pointer move, as the sliders are
  input.addEventListener("pointermove", (event) => (pointer = event));
  input.addEventListener("input", (event) => update(pointer && event.timeStamp - pointer.timeStamp < 100 ? pointer : event));
  input.addEventListener("change", () => send({ t: Number(input.value) }));
  update(null);
}

function pdCodes(root, data, decoder, send) {
  const row = pdEl("div", { className: "pd-row" }, root), codes = Int32Array.from(data.grid);
  const palette = pdEl("div", { className: "pd-palette" }, row);
  const image = pdImage(row, decoder.output, data.scale, "");
  const show = (code, event) => {
    codes[data.cell] = code;
    image.draw(decoder.decode(codes), event);
    image.label.textContent = `cell (row ${data.row}, column ${data.col}) = code ${code}` +
      (code === data.grid[data.cell] ? " (its code now)" : "; click to keep it");
  };
  for (const code of data.candidates) {
    const button = pdEl("button", { textContent: String(code), className: "pd-code" }, palette);
    if (code === data.grid[data.cell]) button.classList.add("pd-current");
    button.addEventListener("pointerenter", (event) => show(code, event));
    button.addEventListener("click", () => send({ code }));
  }
  palette.addEventListener("pointerleave", () => show(data.grid[data.cell], null));
  show(data.grid[data.cell], null);
}

const PD_MODES = { sliders: pdSliders, pad: pdPad, path: pdPath, codes: pdCodes };

// Called on every script run that reaches the component. The same data again (a rerun caused
// elsewhere) leaves the page as it is, so a pointer in the middle of a drag keeps its control.
export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let root = parentElement.querySelector(".pd-root");
  if (!root) root = pdEl("div", { className: "pd-root" }, parentElement);
  const { weights, ...rest } = data, signature = JSON.stringify(rest);
  let decoder = PD_CACHE[data.digest];
  if (!decoder && weights) decoder = PD_CACHE[data.digest] = buildPageDecoder(data.spec, pdFloats(weights, data.dtype));
  if (!decoder) {  // the server thought this page had the weights: ask for them again
    root.replaceChildren();
    root.dataset.signature = "";
    pdEl("p", { textContent: "Loading the decoder into the page…" }, root);
    setStateValue("cached", "missing " + data.digest);
    return;
  }
  if (root.dataset.signature === signature && root.childElementCount) return;
  root.replaceChildren();
  root.dataset.signature = signature;
  PD_MODES[data.mode](root, data, decoder, (value) => setTriggerValue("release", value));
}
