import Agreement
import Glibc
import JSON
import Testing
import TestSupport

/// Published worked examples.
@Suite struct PublishedExampleTests {
    // Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", §B–D:
    // 4 coders × 12 units with missing values, values 1–5.
    static let krippendorff2011: [[Double?]] = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nil, nil, nil],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nil, 3],
        [nil, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nil],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nil],
    ]

    @Test func krippendorffWorkedExample() throws {
        let nominal = try #require(Krippendorff.alpha(reliabilityData: Self.krippendorff2011, level: .nominal))
        let ordinal = try #require(Krippendorff.alpha(reliabilityData: Self.krippendorff2011, level: .ordinal))
        let interval = try #require(Krippendorff.alpha(reliabilityData: Self.krippendorff2011, level: .interval))
        #expect(abs(nominal - 0.743) < 0.0005)
        #expect(abs(ordinal - 0.815) < 0.0005)
        #expect(abs(interval - 0.849) < 0.0005)
    }

    @Test func krippendorffUndefinedCases() {
        #expect(Krippendorff.alpha(units: [[1], [2]], level: .nominal) == nil, "nothing pairable")
        #expect(Krippendorff.alpha(units: [[1, 1], [1, 1]], level: .nominal) == nil, "no variation")
        #expect(Krippendorff.alpha(units: [[1, 1], [2, 2]], level: .nominal) == 1)
    }

    // Fleiss (1971) via the classic table: 10 subjects, 14 raters, 5 categories.
    @Test func fleissClassicExample() throws {
        let counts = [
            [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
        ]
        let kappa = try #require(Fleiss.kappa(counts: counts))
        #expect(abs(kappa - 0.210) < 0.0005)
    }

    // Cohen's kappa textbook tables.
    @Test func cohenTextbookTables() throws {
        // 50 proposals, two readers: yes/yes 20, yes/no 5, no/yes 10, no/no 15 → p_o 0.7, p_e 0.5, κ = 0.4.
        let a = Array(repeating: 1, count: 25) + Array(repeating: 0, count: 25)
        let b =
            Array(repeating: 1, count: 20) + Array(repeating: 0, count: 5) + Array(repeating: 1, count: 10) + Array(repeating: 0, count: 15)
        #expect(abs(try #require(Cohen.kappa(a, b)) - 0.4) < 1e-12)
        // yes/yes 45, yes/no 15, no/yes 25, no/no 15 (n = 100): p_o 0.6, p_e 0.54 → κ = 0.1304.
        let c = Array(repeating: 1, count: 60) + Array(repeating: 0, count: 40)
        let d =
            Array(repeating: 1, count: 45) + Array(repeating: 0, count: 15) + Array(repeating: 1, count: 25)
            + Array(repeating: 0, count: 15)
        #expect(abs(try #require(Cohen.kappa(c, d)) - 0.06 / 0.46) < 1e-12)
        #expect(Cohen.kappa([1, 1, 1], [1, 1, 1]) == nil, "undefined when chance agreement is certain")
    }

    @Test func perUnitMeasures() {
        #expect(Disagreement.entropy([0, 0, 0]) == 0)
        #expect(Disagreement.entropy([0, 1]) == 1)
        #expect(Disagreement.pairwiseAgreement([0, 0, 1]) == 2.0 / 6.0)
        #expect(Disagreement.pairwiseAgreement([0]) == nil)
    }
}

/// The reference Python packages on seeded random data: agreement to 1e-9.
@Suite struct ReferenceImplementationTests {
    struct Generated {
        var categories: [[Int?]]  // raters × units
        var signed: [[Int?]]
        var fleiss: [[Int]]
        var cohen: [([Int], [Int])]
    }

