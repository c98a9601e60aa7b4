@testable import Arbiter
import Foundation
import JSON
import Storage
import Testing
import TestSupport

/// The pages tell one story: what a page shows is what the API and the export say
/// about the same thing, at desktop and phone sizes.
@Suite(.serialized, .enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct OneStoryTests {
    static let sizes = [(1400, 1000), (390, 844)]

    /// A person who can sign in, and a token of theirs for the API.
    static func person(_ app: TestApp, _ name: String, role: Role = .annotator) async throws -> String {
        let id = try await app.person(name, role: role)
        return try await app.seed { db in try Users.createToken(db, userID: id).token }
    }

    /// The home page keeps a project whose last task the annotator holds: "1 in
    /// progress" and "Continue", agreeing with the progress API; once judged, it goes.
    @Test func aProjectStaysHomeWhileItsLastTaskIsHeld() async throws {
        let app = try TestApp()
        let project = try await app.project(pairs: 2) { $0.overlap = 1 }
        let ann = try await Self.person(app, "ann")
        let first = try #require(app.next(ann, project: project.id).1?["id"]?.intValue)
        #expect(try app.submit(ann, assignment: first, #"{"choice":"left"}"#).0 == 201)
        let last = try #require(app.next(ann, project: project.id).1?["id"]?.intValue)
        let progress = try app.call("GET", "/api/projects/\(project.id)/progress", ann).json["progress"]
        #expect(progress?["left"] == 1 && progress?["in_progress"] == 1, "\(String(describing: progress))")
        #expect(try app.call("GET", "/api/projects", ann).json["projects"]?.arrayValue?.count == 1)
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "ann", to: "/")
        for (width, height) in Self.sizes {
            try browser.resize(width: width, height: height)
            try browser.open("http://127.0.0.1:\(app.port)/")
            try browser.wait(until: "document.querySelector('#projects .progress')?.textContent.includes('in progress')")
            #expect(try browser.element("#projects .progress").text.hasSuffix("left for you: 1 · 1 in progress"))
            #expect(try browser.element("#projects a.primary").text == "Continue")
            #expect(try browser.element("#projects a.primary").attribute("href")?.hasSuffix("/projects/\(project.id)/annotate") == true)
        }
        // Judged: the project is finished and leaves the home page.
        #expect(try app.submit(ann, assignment: last, #"{"choice":"right"}"#).0 == 201)
        #expect(try app.call("GET", "/api/projects", ann).json["projects"]?.arrayValue?.isEmpty == true)
        try browser.open("http://127.0.0.1:\(app.port)/")
        try browser.wait(until: "!document.getElementById('empty').hidden")
        await app.stop()
    }

    /// The new-project form shows only what applies to the chosen kind, keeps the
    /// scale's ends small and side by side, puts the rewrite box on its own line,
    /// sketches the arena when it is ticked, and the admin page does not scroll
    /// sideways on a phone.
    @Test func theNewProjectFormFitsTheKind() async throws {
        let app = try TestApp()
        _ = try await app.person("boss", role: .admin)
        _ = try await app.project(pairs: 3, name: "a project with a rather long name to fill the table")
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "boss", to: "/admin")
        func visible(_ selector: String) throws -> Bool {
            try browser.script(
                "const e = document.querySelector(arguments[0]); return !!e && e.offsetParent !== null;", [.string(selector)]
            ).boolValue == true
        }
        for (width, height) in Self.sizes {
            try browser.resize(width: width, height: height)
            try browser.open("http://127.0.0.1:\(app.port)/admin")
            try browser.wait(until: "document.body.dataset.ready === 'true'")
            #expect(
                try browser.script("return document.documentElement.scrollWidth <= window.innerWidth;").boolValue == true,
                "no sideways scroll at \(width)")
            try browser.element("#new-project summary").click()
            #expect(try visible("#project-form-gold_rate") && visible("#project-form-allow_ties") && visible("#project-form-aspects"))
            #expect(try visible("#project-form-repeat_after_judgements"))
            for kind in ["ranking", "rating"] {
                try browser.script(
                    "const k = document.getElementById('project-form-kind'); k.value = arguments[0]; k.dispatchEvent(new Event('change'));",
                    [.string(kind)])
                for hidden in [
                    "gold_rate", "allow_ties", "allow_both_bad", "strength_enabled", "strength_required", "aspects", "aspects_required",
                ] {
                    #expect(try !visible("#project-form-\(hidden)"), "\(kind) at \(width): \(hidden) shown")
                }
                #expect(try visible("#project-form-repeat_rate") && visible("#project-form-overlap"))
            }
            // Rating: the scale's ends are small and on one line.
            let scale =
                try browser.script(
                    """
                    const a = document.getElementById('project-form-scale_min').getBoundingClientRect();
                    const b = document.getElementById('project-form-scale_max').getBoundingClientRect();
                    return [a.width, b.width, Math.abs(a.top - b.top)];
                    """
                ).arrayValue?.compactMap(\.doubleValue) ?? []
            #expect(scale.count == 3 && scale[0] < 200 && scale[1] < 200 && scale[2] < 1, "\(scale)")
            // The rewrite box sits on its own line above the sketch, not beside it.
            let rewrite = try browser.script(
                """
                const label = document.getElementById('project-form-rewrite').closest('label').getBoundingClientRect();
                const sketch = document.getElementById('project-form-layout-preview').getBoundingClientRect();
                return label.bottom <= sketch.top;
                """
            ).boolValue
            #expect(rewrite == true)
            // Pairwise with the arena ticked: the sketch is of a battle.
            try browser.script(
                "const k = document.getElementById('project-form-kind'); k.value = 'pairwise'; k.dispatchEvent(new Event('change'));")
            try browser.element("#project-form-arena").click()
            #expect(try browser.element("#project-form-layout-preview").text.contains("Model A (hidden)"))
            #expect(
                try browser.script("return document.documentElement.scrollWidth <= window.innerWidth;").boolValue == true,
                "the open form at \(width)")
            if width == 390, let shots = ProcessInfo.processInfo.environment["ARBITER_SCREENSHOTS"] {
                try browser.screenshot(to: shots + "/admin-new-project-phone.png")
            }
            try browser.element("#project-form-arena").click()
            #expect(try !browser.element("#project-form-layout-preview").text.contains("Model A (hidden)"))
        }
        await app.stop()
    }

    /// The export form offers only the formats that can export the project.
    @Test func theExportFormOffersWhatTheProjectCanExport() async throws {
        let app = try TestApp()
        _ = try await app.person("boss", role: .admin)
        let pairwise = try await app.project(pairs: 3, name: "pairs")
        let rating = try await app.project(pairs: 0, name: "ratings") {
            $0.kind = .rating; $0.attributes = ["helpfulness"]
        }
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "boss", to: "/admin/projects/\(pairwise.id)")
        func formats() throws -> [String] {
            try browser.wait(until: "document.querySelectorAll('#export-format option').length > 0")
            return try browser.script("return [...document.querySelectorAll('#export-format option')].map((o) => o.value);").arrayValue?
                .compactMap(\.stringValue) ?? []
        }
        let offered = try formats()
        #expect(offered.contains("trl") && !offered.contains("helpsteer") && !offered.contains("rewrite-sft"), "\(offered)")
        // Every option of the export form's menus reads whole, on a desktop and a phone.
        for (width, height) in Self.sizes {
            try browser.resize(width: width, height: height)
            let cut = try browser.script(
                """
                const context = document.createElement('canvas').getContext('2d');
                return [...document.querySelectorAll('#export-form select')].flatMap((select) => {
                  context.font = getComputedStyle(select).font;
                  return [...select.options].filter((o) => context.measureText(o.text).width + 36 > select.clientWidth).map((o) => o.text);
                });
                """)
            #expect(cut == [], "cut off at \(width): \(cut)")
        }
        try browser.open("http://127.0.0.1:\(app.port)/admin/projects/\(rating.id)")
        try browser.wait(until: "document.body.dataset.ready === 'true'")
        #expect(try formats().contains("helpsteer"))
        await app.stop()
    }

    /// The review page's numbers agree with each other and with the API: the
    /// flagged summary says what its number is, a rater with a few gold judgements
    /// shows them as a count, α says which α, contested pairs open in the item
    /// browser and leave the list once settled, and the flagged card offers what
    /// can still be decided. An annotator sees a plain "not yours".
    @Test func theReviewPageTellsOneStory() async throws {
        let app = try TestApp()
        let project = try await ReviewPageTests().crowd(app)
        try await app.seed { db in
            var reader = JSONLReader(
                bytes: Array(
                    (0..<3).map { #"{"id":"g\#($0)","prompt":"gold \#($0)","response_a":"right","response_b":"wrong","gold":"A"}"# }
                        .joined(separator: "\n").utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
        }
        try await app.importJudgements(
            (0..<3).map { #"{"pair":"g\#($0)","annotator":"r1","choice":"\#($0 == 0 ? "B" : "A")"}"# }, into: project)
        let admin = try await Self.person(app, "boss", role: .admin)
        _ = try await Self.person(app, "ann")
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "boss", to: "/projects/\(project.id)/review")
        let api = try app.call("GET", "/api/projects/\(project.id)/raters", admin).json
        let r1 = try #require(api["raters"]?.arrayValue?.first { $0["annotator"] == "r1" })
        #expect(r1["gold"] == ["right": 2, "judged": 3])
        for (width, height) in Self.sizes {
            try browser.resize(width: width, height: height)
            try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/review")
            try browser.wait(until: "document.body.dataset.ready === 'true'")
            #expect(try browser.element("#reading").text.contains("interval α ="))
            let model = try browser.element("#crowd-model").text
            #expect(model.contains("by the strongest evidence behind each flag"), "\(model)")
            #expect(try browser.element("#raters tbody tr[data-annotator='r1']").text.contains("2 of 3 (5 needed)"))
            #expect(
                try browser.script("return document.documentElement.scrollWidth <= window.innerWidth;").boolValue == true,
                "no sideways scroll at \(width)")
        }
        // The flagged card: "Clear of the flag", and after quarantining, "Lift the quarantine".
        let card = ".queue-item[data-annotator='lefty']"
        #expect(try browser.element("\(card) .decide-cleared").text == "Clear of the flag")
        try browser.element("\(card) .decision-comment").type("always the left side")
        try browser.element("\(card) .decide-quarantined").click()
        try browser.wait(until: "document.querySelector(\"\(card) .decide-ok\")?.textContent === 'Lift the quarantine'")
        #expect(try browser.script("return document.querySelector(\"\(card) .decide-quarantined\") === null;").boolValue == true)
        // Contested pairs open in the item browser; one settled leaves the list.
        let first = try browser.script("return document.querySelector('#contested li a').textContent;").stringValue ?? ""
        #expect(try browser.element("#contested li a").attribute("href") == "/projects/\(project.id)/items?pair=\(first)")
        #expect(try app.call("PUT", "/api/projects/\(project.id)/pairs/\(first)/label", admin, #"{"label":"A"}"#).status == 200)
        try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/review")
        try browser.wait(until: "document.body.dataset.ready === 'true'")
        let listed =
            try browser.script("return [...document.querySelectorAll('#contested li a')].map((a) => a.textContent);").arrayValue?
            .compactMap(\.stringValue) ?? []
        #expect(!listed.isEmpty && !listed.contains(first), "\(first) in \(listed)")
        try browser.element("#contested li a").click()
        try browser.wait(until: "location.pathname.endsWith('/items') && document.getElementById('detail').dataset.pair === '\(listed[0])'")
        // An annotator: one plain sentence, no empty tables or buttons.
        let annotator = try WebDriver(width: 390, height: 844)
        try annotator.signIn(app: app, as: "ann", to: "/projects/\(project.id)/review")
        #expect(try annotator.element("#status").text.hasPrefix("The review page is for reviewers and admins."))
        #expect(
            try annotator.script(
                "return [...document.querySelectorAll('main button, main table')].filter((e) => e.offsetParent !== null).length;"
            ).intValue == 0)
        await app.stop()
    }

    /// A used invite link says so at once, not after the form is filled in.
    @Test func aUsedInviteLinkSaysSoAtOnce() async throws {
        let app = try TestApp()
        let admin = try await Self.person(app, "boss", role: .admin)
        let created = try app.call("POST", "/api/invites", admin, #"{"role":"annotator"}"#).json
        let url = try #require(created["invite"]?["url"]?.stringValue)
        let browser = try WebDriver(width: 390, height: 844)
        try browser.open("http://127.0.0.1:\(app.port)\(url)")
        try browser.wait(until: "document.body.dataset.ready === 'true'")
        #expect(try browser.script("return document.getElementById('invite-gone').hidden;").boolValue == true)
        try browser.element("#username").type("newbie")
        try browser.element("#password").type("a long enough password")
        try browser.element("#invite-submit").click()
        try browser.wait(until: "location.pathname === '/'")
        try browser.script(
            "document.cookie.split(';').forEach((c) => { document.cookie = c.split('=')[0] + '=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/'; });"
        )
        let other = try WebDriver(width: 1400, height: 1000)
        try other.open("http://127.0.0.1:\(app.port)\(url)")
        try other.wait(until: "document.body.dataset.ready === 'true'")
        #expect(try other.element("#invite-gone").text.contains("cannot be used"))
        #expect(try other.script("return document.getElementById('invite-form').hidden;").boolValue == true)
        await app.stop()
    }

    /// Ranking and rating projects speak of tasks, not pairs: home, dashboard,
    /// item browser and the annotate page's report button.
    @Test func tasksAreCalledTasks() async throws {
        let app = try TestApp()
        let project = try await app.project(pairs: 0, name: "Rank v1") {
            $0.kind = .ranking; $0.overlap = 1
        }
        let line = TaskPageTests.task
        try await app.seed { db in
            var reader = JSONLReader(bytes: Array(line.utf8))
            _ = try PairImporter.run(db, projectID: project.id, reader: &reader, options: ImportOptions())
        }
        _ = try await app.person("boss", role: .admin)
        _ = try await app.person("rita", role: .reviewer)
        let reviewer = try WebDriver(width: 390, height: 844)
        try reviewer.signIn(app: app, as: "rita", to: "/")
        try reviewer.wait(until: "document.querySelector('#projects .progress')?.textContent !== ''")
        #expect(try reviewer.element("#projects .progress").text == "1 task · 0 judgements")
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "boss", to: "/")
        for (width, height) in Self.sizes {
            try browser.resize(width: width, height: height)
            try browser.open("http://127.0.0.1:\(app.port)/admin/projects/\(project.id)")
            try browser.wait(until: "document.body.dataset.ready === 'true'")
            #expect(try browser.element("#collection-policy").text == "Fixed overlap: 1 judgement per task.")
            #expect(try browser.element("#counts [data-name=pairs] dt").text == "Tasks")
            #expect(try browser.script("return document.querySelector('#counts [data-name=gold-pairs]') === null;").boolValue == true)
            try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/items")
            try browser.wait(until: "document.body.dataset.ready === 'true'")
            #expect(try browser.element("#items-title").text == "Tasks")
            try browser.open("http://127.0.0.1:\(app.port)/projects/\(project.id)/annotate")
            try browser.wait(until: "document.body.dataset.ready === 'true'")
            #expect(try browser.element("#report").text == "Report a problem with this task")
        }
        await app.stop()
    }

    /// The polish the outside walk asked for, measured: the sign-in button stands
    /// apart from the password, response cards from the judgement card, score
    /// buttons from each other with their labels on one line — at both sizes.
    @Test func spacingHolds() async throws {
        for (width, height) in Self.sizes {
            let (app, browser, project) = try await BrowserTests().annotating(pairs: 2, width: width, height: height)
            let gap =
                try browser.script(
                    """
                    const bottom = Math.max(...[...document.querySelectorAll('.responses .response')].map((c) => c.getBoundingClientRect().bottom));
                    return document.getElementById('judgement').getBoundingClientRect().top - bottom;
                    """
                ).doubleValue ?? 0
            #expect(gap >= 8, "responses to judgement: \(gap) px at \(width)")
            try browser.open("http://127.0.0.1:\(app.port)/login")
            let button =
                try browser.script(
                    """
                    return document.getElementById('login-submit').getBoundingClientRect().top - document.getElementById('password').getBoundingClientRect().bottom;
                    """
                ).doubleValue ?? 0
            #expect(button >= 8, "password to sign-in button: \(button) px at \(width)")
            _ = project
            await app.stop()
        }
        for size in [0, 1] {
            let (app, browser, _) = try await TaskPageTests().open(
                {
                    $0.kind = .rating; $0.attributes = ["helpfulness"]; $0.scaleMin = 0; $0.scaleMax = 4
                    $0.scaleLabels = ["awful", "poor", "fair", "good", "excellent"]
                }, size: size)
            let layout = try JSONValue.parse(
                try browser.script(
                    """
                    const rows = [...document.querySelectorAll('.rating-row')];
                    let touching = 0, wrapped = 0;
                    for (const row of rows) {
                      const buttons = [...row.querySelectorAll('.score')].map((b) => b.getBoundingClientRect());
                      for (let i = 1; i < buttons.length; i += 1) {
                        if (Math.abs(buttons[i].top - buttons[i - 1].top) < 2 && buttons[i].left - buttons[i - 1].right < 4) touching += 1;
                      }
                      for (const anchor of row.querySelectorAll('.anchor')) if (anchor.getClientRects().length > 1) wrapped += 1;
                      if (new Set(buttons.map((b) => Math.round(b.top))).size > 1) wrapped += 1;
                    }
                    return JSON.stringify({ touching, wrapped });
                    """
                ).stringValue ?? "{}")
            #expect(layout["touching"] == 0 && layout["wrapped"] == 0, "score buttons at size \(size): \(layout)")
            await app.stop()
        }
    }
}
