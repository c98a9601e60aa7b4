import Foundation
import Testing
import TestSupport

/// ARCHITECTURE.md's module graph is generated from Package.swift, so it cannot
/// drift: this test renders the graph from the manifest and compares it with the
/// block between the markers (`ARBITER_WRITE_DOCS=1 swift test --filter
/// ModuleGraphTests` writes it).
@Suite struct ModuleGraphTests {
    static let begin = "<!-- module graph: generated from Package.swift by ModuleGraphTests; do not edit -->"
    static let end = "<!-- end of module graph -->"

    /// Each non-test target with what it may import, products named with their package.
    static func graph(_ manifest: String) -> [(target: String, imports: [String])] {
        var targets: [(String, [String])] = []
        let starts = ["\n        .target(", "\n        .executableTarget(", "\n        .systemLibrary("]
        var index = manifest.startIndex
        while let next = starts.compactMap({ manifest.range(of: $0, range: index..<manifest.endIndex) }).min(by: {
            $0.lowerBound < $1.lowerBound
        }) {
            // The declaration runs to the next top-level entry.
            let rest = manifest[next.upperBound...]
            let stop = starts.compactMap { rest.range(of: $0)?.lowerBound }.min() ?? rest.range(of: "\n    ]")?.lowerBound ?? rest.endIndex
            let body = String(rest[..<stop])
            index = next.upperBound
            guard !body.contains("path: \"Tests/"), let name = Self.strings(after: "name: ", in: body).first else { continue }
            var imports: [String] = []
            if let open = body.range(of: "dependencies: [") {
                var list = String(body[open.upperBound...].prefix { $0 != "]" })
                // `.product(name: "Logging", package: "swift-log")` → "Logging (swift-log)".
                while let product = list.range(of: ".product("), let close = list.range(of: ")", range: product.upperBound..<list.endIndex)
                {
                    let strings = Self.strings(after: "", in: String(list[product.upperBound..<close.lowerBound]))
                    if strings.count >= 2 { imports.append("\(strings[0]) (\(strings[1]))") }
                    list.removeSubrange(product.lowerBound..<close.upperBound)
                }
                imports += Self.strings(after: "", in: list)
            }
            targets.append((name, imports.sorted()))
        }
        return targets
    }

    /// The quoted strings in `text` after `prefix`.
    static func strings(after prefix: String, in text: String) -> [String] {
        let start = prefix.isEmpty ? text.startIndex : text.range(of: prefix)?.upperBound
        guard let start else { return [] }
        return text[start...].split(separator: "\"", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    static func render(_ graph: [(target: String, imports: [String])]) -> String {
        let width = graph.map(\.target.count).max() ?? 0
        let lines = graph.sorted { $0.target < $1.target }.map { entry in
            entry.target.padding(toLength: width, withPad: " ", startingAt: 0) + "  ─► "
                + (entry.imports.isEmpty ? "(nothing)" : entry.imports.joined(separator: ", "))
        }
        return "```\n" + lines.joined(separator: "\n") + "\n```"
    }

    @Test func architectureShowsTheModuleGraphOfPackageSwift() throws {
        let manifest = try String(contentsOfFile: RepositoryPaths.root + "/Package.swift", encoding: .utf8)
        let graph = Self.graph(manifest)
        #expect(graph.map(\.target).contains("Arbiter") && graph.map(\.target).contains("Threads"), "\(graph)")
        #expect(graph.first { $0.target == "Storage" }?.imports.contains("HTTPServer") == false, "Storage never imports the server")
        let path = RepositoryPaths.root + "/docs/ARCHITECTURE.md"
        let document = try String(contentsOfFile: path, encoding: .utf8)
        guard let from = document.range(of: Self.begin), let to = document.range(of: Self.end, range: from.upperBound..<document.endIndex)
        else {
            Issue.record("ARCHITECTURE.md has no module graph markers")
            return
        }
        let expected = "\n" + Self.render(graph) + "\n"
        if ProcessInfo.processInfo.environment["ARBITER_WRITE_DOCS"] == "1" {
            try (document[..<from.upperBound] + expected + document[to.lowerBound...]).write(
                toFile: path, atomically: true, encoding: .utf8)
            return
        }
        #expect(
            String(document[from.upperBound..<to.lowerBound]) == expected, "run ARBITER_WRITE_DOCS=1 swift test --filter ModuleGraphTests")
    }
}
