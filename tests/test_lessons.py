"""Guided lessons: files checked with their name and line, every shipped step run in AppTest,
the step in the URL, the teacher setting."""
import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from explorer import lessons

APP = str(REPO / "explorer" / "app.py")
GOOD = """title: A lesson
summary: one line
steps:
  - title: First
    view: objective
    equation: 'x'
    seed: seeds/000
    text: Look.
    question: Why?
"""


def test_a_good_file_parses_into_steps():
    lesson = lessons.parse(GOOD, "good.yaml", {"objective"})
    assert lesson.id == "good" and lesson.steps[0].view == "objective" and lesson.steps[0].controls == ()


@pytest.mark.parametrize("text, line, problem", [
    (GOOD.replace("    text: Look.\n", ""), 4, "lacks text"),
    (GOOD.replace("view: objective", "view: nowhere"), 5, "no view is called 'nowhere'"),
    (GOOD.replace("    question: Why?", "    question: Why?\n    colour: red"), 10, "unknown field 'colour'"),
    (GOOD.replace("title: First", "title: [First"), 5, "not valid YAML"),
    (GOOD.replace("    question: Why?", "    question: Why?\n    image: three"), 10, "whole number"),
    ("- just a list\n", 1, "a lesson is a mapping"),
])
def test_a_malformed_file_is_reported_with_its_name_and_line(text, line, problem):
    with pytest.raises(lessons.LessonError) as err:
        lessons.parse(text, "broken.yaml", {"objective"})
    assert err.value.file == "broken.yaml" and err.value.line == line and problem in err.value.problem


def test_one_bad_file_leaves_the_others_loading(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD.replace("view: objective", "view: [objective"))
    found, problems = lessons.load_all({"objective"}, [tmp_path])
    assert [lesson.id for lesson in found] == ["a"] and len(problems) == 1 and problems[0].startswith("b.yaml, line ")


# Files that escaped lessons.py as TypeError, ConstructorError, ReaderError and ValueError and broke
# every page (issue 23), and a 616-byte alias bomb that grew the server to 5.5 GB.
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
HOSTILE = {
    "complex key": GOOD.replace("    question: Why?", "    question: Why?\n    ? [a, b]\n    : c"),
    "python tag": GOOD.replace("text: Look.", "text: !!python/object:os.system ls"),
    "control character": GOOD.replace("text: Look.", "text: Lo\x07ok."),
    "superscript digit": GOOD.replace("    question: Why?", "    question: Why?\n    image: \"²\""),
    "alias bomb": GOOD.replace("summary: one line", BOMB + "summary: *i", 1),  # do not run it on the old code
    "anchor": GOOD.replace("text: Look.", "text: &t Look.\n    seed2: *t"),
}


@pytest.mark.parametrize("name", HOSTILE, ids=list(HOSTILE))
def test_a_hostile_lesson_file_is_one_problem_and_the_others_load(tmp_path, name):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "hostile.yaml").write_text(HOSTILE[name], encoding="utf-8")
    found, problems = lessons.load_all({"objective"}, [tmp_path])
    assert [lesson.id for lesson in found] == ["a"]
    assert len(problems) == 1 and problems[0].startswith("hostile.yaml, line "), problems
    assert "cannot be used" not in problems[0]  # a sentence about the file, not the safety net's exception


def test_a_lesson_file_over_the_size_limit_is_refused_unread(tmp_path):
    (tmp_path / "big.yaml").write_text(GOOD + "#" * (lessons.MAX_LESSON_BYTES + 1))
    found, problems = lessons.load_all({"objective"}, [tmp_path])
    assert not found and "over" in problems[0] and problems[0].startswith("big.yaml")