    static func generate(seed: UInt64) -> Generated {
        var random = SplitMix(seed: seed)
        let raters = 25
        let units = 300
        var categories = Array(repeating: [Int?](repeating: nil, count: units), count: raters)
        var signed = categories
        for unit in 0..<units {
            let truth = Int(random.next() % 4)
            let judges = 1 + Int(random.next() % 6)
            var chosen = Set<Int>()
            while chosen.count < judges { chosen.insert(Int(random.next() % UInt64(raters))) }
            for rater in chosen {
                let category = random.next() % 100 < 65 ? truth : Int(random.next() % 4)
                categories[rater][unit] = category
                let strength = 1 + Int(random.next() % 3)
                // A=0 → −s, B=1 → +s, tie=2 → 0, both_bad=3 → missing.
                signed[rater][unit] = category == 0 ? -strength : category == 1 ? strength : category == 2 ? 0 : nil
            }
        }
        let fleiss = (0..<120).map { _ -> [Int] in
            var row = [0, 0, 0, 0]
            let truth = Int(random.next() % 4)
            for _ in 0..<5 { row[random.next() % 100 < 55 ? truth : Int(random.next() % 4)] += 1 }
            return row
        }
        let cohen = (0..<5).map { _ -> ([Int], [Int]) in
            var a: [Int] = []
            var b: [Int] = []
            for _ in 0..<(10 + Int(random.next() % 60)) {
                let truth = Int(random.next() % 3)
                a.append(random.next() % 100 < 70 ? truth : Int(random.next() % 3))
                b.append(random.next() % 100 < 60 ? truth : Int(random.next() % 3))
            }
            return (a, b)
        }
        return Generated(categories: categories, signed: signed, fleiss: fleiss, cohen: cohen)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func matchesKrippendorffStatsmodelsAndScikitLearn(seed: UInt64) throws {
        let data = Self.generate(seed: seed)
        func rows(_ matrix: [[Int?]]) -> JSONValue { .array(matrix.map { .array($0.map { $0.map { .int(Int64($0)) } ?? .null }) }) }
        let input: JSONValue = [
            "categories": rows(data.categories), "signed": rows(data.signed),
            "fleiss": .array(data.fleiss.map { .array($0.map { .int(Int64($0)) }) }),
            "cohen": .array(data.cohen.map { .array([.array($0.0.map { .int(Int64($0)) }), .array($0.1.map { .int(Int64($0)) })]) }),
        ]
        let directory = TemporaryDirectory()
        directory.write("input.json", input.jsonText)
        let script = String(#filePath.split(separator: "/").dropLast().joined(separator: "/"))
        let result = try PythonReference.run(["/" + script + "/reference.py", directory.path + "/input.json"])
        try #require(result.status == 0, "python reference failed: \(result.stderr)")
        let reference = try JSONValue.parse(result.stdout)

        func doubles(_ matrix: [[Int?]]) -> [[Double?]] { matrix.map { $0.map { $0.map(Double.init) } } }
        let nominal = try #require(Krippendorff.alpha(reliabilityData: doubles(data.categories), level: .nominal))
        let ordinal = try #require(Krippendorff.alpha(reliabilityData: doubles(data.signed), level: .ordinal))
        let interval = try #require(Krippendorff.alpha(reliabilityData: doubles(data.signed), level: .interval))
        #expect(abs(nominal - (reference["alpha_nominal"]?.doubleValue ?? .nan)) < 1e-9)
        #expect(abs(ordinal - (reference["alpha_ordinal"]?.doubleValue ?? .nan)) < 1e-9)
        #expect(abs(interval - (reference["alpha_interval"]?.doubleValue ?? .nan)) < 1e-9)
        let fleiss = try #require(Fleiss.kappa(counts: data.fleiss))
        #expect(abs(fleiss - (reference["fleiss"]?.doubleValue ?? .nan)) < 1e-9)
        for (index, pair) in data.cohen.enumerated() {
            let kappa = try #require(Cohen.kappa(pair.0, pair.1))
            #expect(abs(kappa - (reference["cohen"]?.arrayValue?[index].doubleValue ?? .nan)) < 1e-9)
        }
    }
}
