import Agreement
import Testing
import TestSupport

@Suite struct AgreementReportTests {
    /// Three raters on 40 units: raters 0 and 1 mostly agree, rater 2 is random.
    static func judgements() -> [Judgement] {
        var random = SplitMix(seed: 7)
        var result: [Judgement] = []
        for unit in 0..<40 {
            let truth = Int(random.next() % 2)
            for rater in 0..<3 {
                let category = rater < 2 ? (random.next() % 10 < 9 ? truth : 2) : Int(random.next() % 4)
                let strength = 1 + Int(random.next() % 3)
                result.append(
                    Judgement(
                        unit: unit, rater: rater, category: category,
                        signed: category == 0 ? -strength : category == 1 ? strength : category == 2 ? 0 : nil))
            }
        }
        // A unit judged once (not pairable) and one judged by two only.
        result.append(Judgement(unit: 40, rater: 0, category: 0, signed: -1))
        result.append(Judgement(unit: 41, rater: 0, category: 1, signed: 2))
        result.append(Judgement(unit: 41, rater: 1, category: 1, signed: 1))
        return result
    }

    @Test func pointEstimatesMatchTheDirectComputation() throws {
        let judgements = Self.judgements()
        let report = AgreementReport.compute(judgements, bootstrap: 200)
        var units: [Int: [Judgement]] = [:]
        for judgement in judgements { units[judgement.unit, default: []].append(judgement) }
        let nominal = Krippendorff.alpha(units: units.values.map { $0.map { Double($0.category) } }, level: .nominal)
        let interval = Krippendorff.alpha(units: units.values.map { $0.compactMap { $0.signed.map(Double.init) } }, level: .interval)
        #expect(report.alpha[.nominal] == nominal)
        #expect(abs((report.alpha[.interval] ?? 0)! - interval!) < 1e-12)
        #expect(report.units == 42)
        #expect(report.raters == 3)
    }

    @Test func bootstrapIntervalsAreSeededAndContainTheEstimate() throws {
        let judgements = Self.judgements()
        let one = AgreementReport.compute(judgements, bootstrap: 300, seed: 1)
        let again = AgreementReport.compute(judgements, bootstrap: 300, seed: 1)
        for level in Krippendorff.Level.allCases {
            let interval = try #require(one.alphaCI95[level] ?? nil)
            let same = try #require(again.alphaCI95[level] ?? nil)
            #expect(interval.low == same.low && interval.high == same.high, "deterministic for a seed")
            let estimate = try #require(one.alpha[level] ?? nil)
            #expect(interval.low <= estimate && estimate <= interval.high)
            #expect(interval.high - interval.low > 0.01)
        }
    }

    @Test func fleissUsesTheMostCommonJudgementCount() {
        let report = AgreementReport.compute(Self.judgements(), bootstrap: 0)
        #expect(report.fleiss.ratersPerPair == 3)
        #expect(report.fleiss.pairs == 40)
        #expect(report.fleiss.value != nil)
    }

    @Test func cohenNeedsTenSharedUnitsAndContestedAreSorted() {
        let report = AgreementReport.compute(Self.judgements(), bootstrap: 0)
        #expect(report.cohen.map { "\($0.a)-\($0.b)" } == ["0-1", "0-2", "1-2"])
        #expect(report.cohen.first { $0.a == 0 && $0.b == 1 }?.shared == 41)
        let k01 = report.cohen.first { $0.a == 0 && $0.b == 1 }?.kappa ?? nil
        let k02 = report.cohen.first { $0.a == 0 && $0.b == 2 }?.kappa ?? nil
        #expect((k01 ?? 0) > (k02 ?? 1), "the careful pair agrees more than with the random rater")
        let entropies = report.contested.map(\.entropy)
        #expect(entropies == entropies.sorted(by: >))
        #expect(report.contested.count == 20)
    }
}
