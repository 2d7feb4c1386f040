"""The classroom and presentation mode in Chromium: a teacher and students in separate browser
contexts (each its own sessionStorage, as on separate laptops) follow the teacher through model,
text, steps, views and selection; a student detaches and re-follows; a late joiner gets the
current state; a student cannot drive; presentation mode at 1024×768 hides the controls and
the keyboard drives it."""

from __future__ import annotations

import json

import pytest
from pagekit import Watch, open_page, shot

pytestmark = pytest.mark.browser

FOLLOWED = ("model", "text", "t", "phase", "view", "unit", "layer", "direction")


@pytest.fixture
def pages(browser, server_url):
    """new(url, width=1024, height=768) -> a page in a browser context of its own."""
    made = []

    def new(url: str, width: int = 1024, height: int = 768):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        page = ctx.new_page()
        page.watch = Watch(page, server_url)
        made.append((ctx, page))
        open_page(page, url)
        return page

    yield new
    for ctx, page in made:
        page.watch.assert_clean()
        ctx.close()


def state(page) -> dict:
    return page.evaluate(
        "(names) => Object.fromEntries(names.map((n) => [n, window.__unrolled.state[n]]))",
        list(FOLLOWED),
    )


def wait_same(student, teacher, timeout: float = 15000) -> dict:
    """The student shows the teacher's state, with the trace of its sentence drawn."""
    want = state(teacher)
    student.wait_for_function(
        """([want]) => { const s = window.__unrolled.state, c = window.__unrolled.controller;
             return Object.entries(want).every(([k, v]) => s[k] === v) && c.trace &&
               document.querySelector('#step-label').dataset.t === String(want.t); }""",
        arg=[want],
        timeout=timeout,
    )
    return want


def open_room(teacher) -> str:
    teacher.click("#room-button")
    teacher.click("#room-open")
    teacher.wait_for_selector("body[data-room='teacher']")
    teacher.wait_for_function("() => document.querySelector('#room-qr').naturalWidth > 0")
    code = teacher.evaluate("() => window.__unrolled.state.room")
    assert teacher.text_content("#room-code") == code and len(code) == 6
    assert teacher.text_content("#room-link").endswith(f"/?room={code}")
    return code


def join(pages, server_url, code, **kw):
    student = pages(f"{server_url}/?room={code}", **kw)
    student.wait_for_selector("body[data-room='student'][data-following='1']")
    return student


def step(page, key: str, times: int = 1) -> None:
    page.locator("#unrolled").click(position={"x": 5, "y": 5})  # focus off the text box
    for _ in range(times):
        page.keyboard.press(key)


def test_students_follow_the_teacher_through_model_text_steps_and_views(pages, server_url):
    teacher = pages(f"{server_url}/?model=rnn-hello&text=hello")
    code = open_room(teacher)
    shot(teacher, "classroom-teacher-dialog-1024")
    teacher.click("#room-dialog-close")
    students = [join(pages, server_url, code) for _ in range(3)]
    for s in students:
        wait_same(s, teacher)
    teacher.wait_for_function(
        "() => /3 students following/.test(document.querySelector('#room-status').textContent)"
    )

    teacher.select_option("#model-select", "lstm-rhymes")
    teacher.fill("#text-input", "twinkle twinkle")
    for s in students:
        wait_same(s, teacher)
    step(teacher, "ArrowRight", 4)
    teacher.click("[data-view='gradients']")
    teacher.evaluate("() => window.__unrolled.state.set({ unit: 5 })")
    want = state(teacher)
    assert want["t"] == 4 and want["view"] == "gradients" and want["unit"] == 5
    for s in students:
        wait_same(s, teacher)
        assert not s.locator("#view-gradients").is_hidden()
        assert s.input_value("#text-input") == "twinkle twinkle"
    step(teacher, "End")  # the backward pass
    for s in students:
        assert wait_same(s, teacher)["phase"] == "backward"

    # a stacked model: the layer shown is followed too
    teacher.select_option("#model-select", "deep-gru")
    teacher.wait_for_selector("#layer-field:not([hidden])")
    teacher.select_option("#layer-select", "0:0")
    for s in students:
        assert wait_same(s, teacher)["layer"] == 0
    shot(students[0], "classroom-student-following-1024")


