@testable import Arbiter
import Glibc
import JSON
import Testing
import TestSupport

/// CPU-heavy request work never runs on an event loop: on a one-loop server,
/// `/healthz` requests are answered while a 25 MB JSON body is being parsed (on
/// the loop, not one would be until the parse ended). A test by order, not by
/// clock: it counts the answers that came before the heavy request's.
@Suite struct HeavyWorkTests {
    @Test(arguments: TestEngine.all)
    func healthzIsAnsweredWhileALargeBodyIsParsed(engine: TestEngine) async throws {
        let app = try TestApp(engine: engine, threads: 1)
        let project = try await app.project(pairs: 1)
        let reviewer = try await app.user("rev", role: .reviewer)
        let item = #"{"response":"a fairly ordinary response text"},"#
        let body = Array(("{\"items\":[" + String(repeating: item, count: 520_000) + #"{"response":"x"}]}"#).utf8)
        let heavy = try RawClient(port: app.port, timeout: 120)
        try heavy.send(
            Array(
                "POST /api/projects/\(project.id)/reward/score HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(reviewer)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
                    .utf8) + body)
        usleep(300_000)  // the body is read; parsing is under way
        let light = try app.client()
        var answeredFirst = 0
        for _ in 0..<100 {
            #expect(try light.request("GET", "/healthz").status == 200)
            if heavy.hasPendingData() { break }
            answeredFirst += 1
        }
        #expect(answeredFirst >= 10, "answered while the body was parsed: \(answeredFirst)")
        let answer = try heavy.readResponse()
        #expect(answer.status == 400 && answer.bodyText.contains("at most 1000"), "\(answer)")
        await app.stop()
    }
}
