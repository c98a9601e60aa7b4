@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// The review page's model judges in headless Chromium: an admin adds a judge
/// from the page and runs it; a judge that follows the order of the responses is
/// shown flagged for it, beside the people; the numbers are the API's. One engine:
/// the page reads the API, whose both-engine behaviour JudgeTests covers.
@Suite(.enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct JudgePageTests {
    @Test func anAdminAddsAndRunsAJudgeAndSeesAPositionBiasedOneFlagged() async throws {
        let fake = try FakeOpenAIServer(delayMs: 0)
        let app = try TestApp { $0.models = JudgeTests.pool(fake) }
        let project = try await JudgeTests.judgedProject(app)
        _ = try await app.person("boss", role: .admin)
        let token = try await app.user("script", role: .admin)
        // A judge that always says "Response 1", added and run over the API.
        let first = try await JudgeTests.run(app, project, judge: "first", admin: token)
        #expect(first["state"]?.stringValue == "idle")

        let browser = try WebDriver()
        try browser.signIn(app: app, as: "boss", to: "/projects/\(project.id)/review")
        try browser.wait(until: "document.body.dataset.ready === 'true'")
        try browser.wait(until: "!document.getElementById('judges').hidden")
        // Added from the page, then run from the page.
        try browser.element("#judge-name").type("careful")
        try browser.script("document.getElementById('judge-endpoint').value = 'good';")
        try browser.element("#judge-form button[type=submit]").click()
        try browser.wait(until: "document.querySelector('#judges-table tr[data-judge=careful]') !== null")
        try browser.element("#judges-table tr[data-judge=careful] button[aria-label='Run careful']").click()
        try browser.wait(
            until: "document.querySelector('#judges-table tr[data-judge=careful]')?.textContent.includes('40 (0 to go)') === true")

        let table = try app.call("GET", "/api/projects/\(project.id)/judges", token).json
        let careful = try #require(table["judges"]?.arrayValue?.first { $0["name"]?.stringValue == "careful" })
        #expect(careful["template"]?.stringValue == JudgePrompt.defaultTemplate, "the page sends no template when left as is")
        let row = { (judge: String) throws -> String in
            try browser.script("return document.querySelector('#judges-table tr[data-judge=\(judge)]').textContent;").stringValue ?? ""
        }
        // What the page shows is what the API says.
        let carefulRow = try row("careful")
        let agreement = careful["measures"]?["with_people"]
        #expect(
            carefulRow.contains("100.0% (\(agreement?["right"]?.intValue ?? -1) of \(agreement?["n"]?.intValue ?? -1)"), "\(carefulRow)")
        #expect(carefulRow.contains("50.0% (40 of 80"), "picks the first shown half the time: \(carefulRow)")
        try browser.wait(until: "document.querySelector('#judges-table tr[data-judge=first]')?.textContent.includes('flagged') === true")
        let firstRow = try row("first")
        #expect(firstRow.contains("100.0% (80 of 80") && firstRow.contains("40 of 40"), "\(firstRow)")
        // Beside the people in the raters' table, marked as a model; not in the people's queue.
        let raterRow =
            try browser.script("return document.querySelector('#raters tr[data-annotator=\"judge:first\"]')?.textContent ?? '';")
            .stringValue ?? ""
        #expect(raterRow.contains("model judge") && raterRow.contains("flagged"), "\(raterRow)")
        #expect(try browser.script("return document.querySelector('#queue [data-annotator=\"judge:first\"]') === null;").boolValue == true)

        try browser.element("#judges-table tr[data-judge=first] button[aria-label=\"first's verdicts\"]").click()
        try browser.wait(until: "document.querySelectorAll('#judge-verdicts-table tbody tr').length === 40")
        let verdict = try browser.script("return document.querySelector('#judge-verdicts-table tbody tr').textContent;").stringValue ?? ""
        #expect(verdict.contains("tie") && verdict.contains("**Verdict:** Response 1"), "\(verdict)")
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.script("document.getElementById('judges-title').scrollIntoView();")
            try browser.screenshot(to: shots + "/review-judges.png")
        }
        await app.stop()
    }
}
