// The latent map at the scale of a data set (explorer/map_component.py mounts it): every point
// drawn on a canvas, hover shows the image under the cursor from thumbnail sheets sent once (no
// server round trip), wheel zooms, drag pans; box and lasso select; a click picks the nearest
// point. Only a selection reaches Python, as the trigger "picked" = {indices, how}.

const LM_CACHE = (window.__vaeMaps = window.__vaeMaps || {});  // digest -> points, kept across reruns
const LM_MARGIN = { left: 52, bottom: 34, top: 8, right: 10 };

function lmEl(tag, attrs, parent) {
  const el = document.createElement(tag);
  Object.assign(el, attrs || {});
  if (parent) parent.appendChild(el);
  return el;
}

function lmBytes(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function lmTicks(lo, hi, n) {  // "nice" tick values between lo and hi
  const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

// The points of one digest: coordinates, labels, D and R, thumbnail sheets, and a grid index in
// data space that finds the point under the cursor among a few cells.
function lmPoints(data) {
  const xy = new Float32Array(lmBytes(data.coords).buffer), n = xy.length / 2;
  const p = { n, xy, labels: lmBytes(data.labels), d: new Float32Array(lmBytes(data.d).buffer),
              r: new Float32Array(lmBytes(data.r).buffer), cell: data.cell, cols: data.cols, perSheet: data.per_sheet };
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, xy[2 * i]); x1 = Math.max(x1, xy[2 * i]);
    y0 = Math.min(y0, xy[2 * i + 1]); y1 = Math.max(y1, xy[2 * i + 1]);
  }
  const padX = (x1 - x0 || 1) * 0.04, padY = (y1 - y0 || 1) * 0.04;
  p.bounds = [x0 - padX, x1 + padX, y0 - padY, y1 + padY];
  const G = (p.G = 128), start = new Int32Array(G * G + 1), bin = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const gx = Math.min(G - 1, Math.floor((xy[2 * i] - p.bounds[0]) / (p.bounds[1] - p.bounds[0]) * G));
    const gy = Math.min(G - 1, Math.floor((xy[2 * i + 1] - p.bounds[2]) / (p.bounds[3] - p.bounds[2]) * G));
    bin[i] = gy * G + gx;
    start[bin[i] + 1]++;
  }
  for (let c = 0; c < G * G; c++) start[c + 1] += start[c];
  const fill = start.slice(0, G * G), order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[bin[i]]++] = i;
  Object.assign(p, { start, order });
  p.sheets = data.sheets.map((url) => { const im = new Image(); im.src = url; return im; });
  return p;
}

