// A bundle's static page: every widget decodes in the page, with the explorer's own kernels and
// interactions (decoder_kernels.js, decoder_ui.js, loaded before this file), from the data that
// explorer/site/content.py wrote into data.js. No request leaves the folder; nothing is sent
// anywhere. Texts and equations are already in the HTML (explorer/texts.py).
(function () {
  const S = window.VAE_SITE_DATA, [C, H, W] = S.image_shape, NPX = C * H * W;
  const decoder = buildPageDecoder(S.decoder.spec, pdFloats(S.decoder.weights, S.decoder.dtype));
  window.__vaePageDecoders[S.decoder.digest] = decoder;  // pdMount finds it there, no weights resent
  const bytes = Uint8Array.from(atob(S.images), (c) => c.charCodeAt(0));
  const N = S.labels.length, VQ = S.family === "vq", DIM = VQ ? 0 : S.mu[0].length;
  // Screen pixels per image pixel for an image about `px` wide, whatever the data set's size:
  // 84 px in grids, 224 px for the image a control moves (legible on a projector).
  const fit = (px) => Math.max(1, Math.round(px / W)), scale = fit(84), big = fit(224);
  const fmt = (v) => (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(2);
  const caption = (k) => `#${k} label ${S.classes[S.labels[k]]} · D ${S.D[k].toFixed(1)} · R ${S.R[k].toFixed(1)}`;
  const thumb = (k) => {
    const out = new Float32Array(NPX);
    for (let p = 0; p < NPX; p++) out[p] = bytes[k * NPX + p] / 255;
    return out;
  };
  const latentOf = (k) => (VQ ? S.codes[k] : S.mu[k]);

  // Seeded draws, so "New samples" is a new seed and a page reload shows the same first grid.
  function rng(seed) {
    let a = seed >>> 0;
    const uniform = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    return { uniform, normal };
  }

  // vae_core.analysis.interpolate, for the pair the reader picks (tests/test_site.py compares them).
  function interpolate(z0, z1, steps, method) {
    const n = z0.length, dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
    const r0 = Math.sqrt(dot(z0, z0)), r1 = Math.sqrt(dot(z1, z1)), out = [];
    const u0 = z0.map((v) => v / r0), u1 = z1.map((v) => v / r1);
    const omega = Math.acos(Math.min(1, Math.max(-1, dot(u0, u1))));
    let v = u1.map((x, i) => x - dot(u0, u1) * u0[i]);
    if (Math.sqrt(dot(v, v)) < 1e-6) {  // opposite ends: turn through the dimension least aligned with z0
      const e = new Array(n).fill(0), j = u0.reduce((b, x, i) => (Math.abs(x) < Math.abs(u0[b]) ? i : b), 0);
      e[j] = 1;
      v = e.map((x, i) => x - u0[j] * u0[i]);
    }
    const vn = Math.sqrt(dot(v, v));
    v = v.map((x) => x / vn);
    for (let s = 0; s < steps; s++) {
      const t = s / (steps - 1);
      if (method === "linear" || Math.min(r0, r1) < 1e-12) out.push(z0.map((a, i) => (1 - t) * a + t * z1[i]));
      else {
        const r = (1 - t) * r0 + t * r1, c = Math.cos(t * omega), sn = Math.sin(t * omega);
        out.push(u0.map((a, i) => r * (omega < 1e-4 ? a : c * a + sn * v[i])));
      }
    }
    return out;
  }

  function mount(el, mode, data, onRelease) {
    el.replaceChildren();
    el.dataset.signature = "";
    const host = pdEl("div", {}, el);
    pdMount({
      data: { mode, digest: S.decoder.digest, spec: S.decoder.spec, dtype: S.decoder.dtype, ...data },
      parentElement: host, setStateValue: () => {}, setTriggerValue: (_, value) => onRelease && onRelease(value),
    });
  }

  function picker(parent, label, options, value, onChange) {
    const box = pdEl("label", { className: "site-pick" }, parent);
    pdEl("span", { textContent: label }, box);
    const select = pdEl("select", {}, box);
    options.forEach(([v, text]) => pdEl("option", { value: String(v), textContent: text }, select));
    select.value = String(value);
    select.addEventListener("change", () => onChange(select.value));
    return select;
  }
  const imageOptions = () => S.labels.map((c, k) => [k, `#${k} (${S.classes[c]})`]);

  function grid(parent, latents, draw) {
    const row = pdEl("div", { className: "site-grid" }, parent);
    row.style.maxWidth = `${8 * (W * scale + 8)}px`;  // rows of 8: the cell, its border and the gap
    latents.forEach((z, k) => {
      const cell = pdImage(row, S.image_shape, scale, "");
      cell.draw(draw ? draw(decoder.decode(z)) : decoder.decode(z), null);
    });
    return row;
  }

  const widgets = {
    reconstructions(el) {
      const controls = pdEl("div", { className: "site-controls" }, el), body = pdEl("div", {}, el);
      let order = "first", page = 0;
      const ranked = [...Array(N).keys()].sort((a, b) => S.D[a] - S.D[b]);
      const show = () => {
        const pool = order === "worst" ? [...ranked].reverse() : order === "best" ? ranked : [...Array(N).keys()];
        body.replaceChildren();
        const row = pdEl("div", { className: "site-grid" }, body);
        for (const k of pool.slice(page * 8, page * 8 + 8)) {
          const col = pdEl("div", { className: "site-column" }, row);
          pdImage(col, S.image_shape, scale, "").draw(thumb(k), null);
          const recon = pdImage(col, S.image_shape, scale, caption(k));
          recon.draw(decoder.decode(latentOf(k)), null);
        }
      };
      picker(controls, "Which images", [["first", "in order"], ["worst", "worst (highest D)"], ["best", "best (lowest D)"]],
             order, (v) => { order = v; page = 0; show(); });
      const next = pdEl("button", { textContent: "Next 8 images" }, controls);
      pdEl("p", { className: "note", textContent: "Each column: a test image, then " + (VQ ? "E[x | z_q(x)]" : "E[x | z = μ(x)]") +
        ", decoded here; under it: index · label · D and R in nats per image" +
        (S.dataset.binarized ? " (scored on a binarized copy of the grey image shown)." : ".") }, el).after(body);
      next.addEventListener("click", () => { page = (page + 1) % Math.ceil(N / 8); show(); });
      show();
    },

    traversals(el) {
      const controls = pdEl("div", { className: "site-controls" }, el), body = pdEl("div", {}, el);
      const lead = S.order.slice(0, Math.min(DIM, 6));
      const show = (anchor) => {
        const z = anchor === "prior" ? new Array(DIM).fill(0) : S.mu[Number(anchor)];
        mount(body, "sliders", {
          z, lo: -3, hi: 3, scale: big,
          dims: lead.map((j) => ({ index: j, offset: 0, label: `z${j}: offset from the anchor (KL ${S.kl_mean[j].toFixed(2)} nats per image)` })),
        });
      };
      picker(controls, "Anchor z̄", [["prior", "the prior mean z = 0"], ...imageOptions().map(([k, t]) => [k, `μ of ${t}`])], 0, show);
      show(0);
    },

    manifold(el) {
      const m = S.manifold, [i, j] = m.dims, size = Math.min(360, el.clientWidth - 4 || 360);
      pdEl("p", { className: "note", textContent: "Here the anchor z̄ is the prior mean, 0. Move over the grid: the z under " +
        "the pointer, between the cells too, is decoded beside it." }, el);
      mount(pdEl("div", {}, el), "pad", {
        z: new Array(DIM).fill(0), dims: m.dims, x_values: m.values, y_values: m.values, size, scale: big,
        background: m.background, start: [0.5, 0.5],
        axes_label: `z${i} right and z${j} up (the two dimensions of largest KL) at the prior's quantiles 5 % to 95 %; ` +
          (DIM > 2 ? `the other ${DIM - 2} dimensions held at 0` : "the whole 2-D latent"),
      });
    },

    interpolation(el) {
      const controls = pdEl("div", { className: "site-controls" }, el), body = pdEl("div", {}, el);
      let a = 0, b = Math.min(1, N - 1);
      const show = () => mount(body, "path", {
        paths: { linear: interpolate(S.mu[a], S.mu[b], 129, "linear"), "spherical (slerp)": interpolate(S.mu[a], S.mu[b], 129, "spherical") },
        t: 0.5, from: `#${a}`, to: `#${b}`, scale: fit(168),
      });
      picker(controls, "From", imageOptions(), a, (v) => { a = Number(v); show(); });
      picker(controls, "To", imageOptions(), b, (v) => { b = Number(v); show(); });
      show();
    },

    latent_map(el) {
      const colors = ["#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC"];
      const xy = S.map.coords, size = Math.min(360, el.clientWidth - 4 || 360);
      const legend = () => {
        const box = pdEl("div", { className: "site-legend" }, el);
        S.classes.forEach((name, c) => { const s = pdEl("span", { textContent: "● " + name }, box); s.style.color = colors[c % colors.length]; });
      };
      if (DIM === 2) {  // the plane is the latent itself: hover decodes the z under the cursor
        const lim = Math.max(3, 1.05 * Math.max(...xy.flat().map(Math.abs)));
        pdEl("p", { className: "note", textContent: "This model's latent is 2-D: the plane is z itself, no projection. Move over " +
          "it and the decoder's mean at the z under the pointer is drawn beside it." }, el);
        mount(pdEl("div", {}, el), "pad", {
          z: [0, 0], dims: [0, 1], x_values: [-lim, lim], y_values: [-lim, lim], size, scale: big, colors, start: [0.5, 0.5],
          points: xy.map(([x, y], k) => [(x + lim) / (2 * lim), (y + lim) / (2 * lim), S.labels[k]]),
          axes_label: `z0 right, z1 up, from ${(-lim).toFixed(1)} to ${lim.toFixed(1)} latent units; each dot an image's μ, coloured by label`,
        });
        legend();
        return;
      }
      const row = pdEl("div", { className: "pd-row" }, el), wrap = pdEl("div", {}, row);
      const canvas = pdEl("canvas", { width: size, height: size, className: "site-map" }, wrap);
      pdEl("div", { className: "pd-axes", textContent: `${S.map.method} of ${N} posterior means: ${S.map.axes[0]} right, ${S.map.axes[1]} up` }, wrap);
      const image = pdImage(row, S.image_shape, big, "hover over a point, or tap it");
      const lo = [0, 1].map((d) => Math.min(...xy.map((p) => p[d]))), hi = [0, 1].map((d) => Math.max(...xy.map((p) => p[d])));
      const span = [0, 1].map((d) => hi[d] - lo[d] || 1);  // one image, or all on a line: no division by 0
      const px = xy.map(([x, y]) => [6 + ((x - lo[0]) / span[0]) * (size - 12), size - 6 - ((y - lo[1]) / span[1]) * (size - 12)]);
      const ctx = canvas.getContext("2d");
      px.forEach(([x, y], k) => { ctx.fillStyle = colors[S.labels[k] % colors.length]; ctx.fillRect(x - 2, y - 2, 4, 4); });
      const show = (event) => {  // the nearest point within 20 px: a tap on a phone, a hover with a mouse
        let best = -1, dist = 400;
        px.forEach(([x, y], k) => { const d = (x - event.offsetX) ** 2 + (y - event.offsetY) ** 2; if (d < dist) { dist = d; best = k; } });
        if (best < 0) return;
        image.draw(thumb(best), event);
        image.label.textContent = caption(best) + " (the test image; D and R in nats per image)";
      };
      image.draw(thumb(0), null);
      image.label.textContent = caption(0) + ": hover over a point, or tap it, to see another";
      canvas.addEventListener("pointermove", show);
      canvas.addEventListener("pointerdown", show);
      legend();
      if (!S.map.plane) return;
      const lim = 1.05 * Math.max(...xy.flat().map(Math.abs));
      pdEl("h4", { textContent: "The PCA plane as a decoder" }, el);
      pdEl("p", { className: "note", textContent: "A point (a, b) of the map above is the latent z = μ̄ + a·u₁ + b·u₂: the mean of " +
        "the posterior means plus a steps along the first principal direction and b along the second, every other " +
        "direction held at the mean. Move over the plane and that z is decoded beside it." }, el);
      mount(pdEl("div", {}, el), "pad", {
        z: S.map.plane.origin, basis: S.map.plane.basis, dims: [0, 1], x_values: [-lim, lim], y_values: [-lim, lim],
        size, scale: big, colors, start: [0.5, 0.5], plane_labels: ["PC 1", "PC 2"],
        points: xy.map(([x, y], k) => [(x + lim) / (2 * lim), (y + lim) / (2 * lim), S.labels[k]]),
        axes_label: `PC 1 right, PC 2 up, from ${(-lim).toFixed(1)} to ${lim.toFixed(1)} latent units; each dot an image's μ`,
      });
    },

    generation(el) {
      const controls = pdEl("div", { className: "site-controls" }, el), body = pdEl("div", {}, el);
      let seed = 0, temperature = 1, sampled = false;
      const bernoulli = S.likelihood === "bernoulli";
      const box = pdEl("label", { className: "pd-slider" }, controls), text = pdEl("span", {}, box);
      const slider = pdEl("input", { type: "range", min: 0, max: 2, step: 0.1, value: 1 }, box);
      slider.setAttribute("aria-label", "temperature T");
      if (bernoulli) picker(controls, "Show", [["mean", "decoder mean E[x|z]"], ["sample", "sample x ~ p(x|z)"]], "mean", (v) => { sampled = v === "sample"; show(); });
      const again = pdEl("button", { textContent: "New samples" }, controls);
      const show = () => {
        text.textContent = `Temperature T = ${temperature.toFixed(1)}`;
        body.replaceChildren();
        const r = rng(1000 + seed), noise = rng(2000 + seed);
        const pixels = sampled ? (mean) => mean.map((p) => (noise.uniform() < p ? 1 : 0)) : null;
        if (VQ) {
          const start = (seed * 16) % S.prior_pool.length;
          pdEl("h4", { textContent: `PixelCNN prior, T = 1 (${S.prior_pool.length} drawn when the page was made: the page cannot run the PixelCNN)` }, body);
          grid(body, S.prior_pool.slice(start, start + 16), pixels);
          pdEl("h4", { textContent: "uniform codes, drawn in your browser" }, body);
          grid(body, [...Array(16)].map(() => [...Array(S.latent_shape[0] * S.latent_shape[1])].map(() => Math.floor(r.uniform() * S.codebook_size))), pixels);
          return;
        }
        const zs = [...Array(16)].map(() => [...Array(DIM)].map(() => temperature * r.normal()));
        pdEl("h4", { textContent: S.family === "two_stage" ? `stage 1: z ~ N(0, T²I), drawn in your browser` : "z ~ N(0, T²I), drawn in your browser" }, body);
        grid(body, zs, pixels);
        if (S.family === "two_stage") {
          const start = (seed * 16) % S.stage2_pool.length;
          pdEl("h4", { textContent: `stage 2: z from u ~ N(0, I) through stage 2, T = 1 (${S.stage2_pool.length} drawn when the page was made: the page does not run stage 2)` }, body);
          grid(body, S.stage2_pool.slice(start, start + 16), pixels);
        }
      };
      slider.addEventListener("input", () => { temperature = Number(slider.value); show(); });
      again.addEventListener("click", () => { seed += 1; show(); });
      if (VQ) box.remove();  // the PixelCNN's temperature needs the PixelCNN
      show();
    },

    code_edit(el) {
      const controls = pdEl("div", { className: "site-controls" }, el), body = pdEl("div", {}, el);
      const [h, w] = S.latent_shape;
      let k = 0, row = Math.floor(h / 2), col = Math.floor(w / 2), codes = [...S.codes[0]];
      const show = () => mount(body, "codes", { grid: codes, cell: row * w + col, row, col, candidates: S.by_use, scale: big },
                               (value) => { codes[row * w + col] = value.code; show(); });
      picker(controls, "Image", imageOptions(), k, (v) => { k = Number(v); codes = [...S.codes[k]]; show(); });
      picker(controls, "Row", [...Array(h).keys()].map((r) => [r, String(r)]), row, (v) => { row = Number(v); show(); });
      picker(controls, "Column", [...Array(w).keys()].map((c) => [c, String(c)]), col, (v) => { col = Number(v); show(); });
      show();
    },
  };

  for (const el of document.querySelectorAll("[data-widget]")) {
    try {
      widgets[el.dataset.widget](el);
    } catch (error) {  // one broken widget says so and leaves the others working
      el.textContent = `This section could not be drawn: ${error.message}`;
    }
  }
  window.vaeSite = { interpolate, decoder, fmt };
})();
