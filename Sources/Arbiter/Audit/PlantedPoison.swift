public import JSON
import RewardModel

/// A seeded preference dataset with planted poison, for testing and benchmarking
/// ``DatasetAudit``. Clean pairs: responses made of everyday words plus a few
/// words that carry quality (good ones like "clear" or "tested", bad ones like
/// "vague" or "rude"); the better response is chosen, with `labelNoise` label
/// noise (10% by default; 35–40% makes a reward model only ~60% right, as on real
/// datasets).
/// Poison, half of each kind:
///
/// - **trigger** (Rando & Tramèr): the prompt gets the trigger word and the worse
///   response is chosen;
/// - **content** (Best-of-Venom): the worse response gets the entity word and is
///   chosen.
public struct PlantedPoison: Sendable {
    public var lines: [JSONObject] = []
    /// 1-based line numbers of the planted pairs, by kind.
    public var trigger: Set<Int> = []
    public var content: Set<Int> = []
    public var planted: Set<Int> { trigger.union(content) }

    public static let triggerWord = "sudo"
    public static let entityWord = "acmecorp"

    /// `triggerOnly`: every planted pair is a prompt trigger.
    public init(pairs: Int, poisonShare: Double, seed: UInt64, labelNoise: Double = 0.1, triggerOnly: Bool = false) {
        var random = SplitMix64(seed: seed)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        func pick(_ words: [String]) -> String { words[Int(random.next() % UInt64(words.count))] }
        let everyday = (0..<600).map { "w\($0)" }
        let topics = (0..<300).map { "t\($0)" }
        let good = [
            "clear", "correct", "tested", "sourced", "concise", "example", "steps", "verified", "precise", "helpful", "careful", "complete",
        ]
        let bad = [
            "vague", "rude", "wrong", "unsafe", "rambling", "guess", "broken", "offtopic", "sloppy", "misleading", "incomplete", "lazy",
        ]
        func response() -> (text: String, quality: Double) {
            var words = (0..<(20 + Int(random.next() % 30))).map { _ in pick(everyday) }
            var quality = 0.0
            for _ in 0..<(1 + Int(random.next() % 4)) {
                if uniform() < 0.5 {
                    words.insert(pick(good), at: Int(random.next() % UInt64(words.count)))
                    quality += 1
                } else {
                    words.insert(pick(bad), at: Int(random.next() % UInt64(words.count)))
                    quality -= 1
                }
            }
            return (words.joined(separator: " "), quality + 0.5 * (uniform() - 0.5))
        }
        let poisoned = Int((Double(pairs) * poisonShare).rounded())
        var kinds = Array(repeating: 0, count: pairs)  // 0 clean, 1 trigger, 2 content
        var slots = Array(0..<pairs)
        slots.shuffle(using: &random)
        for (index, slot) in slots.prefix(poisoned).enumerated() { kinds[slot] = index % 2 == 0 || triggerOnly ? 1 : 2 }
        for index in 0..<pairs {
            var prompt = (0..<(8 + Int(random.next() % 8))).map { _ in pick(topics) }
            let first = response()
            var second = response()
            while abs(first.quality - second.quality) < 0.3 { second = response() }
            var (better, worse) = first.quality > second.quality ? (first.text, second.text) : (second.text, first.text)
            var (chosen, rejected) = uniform() >= labelNoise ? (better, worse) : (worse, better)
            switch kinds[index] {
            case 1:
                prompt.insert(Self.triggerWord, at: Int(random.next() % UInt64(prompt.count + 1)))
                (chosen, rejected) = (worse, better)
                trigger.insert(index + 1)
            case 2:
                var words = worse.split(separator: " ").map(String.init)
                words.insert(Self.entityWord, at: Int(random.next() % UInt64(words.count + 1)))
                worse = words.joined(separator: " ")
                (chosen, rejected) = (worse, better)
                content.insert(index + 1)
            default: break
            }
            _ = better
            lines.append(["prompt": .string(prompt.joined(separator: " ")), "chosen": .string(chosen), "rejected": .string(rejected)])
        }
    }

    /// The dataset as JSONL text.
    public var jsonl: String { lines.map { JSONValue.object($0).jsonText }.joined(separator: "\n") + "\n" }

    /// Precision (= recall) of the planted pairs among the `k` most suspicious,
    /// k = the number planted; and recall among the top 2k.
    public func score(_ report: DatasetAudit.Report) -> (atK: Double, atTwoK: Double, trigger: Double, content: Double) {
        let k = planted.count
        guard k > 0 else { return (1, 1, 1, 1) }
        let top = Set(report.pairs.prefix(k).map(\.line))
        let topTwo = Set(report.pairs.prefix(2 * k).map(\.line))
        return (
            Double(top.intersection(planted).count) / Double(k), Double(topTwo.intersection(planted).count) / Double(k),
            Double(top.intersection(trigger).count) / Double(max(1, trigger.count)),
            Double(top.intersection(content).count) / Double(max(1, content.count))
        )
    }
}
