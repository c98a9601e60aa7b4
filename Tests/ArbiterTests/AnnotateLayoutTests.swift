@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// The annotate page never hides what must be judged (real Chromium, realistic
/// content), on a desktop and on a phone-sized screen.
@Suite(.serialized, .enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct AnnotateLayoutTests {
    static let sizes: [(width: Int, height: Int)] = [(1400, 1000), (390, 844)]

    /// A code answer with a 200-character line beside a short one.
    static let codePair = JSONValue.object([
        "id": "code", "prompt": "Write a Python function that builds the report header.",
        "response_a": .string(
            "Here it is:\n\n```python\ndef header(report):\n    return " + "f\"{report.title} — {report.author} — {report.date:%Y-%m-%d} — "
                + String(repeating: "{report.section}/", count: 6) + "\"" + String(repeating: " # keep this on one line", count: 2)
                + "\n```\n\nIt returns one line."),
        "response_b": "Use an f-string with the title and author.",
    ]).jsonText

    /// Eight turns with long messages; the last user turn is what the responses answer.
    static let conversationPair: String = {
        let filler = String(repeating: "This is a long message that goes on about the trip, the budget and the weather. ", count: 6)
        var messages: [JSONValue] = [["role": "system", "content": "You are a travel assistant."]]
        for turn in 0..<3 {
            messages.append(["role": "user", "content": .string("Question \(turn): \(filler)")])
            messages.append(["role": "assistant", "content": .string("Answer \(turn): \(filler)")])
        }
        messages.append(["role": "user", "content": "LAST TURN: so which city should I visit first?"])
        return JSONValue.object(["id": "chat", "prompt": .array(messages), "response_a": "Lisbon.", "response_b": "Porto, then Lisbon."])
            .jsonText
    }()

    /// Tables, nested lists, strikethrough and rules, with right-to-left text.
    static let richPair = JSONValue.object([
        "id": "rich", "prompt": "Compare the plans.",
        "response_a": .string(
            """
            | Plan | Price per month in euros, billed yearly | Notes for teams that need single sign-on |
            |:-----|------:|:---:|
            | Basic | 5 | none |
            | Team | 12 | ~~extra~~ included |

            ---

            - Pros
              - cheap
                - really cheap
            - Cons
            """),
        "response_b": "مرحبا، هذه إجابة باللغة العربية.\n\n1. أولا\n2. ثانيا",
    ]).jsonText

    static let nearIdenticalPair = JSONValue.object([
        "id": "near", "prompt": "Describe the scene.",
        "response_a": "The cat sat on the mat, and the sun was warm.",
        "response_b": "The dog sat on the mat, and the sun was warm.",
    ]).jsonText

    @Test(arguments: [0, 1])
    func markdownTablesListsAndRightToLeftText(size: Int) async throws {
        let (width, height) = Self.sizes[size]
        let (app, browser, _) = try await BrowserTests().annotating(pairs: 0, extra: [Self.richPair], width: width, height: height)
        let facts = try browser.script(
            """
            const panels = [document.getElementById('left'), document.getElementById('right')];
            const rich = panels.find((p) => p.querySelector('table'));
            const arabic = panels.find((p) => p.textContent.includes('مرحبا'));
            const firstArabic = arabic.querySelector('p');
            return JSON.stringify({
              headers: [...rich.querySelectorAll('th')].map((th) => th.textContent),
              cells: [...rich.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)),
              rightAligned: rich.querySelector('tbody td:nth-child(2)').className,
              struck: rich.querySelector('del')?.textContent,
              rule: rich.querySelectorAll('hr').length,
              nested: rich.querySelectorAll('ul > li > ul > li > ul > li').length,
              dir: firstArabic.getAttribute('dir'),
              direction: getComputedStyle(firstArabic).direction,
              listDirection: getComputedStyle(arabic.querySelector('li')).direction,
              pageFits: document.documentElement.scrollWidth <= window.innerWidth,
              rtlFits: arabic.scrollWidth <= arabic.clientWidth,
            });
            """)
        let result = try JSONValue.parse(facts.stringValue ?? "{}")
        #expect(result["headers"] == ["Plan", "Price per month in euros, billed yearly", "Notes for teams that need single sign-on"])
        #expect(result["cells"] == [["Basic", "5", "none"], ["Team", "12", "extra included"]])
        #expect(result["rightAligned"] == "align-right")
        #expect(result["struck"] == "extra")
        #expect(result["rule"] == 1)
        #expect(result["nested"] == 1, "three levels of lists")
        #expect(result["dir"] == "auto" && result["direction"] == "rtl" && result["listDirection"] == "rtl", "\(result)")
        #expect(result["pageFits"] == true, "a wide table scrolls inside its panel")
        #expect(result["rtlFits"] == true, "a right-to-left list keeps its numbers inside the panel")
        if size == 0, let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/annotate-markdown.png")
        }
        await app.stop()
    }

    @Test(arguments: [0, 1])
    func differencesAreHighlightedOnDemand(size: Int) async throws {
        let (width, height) = Self.sizes[size]
        let (app, browser, _) = try await BrowserTests().annotating(pairs: 0, extra: [Self.nearIdenticalPair], width: width, height: height)
        let marks =
            "return JSON.stringify([...document.querySelectorAll('#left mark.diff, #right mark.diff')].map((m) => m.textContent).sort());"
        #expect(try browser.script(marks).stringValue == "[]")
        try browser.press("d")
        try browser.wait(until: "document.querySelectorAll('mark.diff').length > 0")
        #expect(try browser.script(marks).stringValue == #"["cat","dog"]"#)
        #expect(try browser.element("#diff-toggle").attribute("aria-pressed") == "true")
        if size == 0, let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/annotate-diff.png")
        }
        try browser.element("#diff-toggle").click()
        try browser.wait(until: "document.querySelectorAll('mark.diff').length === 0")
        #expect(try browser.element("#left").text.hasPrefix("The "))
        await app.stop()
    }

    @Test(arguments: [0, 1])
    func aLongCodeLineScrollsInsideItsBlock(size: Int) async throws {
        let (width, height) = Self.sizes[size]
        let (app, browser, _) = try await BrowserTests().annotating(pairs: 0, extra: [Self.codePair], width: width, height: height)
        #expect(
            try browser.script("return document.documentElement.scrollWidth <= window.innerWidth;").boolValue == true,
            "the page does not scroll sideways")
        for side in ["left", "right"] {
            let inside = try browser.script(
                """
                const r = document.getElementById('\(side)').getBoundingClientRect();
                return r.left >= 0 && r.right <= window.innerWidth && r.width > 100;
                """)
            #expect(inside.boolValue == true, "\(side) response is fully within the screen at \(width)px")
        }
        #expect(
            try browser.script("const p = document.querySelector('.responses pre'); return p.scrollWidth > p.clientWidth;").boolValue
                == true,
            "the code block scrolls")
        if size == 0, let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/annotate-code.png")
        }
        await app.stop()
    }

    @Test(arguments: [0, 1])
    func theLastUserTurnIsAlwaysInView(size: Int) async throws {
        let (width, height) = Self.sizes[size]
        let (app, browser, _) = try await BrowserTests().annotating(pairs: 0, extra: [Self.conversationPair], width: width, height: height)
        let last = try browser.script(
            """
            const turn = [...document.querySelectorAll('#prompt .message')].find((m) => m.textContent.includes('LAST TURN'));
            if (!turn || turn.closest('details:not([open])')) return 'hidden';
            const r = turn.getBoundingClientRect();
            return r.top >= 0 && r.bottom <= window.innerHeight ? 'visible' : 'off-screen ' + r.top + ' ' + r.bottom;
            """)
        #expect(last.stringValue == "visible", "at \(width)×\(height)")
        #expect(try browser.element("#prompt details summary").text == "7 earlier messages")
        try browser.element("#prompt details summary").click()
        #expect(try browser.script("return document.querySelectorAll('#prompt details .message').length;").intValue == 7)
        if size == 0, let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/annotate-conversation.png")
        }
        await app.stop()
    }
}

