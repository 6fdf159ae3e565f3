"""The tutor as a learner sees it: the API and the UI on loopback, driven by a real headless
Chromium (Debian's, through Playwright) through one question, its streamed answer, a
citation and its place on the roadmap, then the learning path graph. Saves
docs/screenshot.png and docs/path.png for the README."""

import re
from pathlib import Path

from conftest import course_env
from servers import running_server, running_ui

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def test_one_question_in_a_real_browser(course_settings):
    from playwright.sync_api import expect, sync_playwright

    env = course_env(course_settings, TUTOR_MAX_ANSWER_TOKENS="96", TUTOR_LEARNER="browser-test")
    with (
        running_server(env) as api,
        running_ui(dict(env, TUTOR_API_URL=api)) as ui,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(ui)
        box = page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=60_000)
        box.fill("What does a GAN discriminator do?")
        box.press("Enter")

        # The answer streams in, then its citation cards appear under it.
        cards = page.get_by_test_id("stExpander").filter(has_text=re.compile(r"\[\d+\] "))
        expect(cards.first).to_be_visible(timeout=240_000)
        assistant = page.get_by_test_id("stChatMessage").nth(1)
        expect(assistant).to_contain_text(re.compile(r"\[\d+\]"))
        # Every claim carries its support: a badge that says whether a passage backs it.
        badges = assistant.get_by_text(re.compile(r"backed|loose match|not found in the passages"))
        expect(badges.first).to_be_visible()

        card = cards.first
        card.locator("summary").click()
        card.get_by_text("Read the whole passage").click()
        details = card.get_by_test_id("stExpanderDetails")
        expect(details).to_contain_text(re.compile(r"(\w+\W+){20}"))  # a real passage
        expect(card.get_by_test_id("stCaptionContainer")).to_contain_text("notes/")
        # The answer is placed on the roadmap, in a line under it.
        expect(assistant).to_contain_text(re.compile(r"On the roadmap: .+ \(step \d of 8"))
        page.get_by_test_id("stChatMessage").first.scroll_into_view_if_needed()
        page.screenshot(path=str(REPO / "docs" / "screenshot.png"), full_page=True)

        # The learning path view draws the graph (Graphviz, rendered in the page).
        page.get_by_test_id("stSidebar").get_by_text("Learning path").click()
        chart = page.get_by_test_id("stGraphVizChart")
        expect(chart.locator("svg")).to_be_visible(timeout=60_000)
        expect(chart).to_contain_text("Step 1: Math & Python")
        expect(chart).to_contain_text("→ Linear Algebra")
        expect(page.get_by_text("Next:")).to_be_visible()
        page.screenshot(path=str(REPO / "docs" / "path.png"), full_page=True)
        browser.close()
    assert (REPO / "docs" / "screenshot.png").stat().st_size > 10_000
    assert (REPO / "docs" / "path.png").stat().st_size > 10_000
