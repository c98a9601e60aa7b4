import Glibc
@testable import HTTPServer
import Testing
import TestSupport

/// Every way out of the root must be closed: `..`, `%2e%2e`, encoded slashes,
/// NUL, dot-files and symlinks that point outside.
@Suite struct StaticFilesTests {
    let directory = TemporaryDirectory()
    let outside = TemporaryDirectory()
    let files: StaticFiles

    init() throws {
        directory.write("public/index.html", "<h1>home</h1>")
        directory.write("public/app.js", "export const x = 1;")
        directory.write("public/css/site.css", "body{}")
        directory.write("public/.env", "SECRET=1")
        directory.write("secret.txt", "top secret")
        outside.write("passwd", "root:x:0:0")
        symlink(outside.path + "/passwd", directory.path + "/public/escape.txt")
        symlink(outside.path, directory.path + "/public/escapedir")
        symlink(directory.path + "/public/app.js", directory.path + "/public/alias.js")
        files = try StaticFiles(root: directory.path + "/public")
    }

    func body(_ path: String) -> String? {
        guard let response = files.response(path: path, headers: HTTPHeaders()), case .bytes(let bytes) = response.body else {
            return nil
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func servesFilesWithContentTypes() throws {
        #expect(body("/") == "<h1>home</h1>")
        #expect(body("/index.html") == "<h1>home</h1>")
        #expect(body("/css/site.css") == "body{}")
        #expect(body("/css/") == nil)
        let response = try #require(files.response(path: "/app.js", headers: HTTPHeaders()))
        #expect(response.headers["content-type"] == "text/javascript; charset=utf-8")
        #expect(response.headers["cache-control"] == "no-cache")
        #expect(response.headers["etag"] != nil)
    }

    @Test func etagRevalidationGives304() throws {
        let first = try #require(files.response(path: "/app.js", headers: HTTPHeaders()))
        let etag = try #require(first.headers["etag"])
        let again = try #require(files.response(path: "/app.js", headers: ["If-None-Match": etag]))
        #expect(again.status == .notModified)
        let other = try #require(files.response(path: "/app.js", headers: ["If-None-Match": "\"nope\""]))
        #expect(other.status == .ok)
    }

    @Test func changedFilesAreNotServedStale() throws {
        #expect(body("/app.js") == "export const x = 1;")
        directory.write("public/app.js", "export const x = 22;")
        #expect(body("/app.js") == "export const x = 22;")
    }

    @Test(arguments: [
        "/../secret.txt", "/css/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
        "/css/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/css%2f..%2f..%2fsecret.txt", "/..%5csecret.txt",
        "/index.html%00.js", "/%00", "/.env", "/css/./site.css", "/escape.txt", "/escapedir/passwd",
        "/%zz", "secret.txt", "/\\..\\secret.txt",
    ])
    func noWayOutOfTheRoot(path: String) {
        #expect(body(path) == nil, "\(path) must not be served")
    }

    @Test func symlinksInsideTheRootAreServed() {
        #expect(body("/alias.js") == "export const x = 1;")
    }
}
