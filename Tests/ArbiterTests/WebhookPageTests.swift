@testable import Arbiter
import Glibc
import JSON
import Storage
import Testing
import TestSupport

/// The admin page's Webhooks section in headless Chromium: add an endpoint (the
/// secret shown once), see a failed delivery with the receiver's answer — the same
/// counts the API gives —, send it again. One engine: the page reads the API,
/// whose both-engine behaviour WebhookTests covers.
@Suite(.enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct WebhookPageTests {
    @Test func anAdminAddsAWebhookAndSendsAFailedDeliveryAgain() async throws {
        let receiver = try WebhookReceiver(statuses: [500, 500])
        let app = try TestApp {
            $0.webhooks.pollInterval = 0.05
            $0.webhooks.retryWindow = 1_000
        }
        let project = try await app.project(pairs: 1, name: "Helpfulness")
        _ = try await app.person("boss", role: .admin)
        let token = try await app.user("script", role: .admin)
        let browser = try WebDriver()
        try browser.signIn(app: app, as: "boss", to: "/admin")

        try browser.element("#webhook-url").type(receiver.url)
        try browser.element("#webhook-all").click()
        try browser.element("#webhook-events input[value='import.finished']").click()
        try browser.script("const s = document.getElementById('webhook-project'); s.value = '\(project.id)';")
        try browser.element("#webhook-description").type("retrain trigger")
        try browser.element("#webhook-form button[type=submit]").click()
        try browser.wait(until: "!document.getElementById('webhook-created').hidden")
        let secret = try browser.script("return document.getElementById('webhook-secret').value;").stringValue ?? ""
        #expect(secret.hasPrefix("whsec_"))
        let listed = try app.call("GET", "/api/webhooks", token).json["webhooks"]?.arrayValue ?? []
        #expect(listed.count == 1 && listed.first?["events"] == ["import.finished"] && listed.first?["project"]?["name"] == "Helpfulness")

        // An event the receiver refuses (500), past the (short) retry window: failed.
        let line = #"{"id":"n","prompt":"q","response_a":"a","response_b":"b"}"# + "\n"
        #expect(try app.call("POST", "/api/projects/\(project.id)/pairs", token, line).status < 300)
        #expect(await receiver.wait { !$0.isEmpty })
        app.clock.advance(seconds: 10)
        #expect(await receiver.wait { $0.count >= 2 })
        try await Task.sleep(nanoseconds: 200_000_000)
        let counts = try app.call("GET", "/api/webhooks", token).json["webhooks"]?.arrayValue?.first?["deliveries"]
        #expect(counts?["failed"] == 1)

        try browser.open("http://127.0.0.1:\(app.port)/admin")
        try browser.wait(until: "document.body.dataset.ready === 'true'")
        try browser.wait(until: "document.querySelector('#webhooks tbody td.bad')?.textContent === '1'")
        try browser.script("[...document.querySelectorAll('#webhooks button')].find(b => b.textContent === 'Deliveries').click();")
        try browser.wait(until: "!document.getElementById('webhook-deliveries-box').hidden")
        let shown = try browser.script("return document.querySelector('#webhook-deliveries tbody tr').textContent;").stringValue ?? ""
        #expect(shown.contains("import.finished") && shown.contains("failed") && shown.contains("500 answer"), "\(shown)")
        if let shots = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) {
            try browser.script("document.getElementById('webhooks-title').scrollIntoView();")
            try browser.screenshot(to: shots + "/admin-webhooks.png")
        }
        try browser.script("[...document.querySelectorAll('#webhooks button')].find(b => b.textContent === 'Send failed again').click();")
        try browser.wait(until: "document.getElementById('status').textContent.includes('queued again')")
        #expect(await receiver.wait { $0.count >= 3 })
        #expect(Set(receiver.deliveries.map { $0.headers["webhook-id"] ?? "" }).count == 1, "one event, sent three times under one id")
        await app.stop()
        receiver.close()
    }
}
