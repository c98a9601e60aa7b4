import Agreement
import JSON
import TestSupport
import Testing

/// Kendall's W with the tie correction, against a hand-worked case and against
/// `scipy.stats.friedmanchisquare` (W = χ²_F / (m·(n − 1))) on seeded rankings.
@Suite struct KendallWTests {
    @Test func perfectAndNoAgreement() {
        // Three raters, the same order of four items: W = 1.
        #expect(KendallW.coefficient([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]) == 1)
        // Two raters in opposite orders: rank sums all equal, W = 0.
        #expect(KendallW.coefficient([[1, 2, 3], [3, 2, 1]]) == 0)
        // One rater, or everything tied by everyone: undefined.
        #expect(KendallW.coefficient([[1, 2, 3]]) == nil)
        #expect(KendallW.coefficient([[1.5, 1.5], [1.5, 1.5]]) == nil)
        // Hand-worked: m = 2, n = 3, ranks (1,2,3) and (1,3,2): sums 2, 5, 5, mean 4,
        // S = 4 + 1 + 1 = 6, W = 12·6 / (4·24) = 0.75.
        #expect(abs((KendallW.coefficient([[1, 2, 3], [1, 3, 2]]) ?? 0) - 0.75) < 1e-12)
        #expect(KendallW.ranks(scores: [3, 1, 3, 2]) == [1.5, 4, 1.5, 3])
    }

    @Test func matchesScipyFriedmanWithTies() throws {
        var random = SplitMix(seed: 21)
        var tasks: [[[Double]]] = []
        for _ in 0..<40 {
            let m = 2 + Int(random.next() % 6)
            let n = 3 + Int(random.next() % 6)
            // Scores on a coarse scale, so that ties occur; a shared signal so W varies.
            let signal = (0..<n).map { _ in Double(random.next() % 4) }
            tasks.append(
                (0..<m).map { _ in
                    KendallW.ranks(scores: signal.map { $0 + Double(random.next() % 3) })
                })
        }
        let script = """
            import json, sys
            from scipy.stats import friedmanchisquare
            out = []
            for task in json.load(sys.stdin):
                m, n = len(task), len(task[0])
                columns = [[task[r][i] for r in range(m)] for i in range(n)]
                try:
                    out.append(friedmanchisquare(*columns).statistic / (m * (n - 1)))
                except Exception:
                    out.append(None)
            print(json.dumps(out))
            """
        let input = JSONValue.array(tasks.map { .array($0.map { .array($0.map { .double($0) }) }) }).jsonText
        let result = try PythonReference.run(["-c", script], stdin: input)
        #expect(result.status == 0, "\(result)")
        let expected = try JSONValue.parse(result.stdout).arrayValue ?? []
        #expect(expected.count == tasks.count)
        var compared = 0
        for (task, reference) in zip(tasks, expected) {
            guard let value = reference.doubleValue, value.isFinite else { continue }
            let ours = try #require(KendallW.coefficient(task))
            #expect(abs(ours - value) < 1e-9, "\(task): \(ours) vs scipy \(value)")
            compared += 1
        }
        #expect(compared >= 35)
        let mean = try #require(KendallW.mean(tasks + [[[1, 2, 3]]]))
        #expect(mean.tasks == tasks.count, "a task with one ranking does not count")
    }
}
