"""A lesson running in the explorer: its step's panel above the view, the view opened in the
step's state, the step in the URL, and the teacher setting.

``?lesson=ID&step=N`` (N from 1) on any address opens step N of lesson ID on its view;
``&teacher=1`` (or the Lessons page's toggle) hides the sidebar and every control the step
does not list. Back and Next move through the steps; the view's own links still work, and
leaving the step's view ends nothing: the sidebar offers the way back.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer import bundles, lessons, pages, selection, widgets

ACTIVE, STEP, TEACHER, GOTO = "lesson", "lesson_step", "lesson_teacher", "lesson_goto"


def _mtimes() -> tuple:
    return tuple((str(p), p.stat().st_mtime) for root in lessons.folders() if root.is_dir() for p in root.glob("*.yaml"))


@st.cache_data(show_spinner=False, max_entries=4)
def _load(views: tuple[str, ...], stamp: tuple) -> tuple[list[lessons.Lesson], list[str]]:
    return lessons.load_all(set(views) or None)


def available() -> tuple[list[lessons.Lesson], list[str]]:
    """The lessons that load and the problems of those that do not (re-read when a file changes)."""
    return _load(tuple(sorted(pages.addresses())), _mtimes())


def current() -> tuple[lessons.Lesson, int] | None:
    """The running lesson and its step index (from 0), or None."""
    found = {lesson.id: lesson for lesson in available()[0]}
    lesson = found.get(st.session_state.get(ACTIVE))
    if lesson is None:
        return None
    return lesson, min(max(int(st.session_state.get(STEP, 0)), 0), len(lesson.steps) - 1)


def start(lesson: lessons.Lesson, k: int) -> None:
    """Enter step ``k`` of ``lesson``: its bundle, image and widget values, and its view next."""
    step = lesson.steps[k]
    ss = st.session_state
    ss[ACTIVE], ss[STEP] = lesson.id, k
    ss["_lesson_url"] = (lesson.id, str(k + 1))  # the address this step writes: not entered again from it
    names = {p.name: str(p) for p in bundles.available_bundles()}
    if step.bundle in names:
        ss["bundle_picker"] = ss["bundle_path"] = names[step.bundle]
    if step.image is not None:
        selection.choose(selection.FIRST, step.image)
    for key, value in step.state.items():
        # A bundle named in the state (the compare view's second bundle) is its folder there.
        ss[key] = names.get(value, value) if isinstance(value, str) else value
        widgets.mark_set(key, ss.get("bundle_path", ""))  # the step's value, for the step's bundle
    ss["own_in_use"] = False  # a step shows what it names, not a drawing made earlier
    ss["lesson_reveal"] = False  # each step's answer stays hidden until the teacher reveals it
    ss[GOTO] = step.view


def next_lesson(lesson: lessons.Lesson) -> lessons.Lesson | None:
    """The lesson after ``lesson`` in the Lessons page's order (by file name), or None."""
    found = available()[0]
    ids = [other.id for other in found]
    k = ids.index(lesson.id) if lesson.id in ids else len(ids)
    return found[k + 1] if k + 1 < len(found) else None


def read_url() -> None:
    """Adopt ``?lesson=ID&step=N&teacher=1`` when the address carries a new one."""
    params = st.query_params
    wanted = (params.get("lesson"), params.get("step", "1"))
    if params.get("teacher") in ("1", "true", "yes"):
        st.session_state[TEACHER] = True
    # The address lags one run behind a Back or Next click: what this session wrote last is not new.
    if wanted[0] is None or wanted in (st.session_state.get("_lesson_url"), st.session_state.get("_lesson_written")):
        return
    found = {lesson.id: lesson for lesson in available()[0]}
    if wanted[0] not in found:
        st.session_state["_lesson_missing"] = wanted[0]
        return
    lesson = found[wanted[0]]
    asked = selection.parse_index(wanted[1])
    k = min(max((asked or 1) - 1, 0), len(lesson.steps) - 1)
    if asked is None or asked != k + 1:  # not a number, or no such step: said, not silently replaced
        st.session_state.setdefault(selection.NOTICE, []).append(
            f"step {wanted[1][:20]!r} of the lesson {lesson.id}, which has steps 1 to {len(lesson.steps)} "
            f"(step {k + 1} opened)")
    start(lesson, k)


