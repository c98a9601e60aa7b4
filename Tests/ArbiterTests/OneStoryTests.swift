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
        return try await app.seed { db in try UserRepository.createToken(db, userID: id).token }
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
}
