"""What every page needs to read on a projector (1280×720, 1024×768): less blank space above
the view, and displayed formulas that fit their column. app.py draws it once per run."""
import streamlit as st

# A displayed formula wider than its column is shrunk to fit it instead of being cut off with a
# scroll bar (KaTeX does not break display math): on a 1024-px projector the main column is
# ~560 px, narrower than many of the seeds' equations, and a lesson file's equation can be any
# length. Run once per page; it refits on every change Streamlit makes and on every resize.
FIT_FORMULAS_JS = """<script>
if (!window.__fitFormulas) {
  window.__fitFormulas = () => {
    for (const d of document.querySelectorAll('.katex-display')) {
      const k = d.querySelector(':scope > .katex');
      if (!k) continue;
      k.style.fontSize = '';
      if (d.scrollWidth > d.clientWidth + 1) {
        const size = parseFloat(getComputedStyle(k).fontSize);
        k.style.fontSize = (size * d.clientWidth / d.scrollWidth * 0.98) + 'px';
      }
    }
  };
  let pending = false;
  const refit = () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; window.__fitFormulas(); }); } };
  new MutationObserver(refit).observe(document.body, {childList: true, subtree: true});
  window.addEventListener('resize', refit);
  refit();
}
</script>"""


def fit() -> None:
    # Streamlit leaves 6rem above a page under its top bar: on a 720-px projector that is the
    # first ~100 px of every view. 4.5rem keeps the title, or a lesson panel's border, clear of
    # the menu.
    # Below 1300 px the side margins shrink too: at 1024 px they left the view 564 px of width.
    st.html("<style>.stMainBlockContainer {padding-top: 4.5rem}"
            "@media (max-width: 1300px) {.stMainBlockContainer {padding-left: 2rem; padding-right: 2rem}}</style>")
    st.html(FIT_FORMULAS_JS, unsafe_allow_javascript=True)