def open_lesson(lesson: str, step: int, teacher: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["lesson"] = lesson
    at.query_params["step"] = str(step)
    if teacher:
        at.query_params["teacher"] = "1"
    at.run()
    assert not at.exception, (lesson, step, [e.message for e in at.exception])
    return at


def shipped() -> list[lessons.Lesson]:
    found, problems = lessons.load_all(roots=[lessons.FOLDER])
    assert not problems, problems
    return found


LECTURE_NOTES = ('Course 2025, chapter 1, "VAE"', '"Variational Auto Encoders"', 'Bouadjenek, "Variational AutoEncoder"',
                 '"Variational AutoEncoders" (blog post)', '"Variational Auto-Encoder" (blog post')


def test_at_least_seven_lessons_ship_along_the_lecture_notes_citing_them_by_title():
    """A student cannot look up "seeds/003 (blog)": each step names a lecture note by its title
    (and where it builds on a paper, the paper by authors, year and title)."""
    found = shipped()
    assert len(found) >= 7
    for lesson in found:
        for k, step in enumerate(lesson.steps):
            assert "seeds/" not in step.seed and any(n in step.seed for n in LECTURE_NOTES), (lesson.id, k + 1)


@pytest.mark.parametrize("lesson", shipped(), ids=lambda lesson: lesson.id)
def test_every_step_of_every_shipped_lesson_opens_its_view_in_its_state(lesson):
    at = open_lesson(lesson.id, 1)
    for k, step in enumerate(lesson.steps):
        assert at.session_state["lesson_step"] == k
        assert any(m.value == f"#### {step.title}" for m in at.main.markdown), (lesson.id, k)  # the step's panel
        assert any(q.value.startswith("**Question for the class:**") for q in at.main.info)
        if step.bundle:
            assert at.session_state["bundle_path"].endswith("/" + step.bundle), (lesson.id, k)
        if step.image is not None:
            assert at.session_state["i"] == step.image
        for key, value in step.state.items():
            assert key == "compare_with" or at.session_state[key] == value, (lesson.id, k, key)
        assert not [w for w in at.main.warning if "not available here" in w.value]
        if k + 1 < len(lesson.steps):
            at.button(key="lesson_next").click().run()
            assert not at.exception, (lesson.id, k + 1, [e.message for e in at.exception])


def test_a_link_opens_step_3_and_the_teacher_setting_hides_the_unused_controls():
    at = open_lesson("02-elbo-gap", 3, teacher=True)
    assert at.session_state["lesson_step"] == 2
    styles = [h.proto.body for h in at.get("html")]  # style-only HTML goes to the event container
    assert any("stSidebar" in s and "[class*='st-key-']" in s for s in styles)  # the CSS that hides them
    at.button(key="lesson_back").click().run()  # step 2 lists no control either; step 1 keeps β
    at.button(key="lesson_back").click().run()
    styles = [h.proto.body for h in at.get("html")]  # style-only HTML goes to the event container
    assert any(":not(.st-key-beta)" in s for s in styles)


def test_a_malformed_lesson_file_is_named_on_the_lessons_page(tmp_path, monkeypatch):
    (tmp_path / "zz-broken.yaml").write_text(GOOD.replace("    text: Look.\n", ""))
    monkeypatch.setenv(lessons.LESSONS_ENV, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("views/lessons.py").run()
    assert not at.exception
    assert any("zz-broken.yaml, line 4" in e.value for e in at.main.error)
    assert len([b for b in at.main.button if b.key.startswith("lesson_start_")]) == len(shipped())


def test_every_lesson_step_the_seed_equation_table_names_exists_and_opens_that_view():
    import re

    table = (REPO / "docs" / "seed-equations.md").read_text(encoding="utf-8")
    steps = {lesson.id: lesson.steps for lesson in shipped()}
    named = re.findall(r"(\d\d-[a-z0-9-]+) step (\d+) \(([a-z_]+)\)", table)
    assert len(named) >= 20
    for lesson, k, view in named:
        assert lesson in steps and int(k) <= len(steps[lesson]), (lesson, k)
        assert steps[lesson][int(k) - 1].view == view, (lesson, k, view)


def test_the_beta_slider_starts_at_each_bundle_s_trained_beta_and_a_step_can_set_it(tmp_path, monkeypatch):
    """04 step 3 (mnist-beta-8) after step 2 (β = 1) showed "β·R (β = 1)": the slider kept step
    2's value under the teacher setting, which hid it."""
    at = open_lesson("04-beta-collapse", 2, teacher=True)
    assert at.slider(key="beta").value == 1.0
    at.button(key="lesson_next").click().run()
    assert at.slider(key="beta").value == 8.0
    shown = {m.label: float(m.value) for m in at.metric}
    assert abs(shown["β·R (nats/image)"] - 8 * shown["R = KL (nats/image)"]) < 0.05, shown
    (tmp_path / "zz-set.yaml").write_text(GOOD.replace("    view: objective\n",
                                                       "    view: objective\n    bundle: mnist-beta-8\n    state: {beta: 2.5}\n"))
    monkeypatch.setenv(lessons.LESSONS_ENV, str(tmp_path))
    at = open_lesson("zz-set", 1)
    assert at.slider(key="beta").value == 2.5


def test_an_answer_waits_for_the_reveal_and_the_last_step_offers_the_next_lesson():
    at = open_lesson("04-beta-collapse", 4, teacher=True)
    assert not [s for s in at.main.success if "β = 1" in s.value]
    assert "The best ELBO" not in " ".join(c.value for c in at.main.caption)  # the page does not print it either
    at.toggle(key="lesson_reveal").set_value(True).run()
    assert [s for s in at.main.success if "β = 1" in s.value]
    at.button(key="lesson_following").click().run()
    assert at.session_state["lesson"] == "05-generation" and at.session_state["lesson_step"] == 0
    assert not at.session_state["lesson_reveal"]


def test_a_negative_distortion_is_explained_with_its_numbers_on_the_objective_view():
    at = open_lesson("04-beta-collapse", 2)
    said = [c.value for c in at.main.caption if "density" in c.value]
    assert said and "D = -782.97 nats per image is below zero" in said[0] and "+731.11" in said[0], said
