import Glibc
import JSON
import Testing
import TestSupport

/// What a newcomer does after `arbiter serve --demo`, in real Chromium against the
/// real executable: open the printed URL, sign in with a printed password per role,
/// judge, review, manage — and an admin's password-reset link used by the person.
/// With ARBITER_SCREENSHOTS=DIR it saves the pictures the README shows
/// (`ARBITER_SCREENSHOTS=docs/screenshots swift test --filter FirstRunTests`).
@Suite(.serialized, .enabled(if: WebDriver.available, "needs chromium and chromium-driver"))
struct FirstRunTests {
    struct Demo {
        let server: ServerProcess
        let url: String
        let passwords: [String: String]
    }

    static func startDemo(_ directory: TemporaryDirectory) throws -> Demo {
        let server = try ServerProcess(["serve", "--port", "0", "--demo", "--log-level", "notice", "--db", directory.path + "/demo.sqlite"])
        try server.waitForLine { $0.hasPrefix("sign-in: annotator ") }
        let lines = server.output.split(separator: "\n").map(String.init)
        let url = try #require(lines.first { $0.hasPrefix("open ") }.map { String($0.dropFirst(5)) })
        var passwords: [String: String] = [:]
        for line in lines where line.hasPrefix("sign-in: ") {
            let parts = line.split(separator: " ").map(String.init)
            passwords[parts[2]] = parts[3]
        }
        return Demo(server: server, url: url, passwords: passwords)
    }

    /// Opens `path`, is sent to the sign-in page, signs in and comes back.
    static func signIn(_ browser: WebDriver, _ demo: Demo, as username: String, at path: String) throws {
        try browser.open(demo.url + path)
        try browser.wait(until: "location.pathname === '/login'")
        try browser.element("#username").type(username)
        try browser.element("#password").type(demo.passwords[username] ?? "")
        try browser.element("#login-submit").click()
        try browser.wait(until: "location.pathname !== '/login' && document.body.dataset.ready === 'true'", timeout: 20)
    }

    static func screenshot(_ browser: WebDriver, _ name: String) throws {
        if let directory = getenv("ARBITER_SCREENSHOTS").map({ String(cString: $0) }) { try browser.screenshot(to: directory + "/" + name) }
    }

    @Test func aNewcomerSignsInAsEachRole() throws {
        let directory = TemporaryDirectory()
        let demo = try Self.startDemo(directory)
        #expect(Set(demo.passwords.keys) == ["admin", "reviewer", "annotator"])

        // The annotator: the printed URL, the sign-in page, the project, a pair to judge;
        // the header counts the pair on screen among those left.
        let annotator = try WebDriver(width: 1400, height: 1000)
        try annotator.open(demo.url)
        try annotator.wait(until: "location.pathname === '/login'")
        try annotator.element("#username").type("annotator")
        try annotator.element("#password").type(demo.passwords["annotator"] ?? "")
        try annotator.element("#login-submit").click()
        try annotator.wait(until: "location.pathname === '/' && document.querySelector('#projects a.primary') !== null", timeout: 20)
        #expect(try annotator.element("#projects h2").text == "Demo: helpful and harmless")
        try annotator.element("#projects a.primary").click()
        try annotator.wait(
            until: "location.pathname === '/projects/1/annotate' && document.getElementById('left').textContent.length > 0", timeout: 20)
        try annotator.wait(until: "document.getElementById('progress').textContent.includes('left: 21')")
        try Self.screenshot(annotator, "annotate.png")

        // The reviewer: agreement and the flagged rater with its evidence.
        let reviewer = try WebDriver(width: 1400, height: 1000)
        try Self.signIn(reviewer, demo, as: "reviewer", at: "projects/1/review")
        try reviewer.wait(until: "document.getElementById('queue').textContent.includes('rater-zed')", timeout: 20)
        #expect(try reviewer.element("#queue").text.contains("left"), "the evidence names the position bias")
        #expect(try reviewer.element("#reading").text.isEmpty == false)
        try Self.screenshot(reviewer, "review.png")

        // The admin: the dashboard has judgements per day and per annotator.
        let admin = try WebDriver(width: 1400, height: 1000)
        try Self.signIn(admin, demo, as: "admin", at: "admin/projects/1")
        try admin.wait(until: "document.querySelectorAll('svg rect').length > 5", timeout: 20)
        try Self.screenshot(admin, "dashboard.png")
        // Every pair counts the same on the dashboard as on /admin (gold included).
        #expect(try admin.element("#counts [data-name=pairs] dd").text == "51")
        #expect(try admin.element("#counts [data-name=gold-pairs] dd").text == "4")
        let tiles = try admin.script(
            """
            const n = (name) => Number(document.querySelector(`#counts [data-name=${name}] dd`).textContent);
            return n('complete') + n('in-progress') + n('untouched') + n('gold-pairs');
            """)
        #expect(tiles.intValue == 51)

        // A password-reset link from the people table; the annotator's session ends.
        try admin.open(demo.url + "admin")
        try admin.wait(until: "document.body.dataset.ready === 'true' && document.querySelector('tr[data-username=annotator]') !== null")
        #expect(try admin.element("#projects tbody tr td:nth-child(2)").text == "51")
        try admin.element("tr[data-username=annotator] button[aria-label^='Password-reset link']").click()
        try admin.wait(until: "!document.getElementById('reset-created').hidden")
        let link = try admin.script("return document.getElementById('reset-link').value;").stringValue ?? ""
        #expect(link.hasPrefix(demo.url + "reset/"))
        #expect(try admin.element("#reset-user").text == "annotator")

        let person = try WebDriver()
        try person.open(link)
        try person.element("#password").type("my own new password")
        try person.element("#password-again").type("my own new passwrod")
        try person.element("#reset-submit").click()
        try person.wait(until: "!document.getElementById('reset-error').hidden")
        #expect(try person.element("#reset-error").text == "The two passwords differ.")
        try person.element("#password-again").clear()
        try person.element("#password-again").type("my own new password")
        try person.element("#reset-submit").click()
        try person.wait(
            until: "location.pathname === '/' && document.getElementById('who').textContent.startsWith('annotator')", timeout: 20)
        try annotator.open(demo.url)
        try annotator.wait(until: "location.pathname === '/login'", timeout: 20)  // the annotator's other session ended

        // The old password is gone; the new one signs in.
        let again = try WebDriver()
        try again.open(demo.url + "login")
        try again.element("#username").type("annotator")
        try again.element("#password").type(demo.passwords["annotator"] ?? "")
        try again.element("#login-submit").click()
        try again.wait(until: "!document.getElementById('login-error').hidden")
        try again.element("#password").clear()
        try again.element("#password").type("my own new password")
        try again.element("#login-submit").click()
        try again.wait(
            until: "location.pathname === '/' && document.getElementById('who').textContent.startsWith('annotator')", timeout: 20)
    }
}
