import Glibc
import JSON
import Testing
import TestSupport

/// HTTPS end to end: a self-signed certificate made here, the real server, curl.
@Suite struct TLSTests {
    let directory = TemporaryDirectory()
    var cert: String { directory.path + "/cert.pem" }
    var key: String { directory.path + "/key.pem" }

    init() throws {
        let made = try CommandRunner.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.path + "/key.pem", "-out",
                directory.path + "/cert.pem",
                "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
        guard made.status == 0 else { throw ServerProcess.Failure(description: "openssl req failed: \(made)") }
        directory.write("public/index.html", "<p>hi</p>")
        var big = ""
        for index in 0..<40_000 { big += "line \(index) of a large file served over TLS\n" }
        directory.write("public/big.txt", big)
    }

    func serve() throws -> ServerProcess {
        try ServerProcess([
            "serve", "--port", "0", "--db", directory.path + "/tls.sqlite", "--tls-cert", cert, "--tls-key", key,
            "--public-dir", directory.path + "/public", "--log-level", "notice",
        ])
    }

    func curl(_ arguments: [String]) throws -> CommandRunner.Result {
        try CommandRunner.run("curl", ["-sS", "--cacert", cert, "--max-time", "20"] + arguments)
    }

    @Test func servesHTTPSWithHSTSAndKeepAlive() throws {
        let server = try serve()
        let base = "https://127.0.0.1:\(server.port)"
        let health = try curl(["-D", "-", base + "/healthz"])
        #expect(health.status == 0, "\(health)")
        #expect(health.stdout.hasPrefix("HTTP/1.1 200 OK"))
        #expect(health.stdout.contains("Strict-Transport-Security: max-age=31536000"))
        #expect(health.stdout.hasSuffix(#"{"status":"ok"}"#))
        // Several requests on one connection, and a body much larger than a TLS record.
        let many = try curl(["-w", "%{num_connects} ", base + "/healthz", base + "/big.txt", base + "/healthz"])
        #expect(many.status == 0)
        #expect(many.stdout.contains("line 39999 of a large file served over TLS\n"))
        #expect(many.stdout.hasSuffix(#"{"status":"ok"}0 "#), "the third request reused the connection: \(many.stdout.suffix(40))")
        let size = try curl(["-o", "/dev/null", "-w", "%{size_download}", base + "/big.txt"])
        #expect(Int(size.stdout) == (0..<40_000).reduce(0) { $0 + "line \($1) of a large file served over TLS\n".utf8.count })
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
    }

    @Test func oldProtocolsAndPlainHTTPAreRefused() throws {
        let server = try serve()
        let old = try curl(["--tls-max", "1.1", "https://127.0.0.1:\(server.port)/healthz"])
        #expect(old.status != 0, "TLS 1.1 must fail")
        let plain = try CommandRunner.run("curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(server.port)/healthz"])
        #expect(plain.status != 0)
        let modern = try curl(["--tlsv1.2", "--tls-max", "1.2", "https://127.0.0.1:\(server.port)/healthz"])
        #expect(modern.stdout == #"{"status":"ok"}"#, "TLS 1.2 works: \(modern)")
        let still = try curl(["https://127.0.0.1:\(server.port)/healthz"])
        #expect(still.stdout == #"{"status":"ok"}"#, "the server survived the bad clients")
    }

    @Test func sessionCookiesAreSecureUnderTLS() throws {
        let db = directory.path + "/tls.sqlite"
        let added = try CommandRunner.arbiter(
            ["user", "add", "--db", db, "--username", "ann", "--role", "annotator", "--password-stdin"],
            stdin: "a long enough password\n")
        #expect(added.status == 0, "\(added)")
        let server = try serve()
        let login = try curl([
            "-D", "-", "-H", "Content-Type: application/json", "--data", #"{"username":"ann","password":"a long enough password"}"#,
            "https://127.0.0.1:\(server.port)/api/login",
        ])
        let cookie = login.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") }
        #expect(cookie?.contains("; Secure") == true, "\(login.stdout)")
        #expect(cookie?.contains("HttpOnly") == true)
    }

    @Test func badCertificatePathsFailWithOneLine() throws {
        let result = try CommandRunner.arbiter([
            "serve", "--port", "0", "--db", directory.path + "/x.sqlite", "--tls-cert", "/no/cert.pem", "--tls-key", key,
        ])
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("/no/cert.pem"))
        let half = try CommandRunner.arbiter(["serve", "--port", "0", "--tls-cert", cert])
        #expect(half.stderr.contains("--tls-cert and --tls-key go together"))
    }
}
