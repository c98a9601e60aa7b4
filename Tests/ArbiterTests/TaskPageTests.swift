@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// Ranking, rating and rewrite on the annotate page, in real Chromium: ordering by
/// the keyboard and by dragging, rating every attribute by the keyboard, the
/// rewrite box, and K responses laid out readably on a desktop and a phone.
@Suite(.serialized, .enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct TaskPageTests {
    static let sizes: [(width: Int, height: Int)] = [(1400, 1000), (390, 844)]

    /// Four answers, one with a 200-character code line.
    static let task = JSONValue.object([
        "id": "t", "prompt": "How do I reverse a list in Python?",
        "responses": [
            "Use `reversed(items)` or `items[::-1]`.",
            .string("```python\nresult = " + String(repeating: "items[::-1] + ", count: 14) + "[]\n```"),
            "Call `items.reverse()` to reverse in place.",
            "Lists cannot be reversed.",
        ],
    ]).jsonText

    func open(_ configure: @escaping @Sendable (inout ProjectSettings) -> Void, size: Int = 0) async throws -> (TestApp, WebDriver, Project)
    {
        let app = try TestApp()
        let project = try await app.project(pairs: 0, configure)
        let line = Self.task
        try await app.seed { db in
            var reader = JSONLReader(bytes: Array(line.utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
        }
        _ = try await app.person("ann")
        let browser = try WebDriver(width: Self.sizes[size].width, height: Self.sizes[size].height)
        try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/annotate")
        try browser.wait(until: "location.pathname === '/login'")
        try browser.element("#username").type("ann")
        try browser.element("#password").type("a long enough password")
        try browser.element("#login-submit").click()
        try browser.wait(until: "document.querySelectorAll('#task-grid .task-response').length === 4")
        return (app, browser, project)
    }

    /// The shown texts, by position.
    func shown(_ browser: WebDriver) throws -> [String] {
        let text = try browser.script(
            "return JSON.stringify([...document.querySelectorAll('#task-grid .response-body')].map((b) => b.textContent));")
        return (try JSONValue.parse(text.stringValue ?? "[]")).arrayValue?.compactMap(\.stringValue) ?? []
    }

    func stored(_ app: TestApp) async throws -> (ranking: String?, ratings: String?, rewrite: String?, base: Int?)? {
        try await app.app.store.pool.read { db in
            try db.queryFirst("SELECT ranking, ratings, rewrite, rewrite_base FROM annotations") {
                ($0.optionalString(0), $0.optionalString(1), $0.optionalString(2), $0.optionalInt(3))
            }
        }
    }

    @Test(arguments: [0, 1])
    func rankByKeyboardAndDragThenRewrite(size: Int) async throws {
        let (app, browser, _) = try await open(
            {
                $0.kind = .ranking; $0.rewrite = true
            }, size: size)
        let texts = try shown(browser)
        // Canonical index of each position (responses are shown shuffled).
        let canonical = texts.map { text in
            ["Use ", "result =", "reverse()", "cannot"].firstIndex { text.contains($0) } ?? -1
        }
        #expect(Set(canonical) == [0, 1, 2, 3], "\(texts)")
        // Layout: nothing wider than the window; on a desktop, the four side by side in columns.
        let layout = try JSONValue.parse(
            try browser.script(
                """
                const cards = [...document.querySelectorAll('#task-grid .task-response')];
                const tops = new Set(cards.map((c) => Math.round(c.getBoundingClientRect().top)));
                return JSON.stringify({
                  fits: document.documentElement.scrollWidth <= window.innerWidth,
                  rows: tops.size,
                  cardsFit: cards.every((c) => c.getBoundingClientRect().right <= window.innerWidth + 1),
                  panelVisible: !document.getElementById('order-panel').hidden,
                  panelPosition: getComputedStyle(document.getElementById('order-panel')).position,
                });
                """
            ).stringValue ?? "{}")
        #expect(layout["fits"] == true && layout["cardsFit"] == true, "a long code line scrolls inside its card: \(layout)")
        // On a phone an empty order is a line at the end, not a panel over the responses.
        #expect(layout["panelVisible"] == true && layout["panelPosition"] == (size == 0 ? "sticky" : "static"), "\(layout)")
        if size == 0 { #expect((layout["rows"]?.intValue ?? 9) <= 2, "columns on a wide screen: \(layout)") }

        // Keyboard: best first by their numbers on screen; "=" ties the next with the last.
        let positionOf = { (index: Int) in canonical.firstIndex(of: index)! + 1 }
        try browser.press(String(positionOf(2)), String(positionOf(0)), "=", String(positionOf(1)), String(positionOf(3)))
        #expect(try browser.element("#order-list").text.contains("Response \(positionOf(0)) = Response \(positionOf(1))"))
        // Something ranked: the order sticks in view, small enough to leave the responses readable.
        let panel =
            try browser.script(
                """
                const p = document.getElementById('order-panel');
                return [getComputedStyle(p).position, p.getBoundingClientRect().height / window.innerHeight];
                """
            ).arrayValue ?? []
        #expect(panel.first == "sticky" && (panel.last?.doubleValue ?? 1) <= (size == 0 ? 1 : 0.31), "\(panel)")
        // Backspace takes back the last; then rank it again.
        try browser.press("\u{E003}")
        #expect(try browser.script("return document.querySelectorAll('#order-list li').length;").intValue == 2)
        try browser.press(String(positionOf(3)))
        // Drag: the last row (response 3, "cannot") up above the first.
        let rows = try browser.script("return document.querySelectorAll('#order-list li').length;").intValue
        #expect(rows == 3)
        try browser.drag(
            try browser.element("#order-list li:nth-child(3) .order-name"),
            to: try browser.element("#order-list li:nth-child(1) .order-name"), offsetY: -8)
        try browser.wait(until: "document.querySelector('#order-list li:first-child').textContent.includes('Response \(positionOf(3))')")
        // ... and back down with the ↓ buttons (the keyboard path to reorder in the panel).
        try browser.element("#order-list li:nth-child(1) button[title='Move down']").click()
        try browser.element("#order-list li:nth-child(2) button[title='Move down']").click()
        // The rewrite box opens on the best response's text.
        try browser.press("r")
        try browser.wait(until: "document.activeElement.id === 'rewrite-text'")
        let draft = try browser.script("return document.getElementById('rewrite-text').value;").stringValue ?? ""
        #expect(draft.contains("items.reverse()"), "starts from the top-ranked response: \(draft)")
        try browser.element("#rewrite-text").type(" It returns None.")
        if size == 0, let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/annotate-ranking.png")
        }
        try browser.chord(WebDriver.control, WebDriver.enter)
        try browser.wait(until: "document.getElementById('done').hidden === false")
        let row = try #require(try await stored(app))
        #expect(row.ranking == "[2,[0,1],3]", "\(row)")
        #expect(row.rewrite == "Call `items.reverse()` to reverse in place. It returns None." && row.base == 2, "\(row)")
        await app.stop()
    }

    @Test(arguments: [0, 1])
    func rateEveryAttributeByKeyboard(size: Int) async throws {
        let (app, browser, _) = try await open(
            {
                $0.kind = .rating
                $0.attributes = ["helpfulness", "correctness"]
                $0.scaleMin = 1
                $0.scaleMax = 5
                $0.scaleLabels = ["awful", "poor", "fair", "good", "great"]
            }, size: size)
        let texts = try shown(browser)
        #expect(try browser.script("return document.getElementById('order-panel').hidden;").boolValue == true)
        #expect(try browser.script("return document.querySelectorAll('.rating-row').length;").intValue == 8)
        #expect(try browser.script("return document.querySelector('.rating-row .score').title;").stringValue == "awful", "labelled anchors")
        // Enter before everything is scored: the page says what is missing.
        try browser.press("5", "4")
        try browser.press(WebDriver.enter)
        try browser.wait(until: "!document.getElementById('action-status').hidden")
        #expect(try browser.element("#action-status").text.contains("Score"))
        // The outlined row moved to the first unscored one; digits are the scores (1–5).
        try browser.press("3", "3", "2", "1", "5", "5")
        let fits = try browser.script("return document.documentElement.scrollWidth <= window.innerWidth;").boolValue
        #expect(fits == true)
        if size == 0, let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/annotate-rating.png")
        }
        try browser.press(WebDriver.enter)
        try browser.wait(until: "document.getElementById('done').hidden === false")
        let row = try #require(try await stored(app))
        // By position: (5,4), (3,3), (2,1), (5,5) → canonical order.
        let byPosition = [(5, 4), (3, 3), (2, 1), (5, 5)]
        var expected = Array(repeating: (0, 0), count: 4)
        for (position, text) in texts.enumerated() {
            let index = ["Use ", "result =", "reverse()", "cannot"].firstIndex { text.contains($0) }!
            expected[index] = byPosition[position]
        }
        let json = "[" + expected.map { #"{"helpfulness":\#($0.0),"correctness":\#($0.1)}"# }.joined(separator: ",") + "]"
        #expect(row.ratings == json, "\(row)")
        await app.stop()
    }

    /// The admin's new-project form offers the kinds, with a live sketch of the
    /// annotate page, and creates a rating project with its attributes and scale.
    @Test func newProjectFormOffersKindsWithAPreview() async throws {
        let app = try TestApp()
        _ = try await app.person("boss", role: .admin)
        let browser = try WebDriver()
        try browser.signIn(app: app, as: "boss", to: "/admin")
        try browser.element("#new-project summary").click()
        try browser.element("#project-form-name").type("Ratings")
        // Pairwise first: two cards, no scale fields.
        #expect(try browser.script("return document.querySelectorAll('#project-form-layout-preview .preview-card').length;").intValue == 2)
        #expect(try browser.script("return document.getElementById('project-form-attributes').hidden;").boolValue == true)
        try browser.script(
            "const k = document.getElementById('project-form-kind'); k.value = 'ranking'; k.dispatchEvent(new Event('change'));")
        try browser.wait(until: "document.querySelector('#project-form-layout-preview .preview-order') !== null")
        try browser.script(
            "const k = document.getElementById('project-form-kind'); k.value = 'rating'; k.dispatchEvent(new Event('change'));")
        try browser.element("#project-form-attributes").type("helpfulness, verbosity")
        try browser.wait(until: "document.querySelectorAll('#project-form-layout-preview .preview-scores').length === 8")
        try browser.element("#project-form-rewrite").click()
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/admin-new-project-kind.png")
        }
        try browser.element("#project-form button[type=submit]").click()
        try browser.wait(until: "location.pathname.startsWith('/admin/projects/') && document.body.dataset.ready === 'true'", timeout: 20)
        let settings = try await app.app.store.pool.read { db in try Projects.find(db, name: "Ratings")?.settings }
        #expect(settings?.kind == .rating && settings?.attributes == ["helpfulness", "verbosity"] && settings?.rewrite == true)
        #expect(settings?.scaleMin == 0 && settings?.scaleMax == 4)
        await app.stop()
    }

    /// The review page shows Kendall's W for a ranking project and α per attribute
    /// for a rating project, beside the implied pairs' α.
    @Test func reviewPageShowsTaskAgreement() async throws {
        let app = try TestApp()
        let ranking = try await app.project(pairs: 0, name: "rank") { $0.kind = .ranking }
        let rating = try await app.project(pairs: 0, name: "rate") {
            $0.kind = .rating; $0.attributes = ["helpfulness"]
        }
        let task = Self.task
        try await app.seed { db in
            for project in [ranking, rating] {
                var reader = JSONLReader(bytes: Array(task.utf8))
                _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            }
            let rankings = [#"{"task":"t","annotator":"a","ranking":[0,2,1,3]}"#, #"{"task":"t","annotator":"b","ranking":[2,0,1,3]}"#]
            var reader = JSONLReader(bytes: Array(rankings.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: ranking, reader: &reader, options: ImportOptions())
            let ratings = [
                #"{"task":"t","annotator":"a","ratings":[{"helpfulness":4},{"helpfulness":1},{"helpfulness":3},{"helpfulness":0}]}"#,
                #"{"task":"t","annotator":"b","ratings":[{"helpfulness":3},{"helpfulness":1},{"helpfulness":4},{"helpfulness":0}]}"#,
            ]
            reader = JSONLReader(bytes: Array(ratings.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: rating, reader: &reader, options: ImportOptions())
        }
        _ = try await app.person("rita", role: .reviewer)
        let browser = try WebDriver()
        try browser.signIn(app: app, as: "rita", to: "/projects/\(ranking.id)/review")
        try browser.wait(until: "document.querySelector('#agreement-table tr.task-agreement') !== null")
        let rows = try browser.element("#agreement-table").text
        #expect(rows.contains("Kendall's W") && rows.contains("0.900") && rows.contains("mean over 1 tasks"), "\(rows)")
        #expect(try browser.element("#excluded").text.contains("6 implied pairs"))
        try browser.open("http://127.0.0.1:\(app.port)/projects/\(rating.id)/review")
        try browser.wait(until: "document.querySelector('#agreement-table tr.task-agreement') !== null")
        #expect(try browser.element("#agreement-table").text.contains("α of “helpfulness” (interval)"))
        // The item browser opens a task with all its responses and each judgement's
        // ranking; final labels (a pair's A/B) are not offered, and the API refuses them.
        try browser.open("http://127.0.0.1:\(app.port)/projects/\(ranking.id)/items?pair=t")
        try browser.wait(until: "document.querySelectorAll('#detail-responses .response').length === 4")
        #expect(try browser.script("return document.getElementById('label-form').hidden;").boolValue == true)
        let table = try browser.element("#detail-judgements").text
        #expect(table.contains("1 > 3 > 2 > 4") && table.contains("3 > 1 > 2 > 4"), "\(table)")
        let token = try await app.seed { db in
            try Users.createToken(db, userID: try Users.find(db, username: "rita")!.id).token
        }
        let refused = try app.call("PUT", "/api/projects/\(ranking.id)/pairs/t/label", token, #"{"label":"A"}"#)
        #expect(refused.status == 400, "\(refused.json)")
        await app.stop()
    }
}
