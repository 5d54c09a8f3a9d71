// The β family's page: one slider through the trained members, each drawn as the explorer's β
// gesture draws it (explorer/gesture_figure.py, one picture per member, made when the page was).
(function () {
  const members = window.VAE_BETA_FAMILY, root = document.getElementById("beta-gesture");
  const box = pdEl("label", { className: "pd-slider" }, root), text = pdEl("span", {}, box);
  const slider = pdEl("input", { type: "range", min: 0, max: members.length - 1, step: 1, value: 0 }, box);
  slider.setAttribute("aria-label", "β: the trained members of the family");
  const ticks = pdEl("div", { className: "site-ticks" }, box);  // the members' β under the track
  members.forEach((m) => pdEl("span", { textContent: `β = ${m.beta}` }, ticks));
  const figures = pdEl("p", {}, root), picture = pdEl("img", { alt: "" }, root);
  picture.style.maxWidth = "100%";
  const note = pdEl("p", { className: "note" }, root);
  const show = () => {
    const m = members[Number(slider.value)];
    text.textContent = `β = ${m.beta}: ${m.name}`;
    figures.textContent = `D ${m.D.toFixed(1)}, R ${m.R.toFixed(1)}, ELBO ${m.elbo.toFixed(1)} nats per image ` +
      `(${m.source}) · active units ${m.active_units} of ${m.latent_dim}`;
    picture.src = "data:image/png;base64," + m.png;
    picture.alt = `β = ${m.beta}: reconstructions, prior samples, latent map, KL per dimension, rate–distortion plane`;
  };
  note.textContent = "Top: test images over their reconstructions; prior samples (seed 0). Bottom: PCA of the test " +
    "images' μ(x), coloured by label; KL of each latent dimension, grey = inactive unit; the family's " +
    "rate–distortion plane, D against R in nats per image, this member ringed.";
  slider.addEventListener("input", show);
  show();
})();
