@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// A study in headless Chromium: the admin makes the link on the project page; a
/// participant arrives from "Prolific", passes the screener, judges, sees the
/// completion code and is sent back; another fails the screener and is told so.
/// One engine: the pages read the API, which StudyTests covers on both.
@Suite(.enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct StudyPageTests {
    @Test func aParticipantArrivesJudgesAndIsSentBackWithTheCode() async throws {
        let app = try TestApp()
        let project = try await app.project(pairs: 12, name: "Helpfulness") { $0.overlap = 3 }
        // Two gold pairs (p0, p1): the response "A…" is right.
        try await app.seed { db in
            try db.run("UPDATE pairs SET gold = 'A' WHERE project_id = ? AND external_id IN ('p0', 'p1')", [.int(Int64(project.id))])
        }
        _ = try await app.person("boss", role: .admin)
        let admin = try WebDriver()
        try admin.signIn(app: app, as: "boss", to: "/admin/projects/\(project.id)")
        try admin.element("#new-study summary").click()
        try admin.element("#study-name").type("pilot")
        for (field, value) in [("#study-places", "5"), ("#study-count", "2"), ("#study-screener", "2"), ("#study-screener-min", "2")] {
            try admin.element(field).clear()
            try admin.element(field).type(value)
        }
        try admin.element("#study-code").type("THANKS42")
        try admin.element("#study-return").type("http://127.0.0.1:\(app.port)/healthz?cc={code}")
        try admin.element("#study-form button[type=submit]").click()
        try admin.wait(until: "document.querySelector('#studies .study input') !== null")
        let link = try admin.script("return document.querySelector('#studies .study input').value;").stringValue ?? ""
        #expect(link.contains("/s/") && link.contains("PROLIFIC_PID={{%PROLIFIC_PID%}}"))
        let base = String(link.prefix { $0 != "?" })

        // A participant who knows the answers.
        let participant = try WebDriver()
        try participant.open(base + "?PROLIFIC_PID=60a1b2c3d4e5f60718293a4b&STUDY_ID=st1&SESSION_ID=se1")
        try participant.wait(until: "location.pathname === '/projects/\(project.id)/annotate' && document.body.dataset.ready === 'true'")
        try judge(participant, rightly: true, times: 4)
        try participant.wait(until: "location.pathname.endsWith('/done') && document.body.dataset.ready === 'true'", timeout: 20)
        #expect(try participant.element("#study-code").text == "THANKS42")
        #expect(try participant.element("#study-title").text == "Thank you!")
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try participant.screenshot(to: shots + "/study-complete.png")
        }
        // Sent back to the platform with the code, after a few seconds.
        try participant.wait(until: "location.search === '?cc=THANKS42'", timeout: 15)

        // One who does not: out after the screener, without a code.
        let other = try WebDriver()
        try other.open(base + "?PROLIFIC_PID=70a1b2c3d4e5f60718293a4b&STUDY_ID=st1&SESSION_ID=se2")
        try other.wait(until: "location.pathname === '/projects/\(project.id)/annotate' && document.body.dataset.ready === 'true'")
        try judge(other, rightly: false, times: 2)
        try other.wait(until: "location.pathname.endsWith('/done') && document.body.dataset.ready === 'true'", timeout: 20)
        #expect(try other.element("#study-title").text == "Thank you for your time")
        #expect(try other.script("return document.getElementById('study-code-box').hidden;").boolValue == true)

        // The admin sees both, as the API lists them.
        try admin.open("http://127.0.0.1:\(app.port)/admin/projects/\(project.id)")
        try admin.wait(until: "document.querySelectorAll('#studies tbody tr').length === 2")
        let rows = try admin.script("return [...document.querySelectorAll('#studies tbody tr')].map(r => r.textContent);").arrayValue ?? []
        #expect(
            rows.contains { $0.stringValue?.contains("60a1b2c3d4e5f60718293a4b") == true && $0.stringValue?.contains("completed") == true })
        #expect(rows.contains { $0.stringValue?.contains("screened out") == true })
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try admin.script("document.getElementById('studies-title').scrollIntoView();")
            try admin.screenshot(to: shots + "/project-studies.png")
        }
        #expect(try await app.count("SELECT count(*) FROM annotations") == 6)
        await app.stop()
    }

    /// Picks the response that starts with "A" (right on the gold pairs) or the
    /// other one, `times` times, waiting for each judgement to be taken.
    func judge(_ browser: WebDriver, rightly: Bool, times: Int) throws {
        for _ in 0..<times {
            try browser.wait(
                until:
                    "location.pathname.startsWith('/s/') || (!document.getElementById('task').hidden && document.getElementById('left').textContent.length > 0)"
            )
            if try browser.script("return location.pathname.startsWith('/s/');").boolValue == true { return }
            let before = try browser.script("return document.getElementById('left').textContent;").stringValue ?? ""
            let leftIsA = before.drop { $0 == " " || $0 == "\n" }.hasPrefix("A")
            try browser.press(leftIsA == rightly ? "1" : "2")
            try browser.press(WebDriver.enter)
            try browser.wait(
                until:
                    "location.pathname.startsWith('/s/') || document.getElementById('left').textContent !== \(JSONValue.string(before).jsonText)"
            )
        }
    }
}
