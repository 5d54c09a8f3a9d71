"""The guided lessons: pick one and walk its steps; each step opens a view in a prepared state."""
import streamlit as st

from explorer import lesson_panel, lessons

found, problems = lesson_panel.available()

st.title("Lessons")
st.markdown(
    "Each lesson walks a class through one idea of the lecture notes, step by step: a short text, the "
    "equation the step is about (with where the notes derive it), a question for the class, and a view "
    "opened on the right model with the right image and settings. **Back** and **Next** move between "
    "steps; the address of every step can be sent to the class, e.g. `?lesson=02-elbo-gap&step=3`.")
st.toggle("Teacher setting: hide the sidebar and every control a step does not use", key=lesson_panel.TEACHER,
          help="The same as adding &teacher=1 to a step's address.")

for problem in problems:
    st.error(f"A lesson file could not be used and is left out: {problem}", icon=":material/error:")
if not found:
    st.info(f"No lessons found. Lesson files are YAML in {lessons.FOLDER.name}/ (or a folder in "
            f"${lessons.LESSONS_ENV}); see explorer/lessons.py for the format.")

for lesson in found:
    with st.container(border=True, key=f"lesson_card_{lesson.id}"):
        left, right = st.columns([4, 1])
        left.subheader(lesson.title)
        left.markdown(lesson.summary)
        left.caption("Steps: " + " → ".join(f"{k + 1}. {s.title}" for k, s in enumerate(lesson.steps)))
        right.button("Start", key=f"lesson_start_{lesson.id}", on_click=lesson_panel.start, args=(lesson, 0),
                     type="primary", icon=":material/play_arrow:")
        right.caption(f"`?lesson={lesson.id}&step=1`")