def test_a_student_detaches_explores_and_follows_again(pages, server_url):
    teacher = pages(f"{server_url}/?model=rnn-hello&text=hello")
    code = open_room(teacher)
    teacher.click("#room-dialog-close")
    student = join(pages, server_url, code)
    other = join(pages, server_url, code)
    wait_same(student, teacher)

    student.click("#room-follow")  # Detach
    student.wait_for_selector("body[data-following='0']")
    assert "exploring on your own" in student.text_content("#room-status")
    step(teacher, "ArrowRight", 3)
    wait_same(other, teacher)
    assert state(student)["t"] == 0  # the detached student stays where it was

    step(student, "ArrowRight", 1)  # exploring does not move the teacher, nor the others
    student.wait_for_function("() => window.__unrolled.state.t === 1")
    teacher.wait_for_timeout(500)
    assert state(teacher)["t"] == 3 and state(other)["t"] == 3

    student.click("#room-follow")  # one click: back to the teacher's step
    student.wait_for_selector("body[data-following='1']")
    wait_same(student, teacher)

    step(student, "ArrowLeft", 1)  # a student's own step detaches by itself
    student.wait_for_selector("body[data-following='0']")
    assert state(student)["t"] == 2 and state(teacher)["t"] == 3
    shot(student, "classroom-student-detached-1024")


def test_a_late_joiner_gets_the_current_state(pages, server_url):
    teacher = pages(f"{server_url}/?model=rnn-hello&text=hello")
    code = open_room(teacher)
    teacher.click("#room-dialog-close")
    teacher.fill("#text-input", "hell")
    step(teacher, "ArrowRight", 2)
    teacher.click("[data-view='compare']")
    teacher.wait_for_timeout(300)
    late = pages(f"{server_url}/?model=lstm-rhymes&text=other")  # its own view first
    late.click("#room-button")
    late.fill("#room-join-code", code.lower())  # typed in lower case
    late.click("#room-join")
    late.wait_for_selector("body[data-room='student']")
    want = wait_same(late, teacher)
    assert want["text"] == "hell" and want["t"] == 2 and want["view"] == "compare"


def test_a_student_cannot_drive_the_room(pages, server_url):
    teacher = pages(f"{server_url}/?model=rnn-hello&text=hello")
    code = open_room(teacher)
    teacher.click("#room-dialog-close")
    student = join(pages, server_url, code)
    other = join(pages, server_url, code)
    wait_same(other, teacher)
    # the student's page sends the teacher's messages on a socket of its own
    replies = student.evaluate(
        """(code) => new Promise((resolve) => {
             const ws = new WebSocket(`ws://${location.host}/ws/room/${code}`), got = [];
             const errors = () => got.filter((m) => m.type === 'error').length;
             ws.onmessage = (e) => { got.push(JSON.parse(e.data));
               if (errors() === 3) { ws.close(); resolve(got); } };
             ws.onopen = () => {
               ws.send(JSON.stringify({type: 'state', state: {t: 4, text: 'hijacked'}}));
               ws.send(JSON.stringify({type: 'teach', secret: 'a guess'}));
               ws.send(JSON.stringify({type: 'close'}));
             };
           })""",
        code,
    )
    errors = [m for m in replies if m["type"] == "error"]
    assert [m["status"] for m in errors] == [403, 403, 403], json.dumps(replies)
    assert all("Only the teacher" in m["message"] for m in errors)
    status = student.evaluate(
        """(code) => fetch(`/api/rooms/${code}/state`, {method: 'PUT',
             headers: {'content-type': 'application/json'},
             body: JSON.stringify({state: {text: 'hijacked'}})}).then((r) => r.status)""",
        code,
    )
    assert status == 403
    student.watch.console_errors[:] = [
        e for e in student.watch.console_errors if "403" not in e
    ]  # the refused PUT, expected
    other.wait_for_timeout(500)
    assert state(other)["text"] == "hello" and state(teacher)["text"] == "hello"
    assert student.evaluate("() => sessionStorage.length") == 0  # it never had the secret
    step(teacher, "ArrowRight", 1)
    wait_same(other, teacher)


