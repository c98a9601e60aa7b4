@testable import Arbiter
import Foundation
import JSON
import Storage
import Testing
import TestSupport

/// The reviewer's drill-down and the item browser with final labels, in Chromium,
/// on both engines.
@Suite(.serialized, .enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct ItemPageTests {
    static var screenshots: String? { ProcessInfo.processInfo.environment["ARBITER_SCREENSHOTS"] }

    @Test(arguments: TestEngine.all)
    func aReviewerDrillsIntoARaterAndDecides(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await ReviewPageTests().crowd(app)
        _ = try await app.person("rita", role: .reviewer)
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "rita", to: "/projects/\(project.id)/review")
        // Any rater opens, not only flagged ones: r3 first, then lefty.
        try browser.element("#raters tbody tr[data-annotator='r3'] .drill-open").click()
        try browser.wait(until: "document.querySelectorAll('#drill-table tbody tr').length === 75")
        #expect(try browser.element("#drill-title").text == "r3's judgements")
        try browser.element("#raters tbody tr[data-annotator='lefty'] .drill-open").click()
        try browser.wait(until: "document.getElementById('drill-title').textContent === \"lefty's judgements\"")
        try browser.wait(until: "document.querySelectorAll('#drill-table tbody tr').length === 100")
        #expect(try browser.script("return getComputedStyle(document.getElementById('drill-more')).display !== 'none';").boolValue == true)
        let signals = try browser.script(
            "return [...document.querySelectorAll('#drill-table tbody tr')].map((r) => r.cells[8].textContent);")
        #expect(
            signals.arrayValue?.allSatisfy { $0.stringValue?.contains("position") == true && $0.stringValue?.contains("speed") == true }
                == true)
        // Only departures: every row departs, about half of lefty's 120.
        try browser.element("#drill-departures").click()
        try browser.wait(
            until:
                "(() => { const rows = [...document.querySelectorAll('#drill-table tbody tr')]; return rows.length > 0 && rows.length < 100 && rows.every((r) => r.cells[5].textContent === 'yes'); })()"
        )
        let departures = try browser.script("return document.querySelectorAll('#drill-table tbody tr').length;").intValue ?? 0
        #expect((30...90).contains(departures), "\(departures)")
        if let shots = Self.screenshots {
            try browser.script("document.getElementById('drill').scrollIntoView();")
            try browser.screenshot(to: shots + "/review-drilldown.png")
        }
        // Decide from the drill-down, with a reason; audited under the reviewer's name.
        try browser.element("#drill-comment").type("picks the left side whatever it says")
        try browser.element(".drill-decide[data-status='quarantined']").click()
        try browser.wait(
            until: "document.querySelector(\"#raters tbody tr[data-annotator='lefty'] .rater-status\")?.textContent === 'quarantined'")
        try browser.wait(until: "document.getElementById('drill-summary').textContent.includes('status quarantined')")
        #expect(
            try await app.count(
                "SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_id WHERE a.action = 'rater_quarantined' AND u.username = 'rita'"
            ) == 1)
        // On to the pairs the rater judged.
        try browser.element("#drill-items").click()
        try browser.wait(until: "location.pathname.endsWith('/items') && document.body.dataset.ready === 'true'")
        #expect(try browser.script("return document.getElementById('raters').value;").stringValue == "lefty")
        #expect(try browser.script("return document.querySelectorAll('#pairs tbody tr').length;").intValue == 50)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func aReviewerFindsAPairAndSetsItsFinalLabel(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await ReviewPageTests().crowd(app)
        try await app.app.searchIndexer.catchUp()
        _ = try await app.person("rita", role: .reviewer)
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "rita", to: "/projects/\(project.id)/items")
        #expect(try browser.script("return document.querySelectorAll('#pairs tbody tr').length;").intValue == 50)
        try browser.wait(until: "getComputedStyle(document.getElementById('more')).display !== 'none'")
        try browser.element("#more").click()
        try browser.wait(until: "document.querySelectorAll('#pairs tbody tr').length === 100")
        // Search and order: "question 17" finds the pair; most disagreement first.
        try browser.element("#q").type("question 17")
        try browser.script("document.getElementById('sort').value = '-disagreement';")
        try browser.element("#apply").click()
        try browser.wait(until: "document.querySelectorAll('#pairs tbody tr').length === 1")
        #expect(try browser.script("return document.querySelector('#pairs tbody tr').dataset.pair;").stringValue == "p17")
        #expect(
            try browser.script("return location.search;").stringValue?.contains("q=question+17") == true, "the filters are in the address")
        try browser.element("#pairs tbody tr .open-pair").click()
        try browser.wait(until: "document.getElementById('detail').dataset.decided === 'p17'")
        #expect(try browser.script("return document.querySelectorAll('#detail-judgements tbody tr').length;").intValue == 6)
        #expect(try browser.element("#detail-a").text == "A17")
        // lefty is flagged (as the review page says) and left out of the export's decision.
        let lefty = try browser.script(
            "return [...document.querySelectorAll('#detail-judgements tbody tr')].filter((r) => r.cells[0].textContent === 'lefty').map((r) => r.cells[1].textContent + ' / ' + r.cells[7].textContent);"
        )
        #expect(lefty == ["flagged / no: flagged: malicious"], "\(lefty)")
        try browser.element("#label-note").type("B answers the question")
        try browser.element("[data-label='B']").click()
        try browser.wait(until: "document.querySelector(\"#pairs tbody tr[data-pair='p17'] .final-label\").textContent === 'B'")
        try browser.wait(until: "document.getElementById('label-now').textContent.startsWith('B, set by rita')")
        if let shots = Self.screenshots {
            try browser.screenshot(to: shots + "/items.png")
        }
        let label = try await app.app.store.pool.read { db in
            try db.queryFirst("SELECT l.label, l.note FROM pair_labels l JOIN pairs p ON p.id = l.pair_id WHERE p.external_id = 'p17'") {
                "\($0.string(0)) \($0.string(1))"
            }
        }
        #expect(label == "B B answers the question")
        try browser.element("#label-clear").click()
        try browser.wait(until: "document.getElementById('label-now').textContent.startsWith('None')")
        #expect(try await app.count("SELECT count(*) FROM pair_labels") == 0)
        // A link with filters and a pair opens both.
        try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/items?min_judgements=6&sort=-id&pair=p3")
        try browser.wait(until: "document.body.dataset.ready === 'true' && document.getElementById('detail').dataset.pair === 'p3'")
        #expect(try browser.script("return document.querySelector('#pairs tbody tr').dataset.pair;").stringValue == "p119")
        await app.stop()
    }

    /// The page says what the export writes (API test: ItemBrowserTests), at desktop
    /// and phone sizes: a gold pair by its key, a quarantined rater's vote apart.
    @Test func theItemPageShowsWhatTheExportWrites() async throws {
        let app = try TestApp()
        let (project, _) = try await ItemBrowserTests.seed(app)
        let admin = try await app.user("boss", role: .admin)
        #expect(
            try app.call("POST", "/api/projects/\(project.id)/raters/r0/status", admin, #"{"status":"quarantined","comment":"test"}"#)
                .status == 200)
        _ = try await app.person("rita", role: .reviewer)
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "rita", to: "/projects/\(project.id)/items?pair=item-39")
        for (width, height) in [(1400, 1000), (390, 844)] {
            try browser.resize(width: width, height: height)
            try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/items?pair=item-39")
            try browser.wait(
                until: "document.body.dataset.ready === 'true' && document.getElementById('detail').dataset.decided === 'item-39'")
            let decision = try browser.element("#detail-decision").text
            #expect(decision.hasPrefix(#"The export writes A as chosen (label_source "gold": its gold key)."#), "\(width): \(decision)")
            #expect(decision.contains("Left out: r0 (B, quarantined)."), "\(width): \(decision)")
            #expect(try browser.element("#label-now").text == "None: exports use the gold key (A).")
            let excluded = try browser.script(
                "return [...document.querySelectorAll('#detail-judgements tbody tr.excluded')].map((r) => r.cells[0].textContent + ' ' + r.cells[7].textContent);"
            )
            #expect(excluded == ["r0 no: quarantined"])
            #expect(
                try browser.script(
                    "return [...document.querySelectorAll('#detail-judgements tbody tr.excluded')].map((r) => r.cells[1].textContent);")
                    == ["quarantined"])
            // A crowd decision: the page's label is the export's.
            try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/items?pair=item-8")
            try browser.wait(
                until: "document.body.dataset.ready === 'true' && document.getElementById('detail').dataset.decided === 'item-8'")
            let api = try app.call("GET", "/api/projects/\(project.id)/pairs/item-8/decision", admin).json["export_decision"]
            let text = try browser.element("#detail-decision").text
            if let label = api?["label"]?.stringValue {
                #expect(text.hasPrefix("The export writes \(label) as chosen (label_source \"crowd\""), "\(text)")
            } else {
                #expect(text.hasPrefix("The export leaves this pair out"), "\(text)")
            }
            #expect(
                try browser.script("return document.documentElement.scrollWidth <= window.innerWidth;").boolValue == true,
                "no sideways scroll at \(width)")
            // A search of punctuation alone is refused, in words, not answered with everything.
            try browser.element("#q").clear()
            try browser.element("#q").type("==")
            try browser.element("#apply").click()
            try browser.wait(until: "document.getElementById('status').textContent.includes('no letters or digits')")
            // ... and the start of a word finds it.
            try browser.element("#q").clear()
            try browser.element("#q").type("oran")
            try browser.element("#apply").click()
            try browser.wait(
                until: "document.querySelectorAll('#pairs tbody tr').length === 20 && document.getElementById('status').hidden")
            // The list's prompts get room to read (not squeezed to a sliver, words whole).
            let prompt =
                try browser.script("return document.querySelector('#pairs tbody .preview-cell').getBoundingClientRect().width;").doubleValue
                ?? 0
            #expect(prompt >= 250, "prompt column \(prompt) px at \(width)")
        }
        await app.stop()
    }

    @Test func annotatorsAreToldThePageIsNotTheirs() async throws {
        let app = try TestApp()
        let project = try await app.project(pairs: 3)
        _ = try await app.person("ann")
        let browser = try WebDriver()
        try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/items")
        try browser.wait(until: "location.pathname === '/login'")
        try browser.element("#username").type("ann")
        try browser.element("#password").type("a long enough password")
        try browser.element("#login-submit").click()
        try browser.wait(until: "document.getElementById('status').textContent.includes('for reviewers and admins')")
        #expect(try browser.script("return document.querySelectorAll('#pairs tbody tr').length;").intValue == 0)
        await app.stop()
    }
}
