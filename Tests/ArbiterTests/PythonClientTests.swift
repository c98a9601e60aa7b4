import Glibc
import Testing
import TestSupport

/// The Python client (`clients/python`) against the real server: `arbiter serve
/// --port 0 --demo` and the client's own tests (`clients/python/tests`, standard
/// `unittest`) in the test environment, which has the client's requirements
/// (`httpx`, `datasets`). SQLite only: the client sees HTTP, and every route it
/// calls is tested on both engines by the server's own tests.
@Suite struct PythonClientTests {
    @Test func theClientsTestsPassAgainstTheServer() throws {
        let directory = TemporaryDirectory()
        let server = try ServerProcess([
            "serve", "--port", "0", "--demo", "--log-level", "notice", "--db", directory.path + "/client.sqlite",
        ])
        let admin = try #require(try server.waitForLine { $0.hasPrefix("admin token:") }.split(separator: " ").last)
        let run = try PythonReference.run(
            ["-m", "unittest", "discover", "-v", "-s", PythonReference.packageRoot + "/clients/python/tests"],
            environment: [
                "ARBITER_TEST_URL": "http://127.0.0.1:\(server.port)", "ARBITER_TEST_TOKEN": String(admin),
                "PYTHONPATH": PythonReference.packageRoot + "/clients/python/src",
                // datasets keeps its cache here, not in the home directory.
                "HF_HOME": directory.path + "/huggingface", "HF_DATASETS_OFFLINE": "1", "PYTHONWARNINGS": "error::ResourceWarning",
            ])
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
        let output = run.stderr
        #expect(run.status == 0, "\(output.suffix(6000))")
        #expect(output.contains("\nOK"), "\(output.suffix(2000))")
        #expect(!output.contains("skipped"), "every test ran against the server: \(output.suffix(2000))")
    }
}
