@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// The annotator's page in real headless Chromium (Debian's `chromium` and
/// `chromium-driver`), against the real server on port 0.
@Suite(.serialized, .enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct BrowserTests {
    static let tricky: [String] = [
        JSONValue.object([
            "id": "xss", "prompt": "Show me HTML",
            "response_a": .string("<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> plain"),
            "response_b": .string(
                "## Steps\n\n1. First **bold** step\n2. Then *emphasis* and `inline`\n\n```swift\nlet x = 1\n    indented()\n```\n\nSee [the docs](https://example.com/docs)."
            ),
            "model_a": "secret-model-a", "model_b": "secret-model-b",
        ]).jsonText,
        #"{"id":"chat","prompt":[{"role":"system","content":"Be kind."},{"role":"user","content":"Hello there"}],"response_a":"Hi!","response_b":"Go away."}"#,
    ]

    /// An app, a project and a signed-in browser on the annotate page.
    func annotating(
        engine: TestEngine = .sqlite, pairs: Int = 6, extra: [String] = [], width: Int = 1280, height: Int = 900,
        _ configure: @escaping @Sendable (inout ProjectSettings) -> Void = { _ in }
    ) async throws -> (TestApp, WebDriver, Project) {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: pairs, configure)
        if !extra.isEmpty {
            let lines = extra
            try await app.seed { db in
                var reader = JSONLReader(bytes: Array(lines.joined(separator: "\n").utf8))
                _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
            }
        }
        _ = try await app.person("ann")
        let browser = try WebDriver(width: width, height: height)
        try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/annotate")
        // Not signed in: the page sends us to sign in, and back afterwards.
        try browser.wait(until: "location.pathname === '/login'")
        #expect(try browser.currentURL().hasSuffix("/login?next=%2Fprojects%2F\(project.id)%2Fannotate"))
        try browser.element("#username").type("ann")
        try browser.element("#password").type("a long enough password")
        try browser.element("#login-submit").click()
        try browser.wait(until: "location.pathname === '/projects/\(project.id)/annotate'")
        try browser.wait(until: "!document.getElementById('task').hidden && document.getElementById('left').textContent.length > 0")
        return (app, browser, project)
    }

    @Test(arguments: TestEngine.all)
    func signInThenJudgeWithTheKeyboard(engine: TestEngine) async throws {
        let (app, browser, _) = try await annotating(engine: engine)
        #expect(try browser.element("#left-title").text == "Response 1")
        #expect(try browser.element("#right-title").text == "Response 2")
        let shownLeft = try browser.element("#left").text
        try browser.press("1")
        #expect(try browser.element("[data-choice='left']").attribute("aria-pressed") == "true")
        try browser.press("w")
        #expect(try browser.element("[data-strength='2']").attribute("aria-pressed") == "true")
        usleep(150_000)  // a measurable time on task
        try browser.press(WebDriver.enter)
        try browser.wait(until: "document.getElementById('left').textContent !== \(JSONValue.string(shownLeft).jsonText)")
        let stored = try await app.app.store.pool.read { db in
            try db.queryFirst("SELECT choice, strength, duration_ms, shown_swapped FROM annotations") {
                (choice: $0.string(0), strength: $0.int(1), duration: $0.int(2), swapped: $0.bool(3))
            }
        }
        let row = try #require(stored)
        #expect(row.choice == (row.swapped ? "B" : "A"), "left on screen is stored canonically")
        #expect(row.strength == 2)
        #expect(row.duration >= 150, "time on task measured from render to submit")
        try browser.wait(until: "document.getElementById('progress').textContent.includes('Done today: 1')")
        await app.stop()
    }

    @Test func untrustedHTMLIsShownAsTextAndMarkdownIsSafe() async throws {
        let (app, browser, _) = try await annotating(pairs: 0, extra: [Self.tricky[0]])
        if let directory = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: directory + "/annotate-safe-markdown.png")
        }
        #expect(try browser.script("return window.__pwned === undefined;").boolValue == true)
        let texts =
            try browser.script("return document.getElementById('left').textContent + document.getElementById('right').textContent;")
            .stringValue ?? ""
        #expect(texts.contains("<script>window.__pwned = 1</script>"))
        #expect(texts.contains("<img src=x onerror="))
        #expect(
            try browser.script(
                "return document.querySelectorAll('#left img, #right img, #left script, #right script, #left a, #right a').length;"
            ).intValue == 0)
        #expect(try browser.script("return document.querySelectorAll('.response-body ol li').length;").intValue == 2)
        #expect(try browser.script("return document.querySelector('.response-body strong').textContent;").stringValue == "bold")
        #expect(
            try browser.script("return document.querySelector('.response-body pre code').textContent;").stringValue
                == "let x = 1\n    indented()")
        #expect(
            try browser.script("return document.querySelector('.md-link').textContent;").stringValue
                == "the docs (https://example.com/docs)")
        let page = try browser.script("return document.body.innerText;").stringValue ?? ""
        #expect(!page.contains("secret-model"), "model names are never shown")
        await app.stop()
    }

    @Test func conversationsAreShownAsMessages() async throws {
        let (app, browser, _) = try await annotating(pairs: 0, extra: [Self.tricky[1]])
        // ARBITER_SCREENSHOTS=DIR saves what the annotator sees, to look at by eye.
        if let directory = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.press("1", "w")
            try browser.screenshot(to: directory + "/annotate-keyboard.png")
            try browser.press("?")
            try browser.screenshot(to: directory + "/shortcuts.png")
            try browser.press("\u{E00C}")
        }
        #expect(try browser.script("return document.querySelectorAll('#prompt .conversation .message').length;").intValue == 2)
        #expect(try browser.script("return document.querySelector('#prompt .role').textContent;").stringValue == "system")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func aFailedSubmitIsRetriedAndStoredOnce(engine: TestEngine) async throws {
        let (app, browser, _) = try await annotating(engine: engine)
        // The network drops the first two submits.
        try browser.script(
            """
            const real = window.fetch; let failures = 2;
            window.fetch = (url, init) => String(url).endsWith('/annotation') && failures-- > 0
                ? Promise.reject(new TypeError('offline')) : real(url, init);
            """)
        let first = try browser.element("#left").text
        try browser.press("2", WebDriver.enter)
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('retrying')")
        try browser.wait(until: "document.getElementById('left').textContent !== \(JSONValue.string(first).jsonText)", timeout: 20)
        #expect(try await app.count("SELECT count(*) FROM annotations") == 1, "never a double, never a loss")
        await app.stop()
    }

    @Test func anExpiredLeaseIsSaidPlainlyAndTheNextPairLoads() async throws {
        let (app, browser, _) = try await annotating { $0.leaseTTLSeconds = 60 }
        let first = try browser.element("#left").text
        app.clock.advance(seconds: 61)
        try browser.press("1", WebDriver.enter)
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('ran out')")
        try browser.wait(until: "document.getElementById('left').textContent !== \(JSONValue.string(first).jsonText)")
        #expect(try await app.count("SELECT count(*) FROM annotations") == 0)
        await app.stop()
    }

    /// `next` after sign-in never leaves the site, however it is spelled: one real
    /// sign-in through a dot-segment path, then every spelling through `safeNext`
    /// in the same page (one browser, not one per spelling).
    @Test func signInNeverLeavesTheSite() async throws {
        let app = try TestApp()
        _ = try await app.person("ann")
        let browser = try WebDriver()
        try browser.open("http://127.0.0.1:\(app.port)/login?next=/.//evil.example/x")
        try browser.element("#username").type("ann")
        try browser.element("#password").type("a long enough password")
        try browser.element("#login-submit").click()
        try browser.wait(until: "location.pathname !== '/login'")
        let landed = try browser.currentURL()
        #expect(landed == "http://127.0.0.1:\(app.port)/", "went to \(landed)")

        let hostile = [
            "/%09/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
            "/.//evil.example/x", "/..//evil.example/x", "/%2e//evil.example/x", "/a/..%2F/evil.example", "/a/..//evil.example",
            "/./\\evil.example", "/%2e%2e//evil.example",
        ]
        let resolved = try browser.script(
            "return import('/js/api.js').then(m => arguments[0].map(v => m.safeNext(v)))", [.array(hostile.map(JSONValue.string))])
        for (input, output) in zip(hostile, resolved.arrayValue ?? []) {
            let path = output.stringValue ?? ""
            #expect(path.hasPrefix("/") && !path.hasPrefix("//") && !path.hasPrefix("/\\"), "\(input) → \(path)")
        }
        let kept = try browser.script("return import('/js/api.js').then(m => m.safeNext('/projects/3/annotate?x=1#k'))")
        #expect(kept.stringValue == "/projects/3/annotate?x=1#k")
        await app.stop()
    }

    @Test func anEndedSessionGoesToSignInAndBack() async throws {
        let (app, browser, project) = try await annotating()
        app.clock.advance(seconds: 13 * 3600)  // idle past 12 hours
        try browser.press("1", WebDriver.enter)
        try browser.wait(until: "location.pathname === '/login'")
        try browser.element("#username").type("ann")
        try browser.element("#password").type("a long enough password")
        try browser.press(WebDriver.enter)
        try browser.wait(until: "location.pathname === '/projects/\(project.id)/annotate'")
        try browser.wait(until: "!document.getElementById('task').hidden")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func guidelinesShortcutsSkipAndReport(engine: TestEngine) async throws {
        let (app, browser, _) = try await annotating(engine: engine) { $0.guidelines = "# Be fair\n\nPrefer **correct** answers." }
        try browser.press("g")
        try browser.wait(until: "document.getElementById('guidelines').open")
        #expect(try browser.element("#guidelines-body").text.contains("Prefer correct answers."))
        try browser.press("\u{E00C}")  // Escape
        try browser.wait(until: "!document.getElementById('guidelines').open")
        try browser.press("?")
        try browser.wait(until: "document.getElementById('help').open")
        try browser.press("\u{E00C}")
        try browser.wait(until: "!document.getElementById('help').open")
        let first = try browser.element("#left").text
        try browser.press("s")
        try browser.wait(until: "document.getElementById('left').textContent !== \(JSONValue.string(first).jsonText)")
        #expect(try await app.count("SELECT count(*) FROM assignments WHERE state = 'skipped'") == 1)
        try browser.element("#report").click()
        try browser.element("#report-reason").type("The prompt is cut off")
        try browser.element("#report-dialog button[value='send']").click()
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('reported')")
        #expect(try await app.count("SELECT count(*) FROM pair_reports") == 1)
        await app.stop()
    }

    @Test func projectRulesShapeTheForm() async throws {
        let (app, browser, _) = try await annotating {
            $0.allowTies = false
            $0.allowBothBad = false
            $0.strengthEnabled = false
            $0.rationaleRequired = true
            $0.aspects = ["helpfulness"]
        }
        #expect(
            try browser.script(
                "return document.querySelector('[data-choice=tie]').hidden && document.querySelector('[data-choice=both_bad]').hidden;"
            ).boolValue == true)
        try browser.press("3", "1")
        #expect(try browser.script("return document.getElementById('strength').hidden;").boolValue == true)
        try browser.press(WebDriver.enter)
        try browser.wait(until: "document.getElementById('action-status').textContent.includes('rationale')")
        try browser.element(".aspect-choice[data-value='right']").click()
        try browser.element("#rationale").type("More accurate.")
        try browser.chord(WebDriver.control, WebDriver.enter)  // Ctrl+Enter inside the rationale
        for _ in 0..<100 where try await app.count("SELECT count(*) FROM annotations") == 0 { usleep(50_000) }
        let aspects = try await app.app.store.pool.read { db in
            try db.queryFirst("SELECT aspects, rationale FROM annotations") { ($0.string(0), $0.string(1)) }
        }
        #expect(aspects?.1 == "More accurate.")
        #expect(aspects?.0.contains("helpfulness") == true)
        await app.stop()
    }

    @Test func narrowScreensStackTheResponses() async throws {
        let (app, browser, _) = try await annotating(width: 600)
        let stacked = try browser.script(
            """
            const l = document.getElementById('left').getBoundingClientRect();
            const r = document.getElementById('right').getBoundingClientRect();
            return r.top >= l.bottom;
            """)
        #expect(stacked.boolValue == true)
        await app.stop()
    }
}

