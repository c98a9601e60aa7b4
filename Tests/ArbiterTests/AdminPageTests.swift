@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// The admin pages in headless Chromium against the real server: the whole
/// daily loop without the command line.
@Suite(.serialized, .enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct AdminPageTests {
    /// 40 pairs: the helpful answer is A on even pairs, B on odd ones.
    static func pairLines(badLine: Int? = nil) -> String {
        (0..<40).map { index -> String in
            if index + 1 == badLine { return #"{"id":"p\#(index)","prompt":"q\#(index)","response_a":"only one side"}"# }
            let good = "a helpful careful answer \(index % 7)"
            let bad = "a rude dismissive reply \(index % 5)"
            let (a, b) = index % 2 == 0 ? (good, bad) : (bad, good)
            return #"{"id":"p\#(index)","prompt":"question \#(index)","response_a":"\#(a)","response_b":"\#(b)"}"#
        }.joined(separator: "\n") + "\n"
    }

    @Test(arguments: TestEngine.all)
    func anAdminRunsAProjectFromTheBrowser(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.person("boss", role: .admin)
        let browser = try WebDriver()
        try browser.signIn(app: app, as: "boss", to: "/admin")

        // 1. Create a project; guidelines preview is rendered as safe Markdown.
        try browser.element("#new-project summary").click()
        try browser.element("#project-form-name").type("Helpfulness")
        try browser.element("#project-form-overlap").clear()
        try browser.element("#project-form-overlap").type("1")
        try browser.element("#project-form-guidelines").type("Pick the **helpful** one. <img src=x onerror=\"window.__pwned=1\">")
        try browser.wait(until: "document.querySelector('#project-form-preview strong')?.textContent === 'helpful'")
        try browser.element("#project-form button[type=submit]").click()
        try browser.wait(until: "location.pathname.startsWith('/admin/projects/') && document.body.dataset.ready === 'true'", timeout: 20)
        let projectID = Int(try browser.script("return location.pathname.split('/')[3];").stringValue ?? "") ?? -1
        let overlap = try await app.app.store.pool.read { db in try Projects.find(db, id: projectID)?.settings.overlap }
        #expect(overlap == 1)
        #expect(try browser.script("return window.__pwned === undefined;").boolValue == true)

        // 2. Upload a file with one bad line: the error names line 7, nothing is imported.
        let directory = TemporaryDirectory()
        directory.write("bad.jsonl", Self.pairLines(badLine: 7))
        try browser.element("#upload-file").type(directory.path + "/bad.jsonl")
        try browser.wait(until: "document.getElementById('detected').textContent.includes('Pairs (prompt, response_a, response_b)')")
        #expect(try browser.element("#detected").text.contains("40 lines"))
        try browser.element("#upload").click()
        try browser.wait(until: "document.querySelector('#upload-errors li') !== null", timeout: 20)
        #expect(try browser.element("#upload-errors li").text.hasPrefix("line 7:"))
        #expect(try browser.element("#upload-result").text.contains("Nothing imported"))
        #expect(try await app.count("SELECT count(*) FROM pairs") == 0)

        // 3. Fixed: a dry run first (validates, writes nothing), then the import.
        directory.write("good.jsonl", Self.pairLines())
        try browser.element("#upload-file").type(directory.path + "/good.jsonl")
        try browser.wait(until: "document.getElementById('detected').textContent.includes('good.jsonl')")
        try browser.element("#dry-run").click()
        try browser.element("#upload").click()
        try browser.wait(until: "document.getElementById('upload-result').textContent.includes('Nothing was written')", timeout: 20)
        #expect(try await app.count("SELECT count(*) FROM pairs") == 0)
        try browser.element("#dry-run").click()
        try browser.element("#upload").click()
        try browser.wait(until: "document.getElementById('upload-result').textContent.includes('Imported 40')", timeout: 20)
        #expect(try await app.count("SELECT count(*) FROM pairs") == 40)
        try browser.wait(until: "document.querySelector('#counts [data-name=untouched] dd')?.textContent === '40'")

        // 4. Invite an annotator, who signs up through the link and annotates.
        try browser.open("http://127.0.0.1:\(app.port)/admin")
        try browser.wait(until: "document.body.dataset.ready === 'true'")
        try browser.element("#invite-form button[type=submit]").click()
        try browser.wait(until: "!document.getElementById('invite-created').hidden")
        let link = try browser.script("return document.getElementById('invite-link').value;").stringValue ?? ""
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) { try browser.screenshot(to: shots + "/admin.png") }
        #expect(link.contains("/invite/"))
        let annotator = try WebDriver()
        try annotator.open(link)
        try annotator.element("#username").type("newbie")
        try annotator.element("#password").type("a long enough password")
        try annotator.element("#invite-submit").click()
        try annotator.wait(until: "location.pathname === '/'")
        try annotator.open("http://127.0.0.1:\(app.port)/projects/\(projectID)/annotate")
        for done in 1...3 {
            try annotator.wait(until: "!document.getElementById('task').hidden && document.getElementById('left').textContent.length > 0")
            // Pick the helpful answer, wherever it is shown.
            let leftIsHelpful =
                try annotator.script("return document.getElementById('left').textContent.includes('helpful');").boolValue == true
            try annotator.press(leftIsHelpful ? "1" : "2")
            try annotator.press(WebDriver.enter)
            try annotator.wait(until: "document.getElementById('progress').textContent.includes('Done today: \(done)')")
        }
        #expect(try await app.count("SELECT count(*) FROM annotations a JOIN users u ON u.id = a.user_id WHERE u.username = 'newbie'") == 3)

        // The rest of the judgements arrive as an annotations upload.
        let votes = (0..<40).map { #"{"pair":"p\#($0)","annotator":"vendor","choice":"\#($0 % 2 == 0 ? "A" : "B")"}"# }.joined(
            separator: "\n")
        directory.write("votes.jsonl", votes + "\n")
        try browser.open("http://127.0.0.1:\(app.port)/admin/projects/\(projectID)")
        try browser.wait(until: "document.body.dataset.ready === 'true'")
        try browser.element("#upload-file").type(directory.path + "/votes.jsonl")
        try browser.wait(until: "document.getElementById('detected').textContent.includes('Annotations')")
        #expect(try browser.script("return document.querySelector('input[name=kind]:checked').value;").stringValue == "annotations")
        try browser.element("#upload").click()
        try browser.wait(until: "document.getElementById('upload-result').textContent.includes('Imported 40')", timeout: 20)
        try browser.wait(until: "document.querySelectorAll('#per-annotator-chart rect').length === 2")
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            _ = try browser.script("window.scrollTo(0, 0); return null;")
            try browser.screenshot(to: shots + "/dashboard-export.png")
        }

        // 5. Export TRL with a reward model: progress, then downloads and metrics.
        try browser.element("#export-aggregate").click()
        try browser.script("document.getElementById('export-aggregate').value = 'majority'; return null;")
        try browser.element("#export-epochs").clear()
        try browser.element("#export-epochs").type("5")
        try browser.element("#export-start").click()
        try browser.wait(until: "document.querySelectorAll('#downloads a').length > 0", timeout: 60)
        let names =
            try browser.script("return [...document.querySelectorAll('#downloads a')].map(a => a.textContent).join(' ');").stringValue ?? ""
        #expect(names == "data.jsonl manifest.json model.safetensors config.json metrics.json")
        #expect(try browser.element("#metrics").text.contains("Held-out accuracy"))
        // The length warning says what was found: here the helpful answer is always one
        // character longer, so reward follows length, yet the model is far above "longer wins"
        // whenever its accuracy is — it must not claim to "barely beat" it then.
        let verdict = try browser.script(
            """
            const cells = Object.fromEntries([...document.querySelectorAll('#metrics tr')].map((r) => [r.cells[0].textContent, parseFloat(r.cells[1].textContent)]));
            const warning = document.getElementById('length-warning')?.textContent ?? '';
            const barely = cells['Held-out accuracy'] < Math.max(cells['Longer response wins'], cells['Shorter response wins']) + 2;
            const weak = ['barely', 'is below', 'only equals'].some((words) => warning.includes(words));
            return warning === '' || weak === barely;
            """)
        #expect(verdict.boolValue == true, "the warning matches the numbers beside it")
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.screenshot(to: shots + "/project-admin.png")
        }
        // The download links work with the session cookie and give the files.
        let download = try browser.script(
            """
            return fetch(document.querySelector('#downloads a').href).then(r => r.text()).then(t => t.trim().split('\\n').length);
            """)
        #expect(download.intValue == 40)

        // 6. Edit the settings (switching to adaptive overlap); change the annotator's role on the people table.
        #expect(
            try browser.script("return document.getElementById('collection-policy').textContent").stringValue?.hasPrefix("Fixed overlap")
                == true)
        try browser.element("#settings-form-name").clear()
        try browser.element("#settings-form-name").type("Helpfulness v2")
        try browser.element("#settings-form-overlap").clear()
        try browser.element("#settings-form-overlap").type("5")
        try browser.element("#settings-form-min_overlap").type("1")
        try browser.element("#settings-form-stop_posterior").type("0.9")
        try browser.element("#settings-form-max_per_annotator").clear()
        try browser.element("#settings-form-max_per_annotator").type("25")
        try browser.element("#settings-form button[type=submit]").click()
        try browser.wait(until: "document.getElementById('project-name').textContent === 'Helpfulness v2'")
        let adaptive = try await app.app.store.pool.read { db in try Projects.find(db, id: projectID)?.settings }
        #expect(adaptive?.minOverlap == 1 && adaptive?.stopPosterior == 0.9 && adaptive?.stopAgree == nil, "empty fields stay off")
        #expect(adaptive?.maxPerAnnotator == 25, "the quota is one of the settings")
        try browser.wait(
            until:
                "document.getElementById('collection-policy').textContent.includes('1–5 judgements per pair, stopping at a weighted posterior of 0.9.')"
        )
        // Without a threshold of the admin's, the page says the crowd's is chosen (0.96 until estimated).
        try browser.element("#settings-form-stop_posterior").clear()
        try browser.element("#settings-form button[type=submit]").click()
        try browser.wait(until: "document.getElementById('collection-policy').textContent.includes('0.96 until this crowd is estimated')")
        try browser.open("http://127.0.0.1:\(app.port)/admin")
        try browser.wait(until: "document.body.dataset.ready === 'true'")
        _ = try browser.script(
            """
            const select = document.querySelector("#people tr[data-username='newbie'] select");
            select.value = 'reviewer';
            select.dispatchEvent(new Event('change'));
            return null;
            """)
        try browser.wait(until: "document.getElementById('status').textContent === 'newbie is now reviewer.'")
        #expect(try await app.count("SELECT count(*) FROM users WHERE username = 'newbie' AND role = 'reviewer'") == 1)
        await app.stop()
    }

    /// The project page chooses which annotators a project is for.
    @Test(arguments: TestEngine.all)
    func anAdminChoosesTheProjectsAnnotators(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 3)
        _ = try await app.person("boss", role: .admin)
        let (ann, bea) = (try await app.user("ann"), try await app.user("bea"))
        let browser = try WebDriver()
        try browser.signIn(app: app, as: "boss", to: "/admin/projects/\(project.id)")
        try browser.wait(until: "document.getElementById('members-state').textContent === 'Open to every annotator.'")
        try browser.element("#members-input").type("nobody")
        try browser.element("#members-save").click()
        try browser.wait(until: "document.getElementById('status').textContent.includes(\"no user named 'nobody'\")")
        _ = try browser.script("document.getElementById('members-input').value = ''; return true;")
        try browser.element("#members-input").type("ann")
        try browser.element("#members-save").click()
        try browser.wait(until: "document.getElementById('members-state').textContent === 'Only 1 annotator: ann.'")
        #expect(try app.next(ann, project: project.id).0 == 200)
        #expect(try app.next(bea, project: project.id).0 == 404)
        await app.stop()
    }

    @Test(arguments: TestEngine.all)
    func nonAdminsAreTurnedAway(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        _ = try await app.person("rev", role: .reviewer)
        let browser = try WebDriver()
        try browser.signIn(app: app, as: "rev", to: "/admin")
        #expect(try browser.element("#status").text == "This page is for admins.")
        #expect(try browser.script("return [...document.querySelectorAll('main > section')].every(s => s.hidden);").boolValue == true)
        await app.stop()
    }

    /// Reports reach the project page with the pair's text, inert, and can be resolved.
    @Test(arguments: TestEngine.all)
    func reportsAreShownWithThePairAndResolved(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine)
        let project = try await app.project(pairs: 1)
        let ann = try await app.user("ann")
        _ = try await app.person("boss", role: .admin)
        let id = try #require(app.next(ann, project: project.id).1?["id"]?.intValue)
        #expect(
            try app.call(
                "POST", "/api/assignments/\(id)/report", ann,
                #"{"reason":"Response B is cut off <img src=x onerror=\"window.__pwned=1\">"}"#
            ).status == 201)
        let browser = try WebDriver(width: 1400, height: 1000)
        try browser.signIn(app: app, as: "boss", to: "/admin/projects/\(project.id)")
        try browser.wait(until: "document.querySelector('#reports [data-report]') !== null")
        #expect(try browser.element("#reports .report-reason").text.hasPrefix("Response B is cut off <img"))
        try browser.element("#reports details summary").click()
        #expect(try browser.element("#reports details").text.contains("question 0"))
        #expect(try browser.script("return window.__pwned === undefined;").boolValue == true)
        try browser.element("#reports [data-report] button").click()
        try browser.wait(until: "document.getElementById('reports').textContent.includes('No open reports')")
        #expect(try await app.count("SELECT count(*) FROM pair_reports WHERE resolved_at IS NOT NULL") == 1)
        await app.stop()
    }
}