function lmMap(root, data, pts, send) {
  const height = data.height, bar = lmEl("div", { className: "lm-bar" }, root);
  const modes = {}, wrap = lmEl("div", { className: "lm-wrap" }, root);
  let mode = window.__lmMode || "pan";  // kept across reruns: a second lasso needs no second click
  for (const [key, text] of [["pan", "Pan"], ["box", "Box select"], ["lasso", "Lasso select"]]) {
    modes[key] = lmEl("button", { textContent: text, className: "lm-button", onclick: () => setMode(key) }, bar);
  }
  lmEl("button", { textContent: "Reset view", className: "lm-button", onclick: () => { view = null; paint(); } }, bar);
  lmEl("span", { className: "lm-hint", textContent: "Ctrl + wheel (or pinch): zoom · hover: the image · click: select" }, bar);
  const setMode = (key) => {
    mode = window.__lmMode = key;
    for (const k in modes) modes[k].classList.toggle("lm-on", k === key);
  };
  setMode(mode);
  const base = lmEl("canvas", { className: "lm-base" }, wrap), over = lmEl("canvas", { className: "lm-over" }, wrap);
  over.setAttribute("aria-label", "latent map: hover a point to see its image, click to select it");
  const tip = lmEl("div", { className: "lm-tip" }, wrap), thumb = lmEl("canvas", {}, tip), tipText = lmEl("div", {}, tip);
  const legend = lmEl("div", { className: "lm-legend" }, root);
  const caption = lmEl("div", { className: "lm-axes", textContent: `x: ${data.axis_titles[0]} · y: ${data.axis_titles[1]}` }, root);
  let view = null, width = 0, dpr = 1;
  const colors = lmBytes(data.colors), palette = data.palette;
  const chosen = new Uint8Array(pts.n);  // a large selection: its points drawn over the others, which fade
  if (data.selected) for (const i of new Uint32Array(lmBytes(data.selected).buffer)) if (i < pts.n) chosen[i] = 1;
  const fade = data.selected ? 0.12 : 0.8;
  const buckets = palette.map(() => []);
  for (let i = 0; i < pts.n; i++) buckets[colors[i] % palette.length].push(i);
  const size = pts.n > 20000 ? 3 : 4;
  // One unit is as long across as up (PCA and z itself have units; t-SNE and UMAP clusters are
  // round): the data's box is widened along the axis it fills less.
  const fit = () => {
    const [x0, x1, y0, y1] = pts.bounds, w = width - LM_MARGIN.left - LM_MARGIN.right, h = height - LM_MARGIN.top - LM_MARGIN.bottom;
    const per = Math.max((x1 - x0) / w, (y1 - y0) / h), cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    return [cx - per * w / 2, cx + per * w / 2, cy - per * h / 2, cy + per * h / 2];
  };
  const sx = (x) => LM_MARGIN.left + (x - view[0]) / (view[1] - view[0]) * (width - LM_MARGIN.left - LM_MARGIN.right);
  const sy = (y) => height - LM_MARGIN.bottom - (y - view[2]) / (view[3] - view[2]) * (height - LM_MARGIN.top - LM_MARGIN.bottom);
  const dx = (px) => view[0] + (px - LM_MARGIN.left) / (width - LM_MARGIN.left - LM_MARGIN.right) * (view[1] - view[0]);
  const dy = (py) => view[2] + (height - LM_MARGIN.bottom - py) / (height - LM_MARGIN.top - LM_MARGIN.bottom) * (view[3] - view[2]);

  function paint() {
    const before = width;
    width = Math.max(320, wrap.clientWidth);
    if (!view || before !== width) view = fit();
    dpr = window.devicePixelRatio || 1;
    for (const c of [base, over]) {
      c.width = width * dpr; c.height = height * dpr;
      c.style.width = `${width}px`; c.style.height = `${height}px`;
    }
    const ctx = base.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.save();
    ctx.beginPath();
    ctx.rect(LM_MARGIN.left, LM_MARGIN.top, width - LM_MARGIN.left - LM_MARGIN.right, height - LM_MARGIN.top - LM_MARGIN.bottom);
    ctx.clip();
    for (const [alpha, wanted] of data.selected ? [[fade, 0], [0.9, 1]] : [[fade, -1]]) {
      ctx.globalAlpha = alpha;
      buckets.forEach((idx, c) => {
        ctx.fillStyle = palette[c];
        for (const i of idx) {
          if (wanted < 0 || chosen[i] === wanted) ctx.fillRect(sx(pts.xy[2 * i]) - size / 2, sy(pts.xy[2 * i + 1]) - size / 2, size, size);
        }
      });
    }
    ctx.globalAlpha = 1;
    ctx.lineWidth = 2;
    for (const [list, color, radius] of [[data.neighbours, "#7f3fbf", 6], [data.highlight, "#000", 8]]) {
      ctx.strokeStyle = color;
      for (const i of list || []) {
        ctx.beginPath(); ctx.arc(sx(pts.xy[2 * i]), sy(pts.xy[2 * i + 1]), radius, 0, 2 * Math.PI); ctx.stroke();
      }
    }
    ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
    for (const [cx, cy, rx, ry] of data.ellipses || []) {  // 1σ of q(z|x) where the map is z itself
      ctx.beginPath();
      ctx.ellipse(sx(cx), sy(cy), Math.abs(sx(cx + rx) - sx(cx)), Math.abs(sy(cy + ry) - sy(cy)), 0, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (data.star) lmStar(ctx, sx(data.star[0]), sy(data.star[1]));
    ctx.restore();
    lmAxes(ctx, view, width, height, sx, sy);
    over.getContext("2d").clearRect(0, 0, over.width, over.height);
  }

  function nearest(px, py, radius) {  // the point within `radius` screen px of (px, py), or -1
    const [b0, b1, b2, b3] = pts.bounds, G = pts.G, x = dx(px), y = dy(py);
    const rx = radius * (view[1] - view[0]) / (width - LM_MARGIN.left - LM_MARGIN.right);
    const ry = radius * (view[3] - view[2]) / (height - LM_MARGIN.top - LM_MARGIN.bottom);
    const gx = (v) => Math.max(0, Math.min(G - 1, Math.floor((v - b0) / (b1 - b0) * G)));
    const gy = (v) => Math.max(0, Math.min(G - 1, Math.floor((v - b2) / (b3 - b2) * G)));
    let best = -1, bestD = radius * radius;
    for (let cy = gy(y - ry); cy <= gy(y + ry); cy++) {
      for (let cx = gx(x - rx); cx <= gx(x + rx); cx++) {
        for (let k = pts.start[cy * G + cx]; k < pts.start[cy * G + cx + 1]; k++) {
          const i = pts.order[k], ex = sx(pts.xy[2 * i]) - px, ey = sy(pts.xy[2 * i + 1]) - py, d = ex * ex + ey * ey;
          if (d <= bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  function showTip(i, px, py, event) {
    if (i < 0) { tip.style.display = "none"; return; }
    const [h, w] = pts.cell, scale = Math.max(2, Math.round(84 / w)), sheet = pts.sheets[Math.floor(i / pts.perSheet)];
    const k = i % pts.perSheet, col = k % pts.cols, row = Math.floor(k / pts.cols);
    thumb.width = w * scale; thumb.height = h * scale;
    const t = thumb.getContext("2d");
    t.imageSmoothingEnabled = false;
    if (sheet.complete) t.drawImage(sheet, col * w, row * h, w, h, 0, 0, w * scale, h * scale);
    const name = data.classes[pts.labels[i]] ?? String(pts.labels[i]);
    const which = data.split_at && i >= data.split_at ? ` (training #${i - data.split_at})` : "";
    tipText.textContent = `#${i}${which} · label ${name} · D ${pts.d[i].toFixed(1)}, R ${pts.r[i].toFixed(1)} nats per image`;
    tip.style.display = "block";
    tip.style.left = `${Math.min(px + 14, width - 190)}px`;
    tip.style.top = `${Math.max(0, Math.min(py + 14, height - h * scale - 40))}px`;
    tip.dataset.index = String(i);
    if (event && Array.isArray(window.__lmTimes)) requestAnimationFrame(() => window.__lmTimes.push(performance.now() - event.timeStamp));
  }

  const octx = over.getContext("2d");
  let drag = null;
  over.addEventListener("pointerdown", (e) => {
    over.setPointerCapture(e.pointerId);
    drag = { x: e.offsetX, y: e.offsetY, view: [...view], path: [[e.offsetX, e.offsetY]], moved: false };
  });
  over.addEventListener("pointermove", (e) => {
    if (!drag) { showTip(nearest(e.offsetX, e.offsetY, 10), e.offsetX, e.offsetY, e); return; }
    drag.moved = drag.moved || Math.hypot(e.offsetX - drag.x, e.offsetY - drag.y) > 4;
    tip.style.display = "none";
    if (mode === "pan") {
      const fx = (e.offsetX - drag.x) / (width - LM_MARGIN.left - LM_MARGIN.right) * (drag.view[1] - drag.view[0]);
      const fy = (e.offsetY - drag.y) / (height - LM_MARGIN.top - LM_MARGIN.bottom) * (drag.view[3] - drag.view[2]);
      view = [drag.view[0] - fx, drag.view[1] - fx, drag.view[2] + fy, drag.view[3] + fy];
      requestAnimationFrame(paint);
      return;
    }
    drag.path.push([e.offsetX, e.offsetY]);
    octx.setTransform(dpr, 0, 0, dpr, 0, 0);
    octx.clearRect(0, 0, width, height);
    octx.strokeStyle = "#444"; octx.setLineDash([4, 3]); octx.lineWidth = 1.5;
    octx.beginPath();
    if (mode === "box") octx.rect(drag.x, drag.y, e.offsetX - drag.x, e.offsetY - drag.y);
    else drag.path.forEach(([x, y], k) => (k ? octx.lineTo(x, y) : octx.moveTo(x, y)));
    octx.stroke();
  });
  over.addEventListener("pointerup", (e) => {
    const d = drag;
    drag = null;
    if (!d) return;
    if (!d.moved) {
      const i = nearest(e.offsetX, e.offsetY, 12);
      if (i >= 0) send({ indices: [i], how: "click" });
      return;
    }
    if (mode === "pan") return;
    const poly = mode === "box" ? [[d.x, d.y], [e.offsetX, d.y], [e.offsetX, e.offsetY], [d.x, e.offsetY]] : d.path;
    const picked = lmInside(pts, poly, sx, sy);
    octx.clearRect(0, 0, over.width, over.height);
    send({ indices: picked, how: mode });
  });
  over.addEventListener("pointerleave", () => { if (!drag) tip.style.display = "none"; });
  over.addEventListener("wheel", (e) => {
    if (!e.ctrlKey && !e.metaKey) return;  // a plain wheel scrolls the page past the map
    e.preventDefault();
    const f = Math.exp(e.deltaY * 0.0015), x = dx(e.offsetX), y = dy(e.offsetY);
    view = [x - (x - view[0]) * f, x + (view[1] - x) * f, y - (y - view[2]) * f, y + (view[3] - y) * f];
    requestAnimationFrame(paint);
  }, { passive: false });
  lmLegend(legend, data);
  // For tests and bench/latent_map.py: a point's place on the canvas, what a polygon holds.
  window.__lmState = { nearest, screen: (i) => [sx(pts.xy[2 * i]), sy(pts.xy[2 * i + 1])], n: pts.n,
                       inside: (poly) => lmInside(pts, poly, sx, sy).length };
  paint();
  new ResizeObserver(() => { if (Math.abs(wrap.clientWidth - width) > 2) paint(); }).observe(wrap);
  return caption;
}

function lmInside(pts, poly, sx, sy) {  // the points whose screen position lies inside the polygon
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of poly) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const out = [];
  for (let i = 0; i < pts.n; i++) {
    const x = sx(pts.xy[2 * i]), y = sy(pts.xy[2 * i + 1]);
    if (x < x0 || x > x1 || y < y0 || y > y1) continue;
    let inside = false;
    for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
      const [xa, ya] = poly[a], [xb, yb] = poly[b];
      if ((ya > y) !== (yb > y) && x < (xb - xa) * (y - ya) / (yb - ya) + xa) inside = !inside;
    }
    if (inside) out.push(i);
  }
  return out;
}

function lmStar(ctx, x, y) {
  ctx.beginPath();
  for (let k = 0; k < 10; k++) {
    const r = k % 2 ? 5 : 12, a = -Math.PI / 2 + k * Math.PI / 5;
    ctx[k ? "lineTo" : "moveTo"](x + r * Math.cos(a), y + r * Math.sin(a));
  }
  ctx.closePath();
  ctx.fillStyle = "gold"; ctx.fill();
  ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5; ctx.stroke();
}

function lmAxes(ctx, view, width, height, sx, sy) {
  ctx.strokeStyle = "rgba(128,128,128,0.6)"; ctx.fillStyle = "#555"; ctx.lineWidth = 1;
  ctx.font = "13px sans-serif";
  ctx.strokeRect(LM_MARGIN.left, LM_MARGIN.top, width - LM_MARGIN.left - LM_MARGIN.right, height - LM_MARGIN.top - LM_MARGIN.bottom);
  const fmt = (v) => (Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(1) : String(+v.toFixed(2)));
  ctx.textAlign = "center";
  for (const v of lmTicks(view[0], view[1], 6)) ctx.fillText(fmt(v), sx(v), height - LM_MARGIN.bottom + 16);
  ctx.textAlign = "right";
  for (const v of lmTicks(view[2], view[3], 5)) ctx.fillText(fmt(v), LM_MARGIN.left - 5, sy(v) + 4);
}

function lmLegend(el, data) {
  if (data.colorbar) {
    const { title, lo, hi } = data.colorbar;
    lmEl("span", { textContent: `${title}: ${lo}` }, el);
    const g = lmEl("span", { className: "lm-gradient" }, el);
    g.style.background = `linear-gradient(to right, ${data.palette.filter((_, k) => k % 32 === 0).join(",")})`;
    lmEl("span", { textContent: hi }, el);
    return;
  }
  data.legend.forEach(([name, c]) => {
    const chip = lmEl("span", { className: "lm-chip" }, el);
    lmEl("span", { className: "lm-swatch" }, chip).style.background = data.palette[c];
    lmEl("span", { textContent: name }, chip);
  });
}

// Called on every script run. Points arrive once per digest; the same data again (a rerun caused
// elsewhere) leaves the map, its zoom and the pointer as they are.
export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let root = parentElement.querySelector(".lm-root");
  if (!root) root = lmEl("div", { className: "lm-root" }, parentElement);
  const { points, ...rest } = data, signature = JSON.stringify(rest);
  if (points && !LM_CACHE[data.digest]) LM_CACHE[data.digest] = lmPoints(points);
  const pts = LM_CACHE[data.digest];
  if (!pts) {
    root.replaceChildren();
    root.dataset.signature = "";
    lmEl("p", { textContent: "Loading the map into the page…" }, root);
    setStateValue("cached", "missing " + data.digest);
    return;
  }
  if (root.dataset.signature === signature && root.childElementCount) return;
  root.replaceChildren();
  root.dataset.signature = signature;
  lmMap(root, data, pts, (value) => setTriggerValue("picked", value));
}