/// The reviewer's page in Chromium.
@Suite(.serialized, .enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct ReviewPageTests {
    func crowd(_ app: TestApp, lefty: String = "lefty") async throws -> Project {
        let project = try await app.project(pairs: 120)
        var lines: [String] = []
        var random = SplitMix(seed: 11)
        for pair in 0..<120 {
            let truth = pair % 2 == 0 ? "A" : "B"
            for rater in 0..<5 {
                let swapped = random.next() % 2 == 0
                let choice = random.next() % 10 == 0 ? (truth == "A" ? "B" : "A") : truth
                lines.append(
                    #"{"pair":"p\#(pair)","annotator":"r\#((pair + rater) % 8)","choice":"\#(choice)","shown_swapped":\#(swapped),"duration_ms":20000}"#
                )
            }
            let swapped = random.next() % 2 == 0
            lines.append(
                #"{"pair":"p\#(pair)","annotator":"\#(lefty)","choice":"\#(swapped ? "B" : "A")","shown_swapped":\#(swapped),"duration_ms":20000}"#
            )
        }
        let batch = lines
        try await app.seed { db in
            var reader = JSONLReader(bytes: Array(batch.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        return project
    }

    /// The kappa heatmap clips no name (however long), writes each value, has a
    /// legend; the reviewer can sign out; at a desktop and a phone width.
    @Test(arguments: [(1400, 1000), (390, 844)])
    func theHeatmapShowsEveryNameAndValueWithALegend(size: (Int, Int)) async throws {
        let app = try TestApp()
        let project = try await crowd(app, lefty: "annotator-with-a-rather-long-name@example.org")
        _ = try await app.person("rita", role: .reviewer)
        let browser = try WebDriver(width: size.0, height: size.1)
        try browser.signIn(app: app, as: "rita", to: "/projects/\(project.id)/review")
        try browser.wait(until: "document.querySelector('#heatmap svg') !== null", timeout: 20)
        let check = try browser.script(
            """
            const svg = document.querySelector('#heatmap svg');
            const box = svg.getBoundingClientRect();
            const labels = [...svg.querySelectorAll('.heat-label')];
            const clipped = labels.filter((label) => {
              const r = label.getBoundingClientRect();
              return r.left < box.left - 0.5 || r.top < box.top - 0.5 || r.right > box.right + 0.5 || r.bottom > box.bottom + 0.5;
            }).map((label) => label.textContent);
            return JSON.stringify({
              clipped,
              long: labels.filter((label) => label.textContent.startsWith('annotator-with')).length,
              values: svg.querySelectorAll('.heat-value').length,
              cells: svg.querySelectorAll('rect.heat-cell').length,
              legend: labels.some((label) => label.textContent.startsWith("Cohen's"))
            });
            """)
        let result = try JSONValue.parse(check.stringValue ?? "{}")
        #expect(result["clipped"] == .array([]), "\(result)")
        #expect(result["long"]?.intValue == 2, "the long name on both axes")
        #expect((result["values"]?.intValue ?? 0) > 0)
        #expect(result["legend"] == true)
        if size.0 == 1400, let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.script("document.getElementById('heatmap').scrollIntoView();")
            try browser.screenshot(to: shots + "/review-heatmap.png")
        }
        try browser.element("#sign-out").click()
        try browser.wait(until: "location.pathname === '/login'")
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func anAdminReviewsAndQuarantines(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await crowd(app)
        _ = try await app.person("boss", role: .admin)
        let browser = try WebDriver()
        try browser.signIn(app: app, as: "boss", to: "/projects/\(project.id)/review")
        if let directory = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: directory + "/review-quarantine.png")
        }
        #expect(try browser.element("#reading").text.contains("α ="))
        #expect(try browser.script("return document.querySelectorAll('#agreement-table tbody tr').length;").intValue == 5)
        #expect(try browser.script("return document.querySelectorAll('#raters tbody tr').length;").intValue == 9)
        #expect(try browser.script("return document.querySelectorAll('#heatmap svg rect').length > 0;").boolValue == true)
        #expect(try browser.script("return document.querySelectorAll('#contested li').length > 0;").boolValue == true)
        let first = try browser.script("return document.querySelector('#raters tbody tr').dataset.annotator;").stringValue
        #expect(first == "lefty", "sorted by suspicion, most suspicious first")
        // The kind of finding, as the API says it, in the table and the queue.
        let api = try app.call("GET", "/api/projects/\(project.id)/raters", try await app.user("auditor", role: .admin))
        let finding = try #require(api.json["raters"]?.arrayValue?.first { $0["annotator"] == "lefty" }?["finding"]?.stringValue)
        #expect(finding == "malicious")
        #expect(try browser.element("#raters tbody tr[data-annotator='lefty'] .rater-status").text == "flagged (\(finding))")
        #expect(try browser.element(".queue-item[data-annotator='lefty'] h3").text.hasPrefix("lefty — flagged as \(finding)"))
        // The crowd model in one line, and each rater's probability of being honest.
        #expect(try browser.element("#crowd-model").text.hasPrefix("Crowd model:"))
        #expect(try browser.element("#crowd-model").text.contains("expected to be honest"))
        let honestCells =
            try browser.script(
                "return [...document.querySelectorAll('#raters tbody tr')].map((r) => r.cells[7].textContent);"
            ).arrayValue?.compactMap(\.stringValue) ?? []
        #expect(
            honestCells.count == 9 && honestCells.allSatisfy { $0 == "—" || $0.first == "<" || $0.first == ">" || Double($0) != nil },
            "\(honestCells)")
        if let directory = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }), engine == .sqlite {
            _ = try browser.script("document.getElementById('raters-title').scrollIntoView(); return true;")
            try browser.screenshot(to: directory + "/review-raters.png")
        }
        try browser.element("[data-sort='annotator']").click()
        #expect(try browser.script("return document.querySelector('#raters tbody tr').dataset.annotator;").stringValue == "r7")
        // The flagged queue: quarantine with a comment.
        try browser.element(".queue-item[data-annotator='lefty'] .decision-comment").type("always the left side")
        try browser.element(".queue-item[data-annotator='lefty'] .decide-quarantined").click()
        try browser.wait(until: "document.getElementById('excluded').textContent.includes('of 1 quarantined')")
        try browser.wait(
            until: "document.querySelector(\"#raters tbody tr[data-annotator='lefty'] .rater-status\")?.textContent === 'quarantined'")
        #expect(try await app.count("SELECT count(*) FROM rater_status WHERE status = 'quarantined'") == 1)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func reviewersDecideTooAndAreAudited(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await crowd(app)
        _ = try await app.person("rita", role: .reviewer)
        let browser = try WebDriver()
        try browser.signIn(app: app, as: "rita", to: "/projects/\(project.id)/review")
        #expect(try browser.script("return document.querySelectorAll('.queue-item').length;").intValue == 1)
        try browser.element(".queue-item[data-annotator='lefty'] .decision-comment").type("always the left side")
        try browser.element(".queue-item[data-annotator='lefty'] .decide-quarantined").click()
        try browser.wait(
            until: "document.querySelector(\"#raters tbody tr[data-annotator='lefty'] .rater-status\")?.textContent === 'quarantined'")
        #expect(
            try await app.count(
                "SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_id WHERE a.action = 'rater_quarantined' AND u.username = 'rita'"
            ) == 1)
        await app.stop()
    }
}
