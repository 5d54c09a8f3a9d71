"""Guided lessons: YAML files a teacher writes without Python, read and checked here.

A lesson file (``lessons/*.yaml``, and the folders in $VAE_EXPLORER_LESSONS) holds::

    title: The ELBO and its gap
    summary: one sentence for the list of lessons
    steps:
      - title: Two terms
        view: objective            # a view's address (the part after the host in its URL)
        bundle: mnist-conv-z16     # optional: the bundle the step opens
        image: 3                   # optional: the selected probe image
        state: {beta: 1.0}         # optional: widget values the step starts with, by widget key
        controls: [beta]           # optional: the widgets left visible when the teacher setting is on
        equation: '\\mathrm{ELBO} = ...'   # LaTeX, shown above the view
        seed: Course 2025, ch. 1, §2 "Decomposition of the ELBO"   # the source: lecture notes by title, papers by author and year
        text: |
          What the class should look at (Markdown).
        question: What happens to R when ...?
        answer: R falls ...        # optional: shown when the teacher presses "Reveal the answer"

A file that is not valid YAML, or whose steps lack a required field, is reported with its
name and line (LessonError) and left out; the other lessons still load.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "lessons"
LESSONS_ENV = "VAE_EXPLORER_LESSONS"
REQUIRED = ("title", "view", "equation", "seed", "text", "question")
OPTIONAL = ("bundle", "image", "state", "controls", "answer")
# A lesson is a page of text: anything larger is not one. Bounds what a file dropped in a
# lessons folder can cost the server (the largest shipped lesson is under 8 KB).
MAX_LESSON_BYTES = 64 * 1024
# YAML's plain types: a lesson needs nothing else (no !!python/..., no application tags).
_PLAIN_TAGS = {f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "null", "seq", "map")}
_INDEX = re.compile(r"[0-9]{1,6}")  # a probe index, ASCII digits (str.isdigit takes "²", int() does not)


class LessonError(ValueError):
    """A lesson file that cannot be used: ``file``, ``line`` (1-based) and the problem."""

    def __init__(self, file: str, line: int, problem: str):
        super().__init__(f"{file}, line {line}: {problem}")
        self.file, self.line, self.problem = file, line, problem


@dataclass(frozen=True)
class Step:
    title: str
    view: str
    equation: str
    seed: str
    text: str
    question: str
    bundle: str | None = None
    image: int | None = None
    state: dict = field(default_factory=dict)
    controls: tuple[str, ...] = ()
    answer: str | None = None


@dataclass(frozen=True)
class Lesson:
    id: str  # the file's stem, used in the URL: ?lesson=ID&step=N
    title: str
    summary: str
    steps: tuple[Step, ...]


def _line(node) -> int:
    return node.start_mark.line + 1


def _keys(node, name: str) -> dict:
    """A mapping node's keys -> (key node, value node). Raises LessonError for a key that is
    not a plain word (YAML allows lists and mappings as keys)."""
    for k, _ in node.value:
        if not isinstance(k, yaml.ScalarNode):
            raise LessonError(name, _line(k), "a key must be a plain word (title:, view:, …)")
    return {k.value: (k, v) for k, v in node.value}


def _plain_yaml(text: str, name: str) -> None:
    """Refuse what a lesson never needs and a hostile file uses: anchors and aliases (an alias
    bomb expands a few hundred bytes into gigabytes) and tags beyond YAML's own types. Raises
    LessonError naming the line; YAML that does not scan or parse, too."""
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise LessonError(name, event.start_mark.line + 1,
                                  "anchors and aliases (&name, *name) are not allowed in a lesson file")
            tag = getattr(event, "tag", None)
            if tag and tag not in ("!", "?") and tag not in _PLAIN_TAGS:
                raise LessonError(name, event.start_mark.line + 1, f"the tag {tag} is not allowed in a lesson file")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LessonError(name, mark.line + 1 if mark else 1, f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:  # the reader's (a control character): a position, not a mark
        line = text[:getattr(exc, "position", 0)].count("\n") + 1
        raise LessonError(name, line, f"not valid YAML: {str(exc).splitlines()[0]}") from None


def _check_step(name: str, node, views: set[str] | None) -> None:
    if not isinstance(node, yaml.MappingNode):
        raise LessonError(name, _line(node), "each step must be a mapping of fields (title:, view:, text:, …)")
    keys = _keys(node, name)
    for key, (knode, _) in keys.items():
        if key not in REQUIRED + OPTIONAL:
            raise LessonError(name, _line(knode), f"unknown field {key!r}; a step has {', '.join(REQUIRED + OPTIONAL)}")
    missing = [k for k in REQUIRED if k not in keys]
    if missing:
        raise LessonError(name, _line(node), f"this step lacks {', '.join(missing)}")
    if views is not None and keys["view"][1].value not in views:
        raise LessonError(name, _line(keys["view"][1]), f"no view is called {keys['view'][1].value!r}; "
                                                         f"the views are {', '.join(sorted(views))}")
    for key, kind in (("state", yaml.MappingNode), ("controls", yaml.SequenceNode)):
        if key in keys and not isinstance(keys[key][1], kind):
            raise LessonError(name, _line(keys[key][1]), f"{key} must be a {'mapping' if kind is yaml.MappingNode else 'list'}")
    if "image" in keys and not _INDEX.fullmatch(str(keys["image"][1].value)):
        raise LessonError(name, _line(keys["image"][1]), "image must be a probe index, a whole number ≥ 0")


def parse(text: str, name: str, views: set[str] | None = None) -> Lesson:
    """The lesson in ``text`` (the YAML above); ``name`` is the file's, for messages; ``views``
    the known view addresses (None: not checked). Raises LessonError."""
    if len(text.encode("utf-8", errors="replace")) > MAX_LESSON_BYTES:
        raise LessonError(name, 1, f"the file is over {MAX_LESSON_BYTES // 1024} KB, which no lesson needs")
    _plain_yaml(text, name)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise LessonError(name, _line(root) if root else 1, "a lesson is a mapping with title:, summary: and steps:")
    keys = _keys(root, name)
    for key in ("title", "steps"):
        if key not in keys:
            raise LessonError(name, _line(root), f"the lesson lacks {key}:")
    steps = keys["steps"][1]
    if not isinstance(steps, yaml.SequenceNode) or not steps.value:
        raise LessonError(name, _line(steps), "steps: must be a list of at least one step")
    for node in steps.value:
        _check_step(name, node, views)
    data = yaml.safe_load(text)
    return Lesson(Path(name).stem, str(data["title"]), str(data.get("summary", "")), tuple(
        Step(**{k: str(s[k]).strip() for k in REQUIRED}, bundle=s.get("bundle"),
             image=None if s.get("image") is None else int(s["image"]), state=dict(s.get("state") or {}),
             controls=tuple(map(str, s.get("controls") or ())),
             answer=None if s.get("answer") is None else str(s["answer"]).strip()) for s in data["steps"]))


def folders() -> list[Path]:
    """lessons/ of the repository, then the folders in $VAE_EXPLORER_LESSONS."""
    extra = [Path(p) for p in os.environ.get(LESSONS_ENV, "").split(os.pathsep) if p]
    return [FOLDER, *extra]


def load_all(views: set[str] | None = None, roots: list[Path] | None = None) -> tuple[list[Lesson], list[str]]:
    """Every lesson file under ``roots`` (default folders()), sorted by file name, and one
    message per file that could not be used ("NAME, line N: problem")."""
    lessons, problems = [], []
    for path in sorted(p for root in roots or folders() if root.is_dir() for p in root.glob("*.yaml")):
        try:
            if path.stat().st_size > MAX_LESSON_BYTES:  # not read: a dropped file bounds nothing itself
                raise LessonError(path.name, 1, f"the file is over {MAX_LESSON_BYTES // 1024} KB, which no lesson needs")
            lessons.append(parse(path.read_text(encoding="utf-8"), path.name, views))
        except LessonError as exc:
            problems.append(str(exc))
        except (UnicodeDecodeError, OSError) as exc:
            problems.append(f"{path.name}, line 1: cannot be read ({exc})")
        except Exception as exc:  # noqa: BLE001  any other failure of one file is that file's problem, not every page's
            problems.append(f"{path.name}, line 1: cannot be used as a lesson ({type(exc).__name__}: {exc})")
    return lessons, problems
