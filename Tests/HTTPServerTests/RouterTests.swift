@testable import HTTPServer
import Testing

@Suite struct RouterTests {
    func router() -> Router {
        var router = Router()
        router.get("/api/projects") { _ in .text("list") }
        router.post("/api/projects") { _ in .text("create") }
        router.get("/api/projects/{id}") { _ in .text("show") }
        router.delete("/api/projects/{id}") { _ in .text("delete") }
        router.get("/api/projects/{id}/next") { _ in .text("next") }
        router.inline(.GET, "/healthz") { _ in .text("ok") }
        return router
    }

    func pattern(_ match: Router.Match) -> String? {
        if case .found(let route, _) = match { return route.pattern }
        return nil
    }

    @Test func literalAndParameterRoutes() throws {
        let router = router()
        #expect(pattern(router.match(.GET, path: "/api/projects")) == "/api/projects")
        #expect(pattern(router.match(.POST, path: "/api/projects")) == "/api/projects")
        #expect(pattern(router.match(.GET, path: "/api/projects/7/next")) == "/api/projects/{id}/next")
        guard case .found(_, let parameters) = router.match(.GET, path: "/api/projects/42") else {
            Issue.record("no match")
            return
        }
        #expect(parameters["id"] == "42")
        #expect(try parameters.int("id") == 42)
    }

    @Test func parametersArePercentDecoded() {
        guard case .found(_, let parameters) = router().match(.GET, path: "/api/projects/a%20b") else {
            Issue.record("no match")
            return
        }
        #expect(parameters["id"] == "a b")
    }

    @Test func notFoundAndTrailingSlashes() {
        let router = router()
        for path in ["/", "/api", "/api/projects/", "/api/projects/1/next/x", "/nope", "/api/projects//next"] {
            if case .notFound = router.match(.GET, path: path) { continue }
            Issue.record("\(path) should be 404")
        }
    }

    @Test func methodNotAllowedListsAllow() {
        guard case .methodNotAllowed(let allow) = router().match(.PUT, path: "/api/projects/3") else {
            Issue.record("expected 405")
            return
        }
        #expect(allow == ["DELETE", "GET", "HEAD"])
    }

    @Test func headFallsBackToGet() {
        #expect(pattern(router().match(.HEAD, path: "/api/projects/3")) == "/api/projects/{id}")
    }

    @Test func malformedEscapesAreBadPaths() {
        if case .badPath = router().match(.GET, path: "/api/projects/%zz") { return }
        Issue.record("expected a bad path")
    }

    @Test func routeTableIsListed() {
        let routes = router().routes.map { "\($0.method) \($0.pattern)" }
        #expect(routes.contains("GET /api/projects/{id}/next"))
        #expect(routes.count == 6)
    }

    @Test func parameterIntRejectsNonNumbers() {
        var parameters = Parameters()
        parameters.append("id", "12abc")
        #expect(throws: HTTPError.self) { try parameters.int("id") }
    }
}

/// The access log never shows a one-time link's token, however the path is spelled.
@Suite struct AccessLogRedactionTests {
    @Test func secretPathsAreRedactedAfterNormalising() {
        let prefixes = ["/invite/", "/reset/"]
        for path in [
            "/invite/tok123", "/%69nvite/tok123", "//invite/tok123", "/./invite/tok123", "/INVITE/tok123", "/a/../invite/tok123",
            "/%2e/invite/tok123", "\\invite\\tok123", "/Reset/tok123", "/invite%2Ftok123",
        ] {
            let logged = Connection.loggedPath(path, redacting: prefixes)
            #expect(!logged.contains("tok123"), "\(path) logged as \(logged)")
        }
        #expect(Connection.loggedPath("/invitation/x", redacting: prefixes) == "/invitation/x")
        #expect(Connection.loggedPath("/invite/", redacting: prefixes) == "/invite/")
        #expect(Connection.loggedPath("/api/projects/1", redacting: prefixes) == "/api/projects/1")
    }
}
