@testable import Arbiter
import Agreement
import JSON
import Storage
import Testing
import TestSupport

@Suite struct AgreementRouteTests {
    @Test func theReportUsesFirstJudgementsAndTheContractKeys() async throws {
        let app = try TestApp()
        let project = try await app.project(pairs: 12)
        // Krippendorff-style data on A/B/tie/both_bad, plus a repeat that must not count.
        let table: [[String?]] = [
            ["A", "B", "tie", "tie", "B", "A", "both_bad", "A", "B", nil, nil, nil],
            ["A", "B", "tie", "tie", "B", "B", "both_bad", "A", "B", "A", nil, "tie"],
            [nil, "tie", "tie", "tie", "B", "tie", "both_bad", "B", "B", "A", "A", nil],
            ["A", "B", "tie", "tie", "B", "both_bad", "both_bad", "A", "B", "A", "A", nil],
        ]
        var lines: [String] = []
        for (rater, row) in table.enumerated() {
            for (unit, choice) in row.enumerated() {
                guard let choice else { continue }
                lines.append(#"{"pair":"p\#(unit)","annotator":"r\#(rater)","choice":"\#(choice)","created_at":"2026-01-01T00:00:0\#(rater)Z"}"#)
            }
        }
        lines.append(#"{"pair":"p0","annotator":"r0","choice":"B","created_at":"2026-01-02T00:00:00Z"}"#)  // a repeat
        let batch = lines
        try await app.seed { db in
            var reader = JSONLReader(bytes: Array(batch.joined(separator: "\n").utf8))
            _ = try AnnotationImporter.run(db, project: project, reader: &reader, options: ImportOptions())
        }
        let reviewer = try await app.user("rev", role: .reviewer)
        let response = try app.client().request("GET", "/api/projects/\(project.id)/agreement", headers: ["Authorization": "Bearer \(reviewer)"])
        #expect(response.status == 200)
        let report = try JSONValue.parse(response.body)
        let codes = ["A": 0.0, "B": 1.0, "tie": 2.0, "both_bad": 3.0]
        let units = (0..<12).map { unit in table.compactMap { $0[unit].flatMap { codes[$0] } } }
        let expected = try #require(Krippendorff.alpha(units: units, level: .nominal))
        let got = try #require(report["krippendorff_alpha"]?["nominal"]?.doubleValue)
        #expect(abs(got - expected) < 1e-12, "repeats do not count")
        #expect(report["judgements"] == 41)
        for key in ["alpha_ci95", "fleiss_kappa", "percent_agreement", "cohen_kappa", "contested_pairs"] {
            #expect(report[key] != nil, "\(key)")
        }
        #expect(report["fleiss_kappa"]?["raters_per_pair"] == 4)
        #expect(report["cohen_kappa"]?.arrayValue?.isEmpty == false)
        await app.stop()
    }
}
