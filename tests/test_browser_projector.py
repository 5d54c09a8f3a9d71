"""Every page of each kind of bundle on a projector (1280×720 and 1024×768), and every lesson step
as a class sees it, in headless Chromium (issue 27). Skips without Playwright or Chromium, as test_browser.py does."""
import pytest
from browser import BETA_PAGES, DRAWN_JS, browser_fixtures, chromium_path, page_plan, wait_until_drawn

from explorer import lessons

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright not installed (pip install playwright)")
if chromium_path() is None:
    pytest.skip("Chromium not found (apt install chromium, or set $CHROMIUM)", allow_module_level=True)

server, browser, _ = browser_fixtures()
PROJECTORS = ({"width": 1280, "height": 720}, {"width": 1024, "height": 768})

# Every visible formula, chart and picture of the main column, and the element around it, wider
# than the room it has (3 px of rounding allowed). A table scrolls by design and is left out.
OVERFLOW_JS = """() => {
  const out = [], shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const what = (e) => (e.innerText || e.className || '').replace(/\\s+/g, ' ').slice(0, 50);
  for (const e of document.querySelectorAll('[data-testid="stMain"] .stElementContainer')) {
    if (shown(e) && !e.querySelector('[data-testid="stDataFrame"]') && e.scrollWidth > e.clientWidth + 3)
      out.push(`an element ${e.scrollWidth} px wide in ${e.clientWidth}: ${what(e)}`);
  }
  for (const k of document.querySelectorAll('[data-testid="stMain"] .katex-display')) {
    if (shown(k) && k.scrollWidth > k.clientWidth + 3)
      out.push(`a formula ${k.scrollWidth} px wide in ${k.clientWidth}: ${what(k)}`);
  }
  return out;
}"""


@pytest.fixture(scope="module")
def projector(browser):
    p = browser.new_page(viewport=PROJECTORS[0])
    yield p
    p.close()


# Every page on the Gaussian VAE, every page the VQ-VAE has (its own and its wording of the shared
# ones), and the pages that draw the two-stage VAE's second stage: the rest are the Gaussian
# VAE's, word for word. Each page costs the suite ~3 s, so a page a lesson step opens is checked
# by the lesson walk below (at both sizes too), and a β page on any member of the family.
LESSONS = lessons.load_all(roots=[lessons.FOLDER])[0]
TWO_STAGE_PAGES = {"generation", "aggregate", "model_card"}
WALKED = {(s.view, s.bundle or "mnist-conv-z16") for lesson in LESSONS for s in lesson.steps}
PLAN = [(a, b) for a, b in page_plan() if (b != "mnist-two-stage" or a in TWO_STAGE_PAGES) and (a, b) not in WALKED
        and not (a in BETA_PAGES and any(view == a for view, _ in WALKED))]


@pytest.mark.parametrize("address, bundle", PLAN, ids=[f"{a or 'reconstructions'}-{b}" for a, b in PLAN])
def test_no_formula_or_figure_overflows_at_1280x720_or_1024x768(server, projector, address, bundle):
    page, found = projector, {}
    page.set_viewport_size(PROJECTORS[0])
    page.goto(f"{server}/{address}?bundle={bundle}")
    wait_until_drawn(page)
    assert page.get_by_test_id("stException").count() == 0
    for size in PROJECTORS:
        page.set_viewport_size(size)
        page.wait_for_timeout(100)  # plotly's resize handler and the formulas' refit run on the next frames
        page.wait_for_function(DRAWN_JS, timeout=60_000)
        found[f"{size['width']}×{size['height']}"] = page.evaluate(OVERFLOW_JS)
    assert not any(found.values()), found


# A step's names, checked on the page the class sees: no sidebar and no control it does not list;
# each control it keeps is shown with a size, and no heading of the view stands over a section the teacher setting emptied (a caption
# left under it is not its content).
STEP_JS = """(keep) => {
  const out = [], shown = (e) => e.getClientRects().length > 0;
  for (const key of keep) {
    const e = document.querySelector('.st-key-' + key);  // absent: a widget of another state (mask, not noise)
    const box = e && e.getBoundingClientRect();
    if (e && (!shown(e) || box.width < 2 || box.height < 2)) out.push(`the control ${key} is hidden or empty`);
  }
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  if (sidebar && shown(sidebar) && sidebar.getBoundingClientRect().width > 2) out.push('the sidebar is shown');
  for (const e of document.querySelectorAll('[data-testid="stMain"] .stElementContainer[class*="st-key-"]')) {
    const key = [...e.classList].find((c) => c.startsWith('st-key-')).slice(7);
    const control = e.querySelector('[role="slider"], input, textarea, [data-baseweb="select"]');
    if (control && shown(e) && !keep.includes(key) && !key.startsWith('lesson_')) out.push(`the control ${key} is not the step's`);
  }
  const items = [...document.querySelectorAll('[data-testid="stMain"] .stElementContainer')]
    .filter((e) => !e.closest('.st-key-lesson_panel'));
  items.forEach((e, i) => {
    const heading = e.querySelector('h2, h3');
    if (!heading || !shown(e)) return;
    let j = i + 1, content = false;
    for (; j < items.length && !items[j].querySelector('h1, h2, h3'); j++) {
      const r = items[j].getBoundingClientRect(), caption = items[j].querySelector('[data-testid="stCaptionContainer"]');
      if (shown(items[j]) && !caption && r.width > 2 && r.height > 2) { content = true; break; }  // a caption is not what it heads
    }
    if (!content && j < items.length) out.push(`the heading "${heading.innerText}" stands over nothing`);
  });
  return out;
}"""


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_every_step_shows_what_it_names_with_the_teacher_setting_on(server, projector, lesson):
    page = projector
    page.set_viewport_size(PROJECTORS[0])
    page.goto(f"{server}/?lesson={lesson.id}&step=1&teacher=1")
    problems = {}
    for k, step in enumerate(lesson.steps):
        sync_api.expect(page.get_by_text(f"step {k + 1} of {len(lesson.steps)}")).to_be_visible(timeout=60_000)
        wait_until_drawn(page)
        assert page.get_by_test_id("stException").count() == 0, (lesson.id, k + 1)
        found = page.evaluate(STEP_JS, list(step.controls)) + page.evaluate(OVERFLOW_JS)
        page.set_viewport_size(PROJECTORS[1])
        page.wait_for_timeout(100)
        page.wait_for_function(DRAWN_JS, timeout=60_000)
        found += [f"at 1024×768, {what}" for what in page.evaluate(OVERFLOW_JS)]
        page.set_viewport_size(PROJECTORS[0])
        if found:
            problems[k + 1] = found
        if k + 1 < len(lesson.steps):
            page.get_by_role("button", name="Next", exact=True).click()
    assert not problems, problems