def url_params() -> dict[str, str]:
    """The lesson's part of the address, kept beside the bundle and images."""
    running = current()
    if running is None:
        return {}
    out = {"lesson": running[0].id, "step": str(running[1] + 1)}
    st.session_state["_lesson_written"] = (out["lesson"], out["step"])
    if st.session_state.get(TEACHER):
        out["teacher"] = "1"
    return out


def leave() -> None:
    """End the lesson ("_lesson_url" stays, so the address it leaves behind does not restart it)."""
    for key in (ACTIVE, STEP):
        st.session_state.pop(key, None)


def panel(here: str) -> None:
    """The step's text, equation and question above its view, with Back and Next; on another
    view, a way back in the sidebar. ``here`` is the running page's address."""
    if st.session_state.pop("_lesson_missing", None):
        st.warning("The link names a lesson that is not here; the Lessons page lists those that are.")
    running = current()
    if running is None:
        return
    lesson, k = running
    step = lesson.steps[k]
    if here != step.view:
        st.sidebar.button(f"Back to the lesson: {lesson.title}, step {k + 1}", key="lesson_resume",
                          on_click=start, args=(lesson, k), icon=":material/school:")
        return
    with st.container(border=True, key="lesson_panel"):
        # Compact, so that the view starts above the fold of a 720-px projector: the step's
        # place and its buttons share one row, the title is a small heading.
        head, b1, b2, b3 = st.columns([5, 1, 1, 1], vertical_alignment="center")
        head.caption(f"Lesson · {lesson.title} · step {k + 1} of {len(lesson.steps)}")
        b1.button("Back", key="lesson_back", disabled=k == 0, on_click=start, args=(lesson, k - 1),
                  icon=":material/arrow_back:", width="stretch")
        b2.button("Next", key="lesson_next", disabled=k == len(lesson.steps) - 1, on_click=start,
                  args=(lesson, k + 1), icon=":material/arrow_forward:", type="primary", width="stretch")
        b3.button("Leave", key="lesson_leave", on_click=leave, icon=":material/close:", width="stretch")
        st.markdown(f"#### {step.title}")
        st.markdown(step.text)
        st.latex(step.equation)
        st.info(f"**Question for the class:** {step.question}", icon=":material/help:")
        if step.answer and st.toggle("Reveal the answer", key="lesson_reveal"):
            st.success(step.answer, icon=":material/lightbulb:")
        st.caption(f"Source: {step.seed}")
        if k == len(lesson.steps) - 1:
            following = next_lesson(lesson)
            if following is not None:
                st.button(f"Next lesson: {following.title}", key="lesson_following", on_click=start,
                          args=(following, 0), icon=":material/school:", type="primary")
        if step.bundle and Path(st.session_state.get("bundle_path", "")).name != step.bundle:
            st.warning(f"This step shows the bundle {step.bundle}, which is not available here; the view "
                       "below shows the one open in the sidebar.")
    if st.session_state.get(TEACHER):
        hide_controls(step.controls)


def hide_controls(keep: tuple[str, ...]) -> None:
    """The teacher setting: no sidebar, and of the view's widgets only those the step lists.
    Streamlit gives each keyed element the class st-key-KEY; charts (a full-screen frame) and
    the lesson's own buttons stay."""
    kept = "".join(f":not(.st-key-{key})" for key in keep)
    st.html("<style>"
            "[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], "
            "[data-testid='stExpandSidebarButton'] {display: none !important}"
            f".stMain .stElementContainer[class*='st-key-']:not([class*='st-key-lesson_'])"
            f":not(:has([data-testid='stFullScreenFrame'])){kept} {{display: none !important}}"
            "</style>")