def test_the_teacher_closes_the_room_and_students_are_told(pages, server_url):
    teacher = pages(f"{server_url}/?model=rnn-hello&text=hello")
    code = open_room(teacher)
    student = join(pages, server_url, code)
    teacher.click("#room-close")
    student.wait_for_function(
        "() => /closed the room/.test(document.querySelector('#room-status').textContent)"
    )
    assert student.evaluate("() => window.__unrolled.state.room") == ""
    assert student.evaluate(f"() => fetch('/api/rooms/{code}').then((r) => r.status)") == 404
    student.watch.console_errors[:] = [e for e in student.watch.console_errors if "404" not in e]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_presentation_mode_hides_the_controls_and_the_keyboard_drives(pages, server_url, theme):
    page = pages(f"{server_url}/?model=lstm-rhymes&text=twinkle%20twinkle&present=1&theme={theme}")
    for hidden in ("#topbar", "#text-input", "#btn-play", "#scrubber", ".tabs", "#import-panel"):
        assert page.locator(hidden).first.is_hidden(), hidden
    assert page.locator("button.info").first.is_hidden()
    label = page.locator("#step-label")
    assert label.is_visible()
    size = float(label.evaluate("(node) => getComputedStyle(node).fontSize")[:-2])
    assert size >= 26, size  # readable from the back of the room
    chip = float(
        page.evaluate("() => getComputedStyle(document.querySelector('.chip')).fontSize")[:-2]
    )
    assert chip >= 24, chip
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024  # no sideways scroll
    shot(page, f"present-{theme}-1024")

    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.__unrolled.state.t === 2")
    page.keyboard.press("2")
    page.wait_for_function("() => window.__unrolled.state.view === 'gradients'")
    page.locator("#view-gradients").wait_for(state="visible")  # drawn once its data is in
    page.keyboard.press("1")
    page.wait_for_function("() => window.__unrolled.state.view === 'heatmaps'")
    page.keyboard.press("Space")
    page.wait_for_function("() => document.body.dataset.playing === '1'")
    page.keyboard.press("Space")
    page.set_viewport_size({"width": 1920, "height": 1080})
    shot(page, f"present-{theme}-1920")

    exit_button = page.locator("#present-exit")
    assert exit_button.is_visible()
    page.keyboard.press("Escape")
    page.wait_for_function("() => window.__unrolled.state.present === 0")
    assert page.locator("#topbar").is_visible() and exit_button.is_hidden()
    # the URL follows within 200 ms (state.js replaces it at most 5x a second)
    page.wait_for_function("() => !location.search.includes('present')")
    page.click("#present-button")
    assert page.locator("#topbar").is_hidden()
    exit_button.click()
    assert page.locator("#topbar").is_visible()


def test_a_teacher_presents_to_a_room_and_students_see_the_code(pages, server_url):
    teacher = pages(f"{server_url}/?model=rnn-hello&text=hello")
    code = open_room(teacher)
    teacher.click("#room-dialog-close")
    teacher.click("#present-button")
    student = join(pages, server_url, code)
    assert state(student) and student.locator("#topbar").is_visible()  # not in present mode
    step(teacher, "ArrowRight", 2)
    teacher.keyboard.press("3")
    want = wait_same(student, teacher)
    assert want["view"] == "compare" and want["t"] == 2
    assert code in teacher.text_content("#room-status")  # on the projector, for latecomers
    assert teacher.locator("#room-bar").is_visible()
    shot(teacher, "present-teaching-1024")


def test_a_room_on_a_server_only_this_computer_reaches_says_how_to_share_it(
    pages, server_url, network_server_url
):
    teacher = pages(f"{server_url}/?model=rnn-hello&text=hello")  # 1024×768
    open_room(teacher)
    note = teacher.locator("#room-local")
    assert note.is_visible() and "unrolled --host 0.0.0.0" in note.text_content()
    box = note.bounding_box()
    assert box["y"] + box["height"] <= 768  # on the projector, without scrolling the dialog
    shot(teacher, "room-local-only-1024")
    teacher.click("#room-close")
    on_network = pages(f"{network_server_url}/?model=rnn-hello&text=hello")
    open_room(on_network)
    assert not on_network.locator("#room-local").is_visible()