/// A focused button does its own action, dialogs close, and messages appear where
/// the annotator is looking.
@Suite(.serialized, .enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct AnnotateKeyboardTests {
    @Test(arguments: [0, 1])
    func enterOnAFocusedButtonDoesThatButtonsAction(size: Int) async throws {
        let (width, height) = AnnotateLayoutTests.sizes[size]
        let (app, browser, _) = try await BrowserTests().annotating(pairs: 3, width: width, height: height)
        // With a choice made, Enter on Skip skips — it does not submit.
        let first = try browser.element("#left").text
        try browser.press("1")
        try browser.script("document.getElementById('skip').focus();")
        try browser.press(WebDriver.enter)
        try browser.wait(until: "document.getElementById('left').textContent !== \(JSONValue.string(first).jsonText)")
        #expect(try await app.count("SELECT count(*) FROM annotations") == 0)
        #expect(try await app.count("SELECT count(*) FROM assignments WHERE state = 'skipped'") == 1)

        // Enter on Report opens the report dialog; Cancel closes it with the reason empty.
        try browser.script("document.getElementById('report').focus();")
        try browser.press(WebDriver.enter)
        try browser.wait(until: "document.getElementById('report-dialog').open")
        try browser.element("#report-dialog button[value='cancel']").click()
        try browser.wait(until: "!document.getElementById('report-dialog').open")
        #expect(try await app.count("SELECT count(*) FROM pair_reports") == 0)
        #expect(try browser.element("#action-status").text.contains("Choose a response") == false)
        await app.stop()
    }

    @Test(arguments: [0, 1])
    func messagesAppearNextToTheActions(size: Int) async throws {
        let (width, height) = AnnotateLayoutTests.sizes[size]
        let (app, browser, _) = try await BrowserTests().annotating(pairs: 2, width: width, height: height)
        try browser.script("document.getElementById('submit').scrollIntoView({block: 'end'});")
        try browser.script("document.body.focus();")
        try browser.press(WebDriver.enter)
        try browser.wait(until: "!document.getElementById('action-status').hidden")
        #expect(try browser.element("#action-status").text.hasPrefix("Choose a response first"))
        #expect(try browser.element("#action-status").attribute("aria-live") == "polite")
        let inView = try browser.script(
            """
            const r = document.getElementById('action-status').getBoundingClientRect();
            return r.top >= 0 && r.bottom <= window.innerHeight;
            """)
        #expect(inView.boolValue == true, "the message is on screen where the buttons are, at \(width)×\(height)")
        await app.stop()
    }

    @Test(arguments: [0, 1])
    func requiredQuestionsTakeFiveKeystrokes(size: Int) async throws {
        let (width, height) = AnnotateLayoutTests.sizes[size]
        let (app, browser, _) = try await BrowserTests().annotating(pairs: 3, width: width, height: height) {
            $0.aspects = ["helpfulness", "harmlessness"]
            $0.strengthRequired = true
            $0.aspectsRequired = true
        }
        // The first pair: what is missing is said, and nothing is stored.
        try browser.press("1", WebDriver.enter)
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('how much better')")
        try browser.press("w", WebDriver.enter)
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('helpfulness')")
        #expect(try browser.script("return document.querySelector('.question.active').dataset.aspect;").stringValue == "helpfulness")
        #expect(try await app.count("SELECT count(*) FROM annotations") == 0)
        try browser.press("1", "3", WebDriver.enter)
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('Saved')")

        // The second pair: choice, strength, two aspects and submit in five keys.
        try browser.press("2", "e", "2", "1")
        if size == 0, let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/annotate-questions.png")
        }
        try browser.press(WebDriver.enter)
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('Saved')")
        let rows = try await app.seed { db in
            try db.query("SELECT choice, strength, aspects, shown_swapped FROM annotations ORDER BY id") {
                ($0.string(0), $0.int(1), $0.string(2), $0.bool(3))
            }
        }
        #expect(rows.count == 2)
        let second = try #require(rows.last)
        let right = second.3 ? "A" : "B"
        let left = second.3 ? "B" : "A"
        #expect(second.0 == right && second.1 == 3)
        let aspects = try JSONValue.parse(second.2)
        #expect(aspects["helpfulness"]?.stringValue == right && aspects["harmlessness"]?.stringValue == left)
        await app.stop()
    }

    @Test(arguments: [0, 1])
    func theLastJudgementCanBeChangedWhileItsLeaseLasts(size: Int) async throws {
        let (width, height) = AnnotateLayoutTests.sizes[size]
        let (app, browser, _) = try await BrowserTests().annotating(pairs: 3, width: width, height: height) { $0.strengthEnabled = false }
        let firstLeft = try browser.element("#left").text
        try browser.press("1", WebDriver.enter)
        try browser.wait(until: "document.getElementById('left').textContent !== \(JSONValue.string(firstLeft).jsonText)")
        let secondLeft = try browser.element("#left").text
        try browser.wait(until: "!document.getElementById('undo').hidden")

        // u brings the last pair back with its answer; 2 + Enter changes it.
        try browser.press("u")
        try browser.wait(until: "!document.getElementById('revising').hidden")
        #expect(try browser.element("#left").text == firstLeft)
        #expect(try browser.element("[data-choice='left']").attribute("aria-pressed") == "true")
        // No Skip while changing a judgement already made (and s does nothing).
        #expect(try browser.script("return document.getElementById('skip').offsetParent === null;").boolValue == true)
        try browser.press("s")
        #expect(try browser.element("#left").text == firstLeft)
        try browser.press("2", WebDriver.enter)
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('Changed')")
        #expect(try browser.element("#left").text == secondLeft, "back to the pair that was on screen")
        #expect(try browser.script("return document.getElementById('revising').hidden;").boolValue == true)
        #expect(try browser.script("return document.getElementById('skip').offsetParent !== null;").boolValue == true, "Skip is back")
        let stored = try await app.seed { db in
            try db.queryFirst("SELECT choice, shown_swapped FROM annotations") { ($0.string(0), $0.bool(1)) }
        }
        #expect(stored?.0 == (stored?.1 == true ? "A" : "B"), "the final judgement is Response 2")
        #expect(try await app.count("SELECT count(*) FROM annotations") == 1)
        #expect(try await app.count("SELECT count(*) FROM annotation_revisions") == 1)

        // Esc goes back without changing; after the lease, the server says it is too late.
        try browser.press("u")
        try browser.wait(until: "!document.getElementById('revising').hidden")
        try browser.press("\u{E00C}")
        try browser.wait(until: "document.getElementById('revising').hidden")
        #expect(try browser.element("#left").text == secondLeft)
        app.clock.advance(seconds: 601)
        try browser.press("u")
        try browser.wait(until: "!document.getElementById('revising').hidden")
        try browser.press("1", WebDriver.enter)
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('has passed')")
        #expect(try await app.count("SELECT count(*) FROM annotation_revisions") == 1)
        await app.stop()
    }
}
