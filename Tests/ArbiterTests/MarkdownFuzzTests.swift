import Glibc
import Testing
import TestSupport

/// The Markdown renderer (`Public/js/markdown.js`) under its mutation fuzzer
/// (`Benchmarks/fuzz/markdown.mjs`, Node, a strict fake DOM): every committed
/// finding first, then a bounded run. The long runs are `Benchmarks/fuzz/run.sh`.
@Suite(.enabled(if: nodeInstalled, "needs node (apt-get install nodejs)"))
struct MarkdownFuzzTests {

    @Test func committedFindingsAndABoundedRunPass() throws {
        // Tests/ArbiterTests/MarkdownFuzzTests.swift → the repository root.
        let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        let script = "/" + root + "/Benchmarks/fuzz/markdown.mjs"
        let run = try CommandRunner.run("/usr/bin/env", ["node", script, "30000", "7"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains(": ok"))
    }
}

/// Whether Node is on the machine (Debian's `nodejs`).
private let nodeInstalled = access("/usr/bin/node", X_OK) == 0 || access("/usr/local/bin/node", X_OK) == 0
