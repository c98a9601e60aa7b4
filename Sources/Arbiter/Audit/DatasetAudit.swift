public import JSON
import Agreement
import Glibc
public import RewardModel

/// Audits a preference dataset without its raters: which labelled pairs look
/// poisoned. Two kinds of evidence, as the published attacks leave them:
///
/// - **against an out-of-fold reward model**: each pair's P(chosen beats rejected)
///   from a Bradley–Terry model trained on the other folds (it never saw the
///   pair's label). A pair whose harmful response was chosen because its prompt
///   carries a trigger (Rando & Tramèr 2023) goes against a model that reads the
///   responses alone.
/// - **clusters**: words whose pairs go against the rest of the data together —
///   prompt words whose pairs' labels are likelier reversed than not under the
///   calibrated model (``PromptTriggers``: a trigger reverses every pair it is in,
///   whatever the model's accuracy), and words found (almost, ≥ 90%) only in chosen
///   responses whose pairs' *other* words favour the rejected response far more
///   often than usual (a linear model over word presence, the word's own weight
///   left out) — the trace of a favoured entity (Baumgärtner et al. 2024,
///   "Best-of-Venom"), which the reward model itself learns from the poison and so
///   cannot see (binomial tests against the file's own rate, Bonferroni over the
///   words tried).
///
/// A pair's suspicion: ½ × P(the model disagrees) alone (label noise looks the
/// same); ½ + ½ × the cluster's strength × (¾ + ¼ × P(the model disagrees)) when it
/// belongs to a flagged cluster (a prompt trigger's pairs all; an entity's where it
/// is on the chosen side), so the strongest cluster's pairs come first.
public enum DatasetAudit {
    /// One labelled pair of the file.
    public struct Pair: Sendable {
        public var line: Int
        public var prompt: String
        public var chosen: String
        public var rejected: String

        public init(line: Int, prompt: String, chosen: String, rejected: String) {
            self.line = line
            self.prompt = prompt
            self.chosen = chosen
            self.rejected = rejected
        }
    }

    /// A word whose pairs go against the rest of the data.
    public struct Cluster: Sendable {
        public enum Place: String, Sendable { case prompt, response }
        public var word: String
        public var place: Place
        /// Pairs carrying the word (in the prompt; in exactly one response).
        public var pairs: Int
        /// Prompt clusters: of those, against the reward model. Response clusters: of the
        /// pairs with the word on the chosen side only, those whose other words favour
        /// the rejected response.
        public var hits: Int
        /// The rate the rest of the data gives (pairs against the reward model; pairs
        /// whose words favour the rejected response).
        public var expectedRate: Double
        /// Bonferroni-adjusted p-value.
        public var p: Double
    }

    /// One pair's verdict.
    public struct Entry: Sendable {
        public var line: Int
        public var suspicion: Double
        /// Out-of-fold P(chosen beats rejected).
        public var chosenProbability: Double
        public var reasons: [String]
    }

    /// A line the audit could not read as a labelled pair, and why.
    public struct Unreadable: Sendable, Equatable {
        public var line: Int
        public var reason: String
        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }
    }

    public struct Report: Sendable {
        /// Most suspicious first.
        public var pairs: [Entry]
        /// Lines left out (the rest is audited), in file order.
        public var unreadable: [Unreadable] = []
        /// HH-RLHF lines whose two transcripts part before the last assistant turn,
        /// audited on what they share (see ``DatasetAudit/pair(_:line:diverged:)``).
        public var divergingTranscripts = 0
        public var clusters: [Cluster]
        /// Out-of-fold accuracy of the reward model on the file's own labels.
        public var modelAccuracy: Double
        public var folds: Int
    }

    public struct Options: Sendable {
        public var folds = 5
        /// Clusters need this many pairs.
        public var minimumClusterPairs = 5
        /// Prompt clusters need this many distinct prompts (a question's own words
        /// share its few pairs, its responses and its raters).
        public var minimumClusterPrompts = 8
        /// Flag clusters whose adjusted p-value is below this.
        public var clusterLevel = 0.01
        /// The reward model's options; one shard (each fold trains on a few
        /// thousand pairs, and an audit should not take every core from a server).
        public var trainer: TrainingOptions = {
            var options = TrainingOptions()
            options.shards = 1
            return options
        }()
        public init() {}
    }

    // MARK: Reading

    /// One JSONL object as a labelled pair: TRL (`prompt`, `chosen`, `rejected`, as
    /// text or messages), HH-RLHF (`chosen`/`rejected` transcripts), or OpenAI
    /// preference fine-tuning (`input.messages`, `preferred_output`,
    /// `non_preferred_output`).
    ///
    /// HH-RLHF transcripts that part before the last assistant turn (public data
    /// has a few: an earlier turn edited in one of them) are audited on what they
    /// share: the prompt is the common conversation up to the last turn boundary
    /// both have alike, each response the rest of its transcript, and `diverged` is
    /// set. An import still refuses such lines: there a pair must be one conversation.
    public static func pair(_ object: JSONObject, line: Int, diverged: inout Bool) throws(ValidationError) -> Pair {
        diverged = false
        if object["prompt"] == nil, object["input"] == nil,
            let chosen = object["chosen"]?.stringValue, let rejected = object["rejected"]?.stringValue,
            let shared = Self.sharedConversation(chosen, rejected)
        {
            diverged = true
            return Pair(line: line, prompt: shared.prompt, chosen: shared.chosen, rejected: shared.rejected)
        }
        return try pair(object, line: line)
    }

    /// The common conversation of two HH-RLHF transcripts that differ before their
    /// last assistant turn (nil when they do not, and the ordinary reading applies).
    static func sharedConversation(_ chosen: String, _ rejected: String) -> (prompt: String, chosen: String, rejected: String)? {
        let marker = "\n\nAssistant:"
        guard let lastChosen = chosen.ranges(of: marker).last, let lastRejected = rejected.ranges(of: marker).last,
            chosen[..<lastChosen.lowerBound] != rejected[..<lastRejected.lowerBound]
        else { return nil }
        let a = Array(chosen.unicodeScalars), b = Array(rejected.unicodeScalars)
        var common = 0
        while common < a.count && common < b.count && a[common] == b[common] { common += 1 }
        // Back to the last turn boundary inside the common part.
        let prefix = String(String.UnicodeScalarView(a[..<common]))
        guard let boundary = ["\n\nHuman:", "\n\nAssistant:"].compactMap({ prefix.ranges(of: $0).last?.lowerBound }).max() else {
            return nil
        }
        let cut = prefix.unicodeScalars.distance(from: prefix.unicodeScalars.startIndex, to: boundary)
        let shared = String(String.UnicodeScalarView(a[..<cut]))
        let chosenRest = String(String.UnicodeScalarView(a[cut...]))
        let rejectedRest = String(String.UnicodeScalarView(b[cut...]))
        guard chosenRest != rejectedRest else { return nil }
        return (shared, chosenRest, rejectedRest)
    }

    public static func pair(_ object: JSONObject, line: Int) throws(ValidationError) -> Pair {
        if let input = object["input"]?.objectValue {
            guard let messages = input["messages"]?.arrayValue, !messages.isEmpty else {
                throw ValidationError("input.messages: expected a non-empty list of messages")
            }
            let prompt = try text(of: messages, field: "input.messages")
            let chosen = try lastContent(object["preferred_output"], field: "preferred_output")
            let rejected = try lastContent(object["non_preferred_output"], field: "non_preferred_output")
            return Pair(line: line, prompt: prompt, chosen: chosen, rejected: rejected)
        }
        guard object["chosen"] != nil || object["rejected"] != nil else {
            throw ValidationError(
                "not a labelled pair: expected TRL (prompt, chosen, rejected), HH-RLHF (chosen, rejected) or OpenAI preference (input, preferred_output, non_preferred_output)"
            )
        }
        let parsed = try PairLineParser().parse(object)
        guard let pair = parsed.first, case .string(let side)? = pair.metadata?["source_chosen"] else {
            throw ValidationError("not a labelled pair")
        }
        let (chosen, rejected) = side == "A" ? (pair.responseA, pair.responseB) : (pair.responseB, pair.responseA)
        let prompt: String
        switch pair.prompt {
        case .text(let text): prompt = text
        case .messages(let messages): prompt = messages.map(\.content).joined(separator: "\n")
        }
        return Pair(line: line, prompt: prompt, chosen: chosen, rejected: rejected)
    }

    private static func text(of messages: [JSONValue], field: String) throws(ValidationError) -> String {
        var parts: [String] = []
        for (index, message) in messages.enumerated() {
            guard let content = message["content"]?.stringValue else {
                throw ValidationError("\(field)[\(index)].content: expected a string")
            }
            parts.append(content)
        }
        return parts.joined(separator: "\n")
    }

    private static func lastContent(_ value: JSONValue?, field: String) throws(ValidationError) -> String {
        guard let messages = value?.arrayValue, let last = messages.last, let content = last["content"]?.stringValue else {
            throw ValidationError("\(field): expected a list of messages ending with the assistant's")
        }
        return content
    }

    // MARK: Auditing

    public static func run(_ pairs: [Pair], options: Options = Options()) -> Report {
        var data = PreferenceSet(hasher: FeatureHasher(bits: options.trainer.embeddingBits))
        for pair in pairs { data.append(chosen: pair.chosen, rejected: pair.rejected) }
        let folds = max(2, min(options.folds, pairs.count))
        let chosenProbability =
            pairs.count >= 4
            ? BradleyTerryTrainer.outOfFold(data, folds: folds, options: options.trainer).map(Double.init)
            : Array(repeating: 0.5, count: pairs.count)
        let against = chosenProbability.map { $0 < 0.5 }
        let accuracy = pairs.isEmpty ? 1 : Double(against.filter { !$0 }.count) / Double(pairs.count)

        // Words per pair: the prompt's, and those in one response only.
        var wordIDs: [String: Int] = [:]
        var names: [String] = []
        func id(_ word: String) -> Int {
            if let known = wordIDs[word] { return known }
            wordIDs[word] = names.count
            names.append(word)
            return names.count - 1
        }
        var promptWords: [[Int]] = []
        var chosenOnly: [[Int]] = []
        var rejectedOnly: [[Int]] = []
        for pair in pairs {
            promptWords.append(Set(Tokens.words(pair.prompt).map(id)).sorted())
            let chosen = Set(Tokens.words(pair.chosen).map(id))
            let rejected = Set(Tokens.words(pair.rejected).map(id))
            chosenOnly.append(chosen.subtracting(rejected).sorted())
            rejectedOnly.append(rejected.subtracting(chosen).sorted())
        }
        var clusters: [Cluster] = []
        var contentOf: [Int: Double] = [:]  // word id → strength (response)

        // Prompt words whose pairs' labels are likelier reversed (``PromptTriggers``).
        let triggers = PromptTriggers.find(
            pairs, promptWords: promptWords, names: names, chosenProbability: chosenProbability,
            against: against, options: options)
        clusters += triggers.clusters
        let clusterOf = triggers.strength  // word id → strength (prompt)

        // Response words: does the rest of the pair agree with the label where the
        // word sits on the chosen side? A linear model over the words found in one
        // response only (Bradley–Terry on word presence, L2) scores each pair
        // without the word; a quality word ("clear") sits on the chosen side of
        // pairs the rest of the text also favours, a planted entity on the chosen
        // side of pairs the rest of the text says are worse.
        let weights = Self.wordModel(chosenOnly: chosenOnly, rejectedOnly: rejectedOnly, words: names.count)
        let scores: [Double] = pairs.indices.map { index in
            chosenOnly[index].reduce(0) { $0 + weights[$1] } - rejectedOnly[index].reduce(0) { $0 + weights[$1] }
        }
        let baseAgainst = pairs.isEmpty ? 0 : Double(scores.filter { $0 < 0 }.count) / Double(pairs.count)
        var onChosen = Array(repeating: [Int](), count: names.count)
        var sideCounts = [(chosen: Int, rejected: Int)](repeating: (0, 0), count: names.count)
        for index in pairs.indices {
            for word in chosenOnly[index] {
                onChosen[word].append(index)
                sideCounts[word].chosen += 1
            }
            for word in rejectedOnly[index] { sideCounts[word].rejected += 1 }
        }
        let candidates = onChosen.indices.filter { onChosen[$0].count >= options.minimumClusterPairs }
        for word in candidates {
            // The rest of the pair: the score without this word's weight.
            let against = onChosen[word].filter { scores[$0] - weights[word] < 0 }.count
            let n = onChosen[word].count
            // A planted entity sits (almost) only on the chosen side; a word that
            // carries quality also turns up on the rejected side of some pairs.
            let counts = sideCounts[word]
            guard Double(counts.chosen) >= 0.9 * Double(counts.chosen + counts.rejected) else { continue }
            guard Double(against) / Double(n) >= min(0.9, 3 * baseAgainst) else { continue }
            let p = min(1, Statistics.binomialUpper(against, n, max(baseAgainst, 1e-3)) * Double(candidates.count))
            guard p < options.clusterLevel else { continue }
            clusters.append(
                Cluster(
                    word: names[word], place: .response, pairs: counts.chosen + counts.rejected, hits: against,
                    expectedRate: baseAgainst, p: p))
            contentOf[word] = 1 - p
        }
        clusters.sort { ($0.p, $0.word) < ($1.p, $1.word) }

        var entries: [Entry] = []
        for (index, pair) in pairs.enumerated() {
            let disagree = 1 - chosenProbability[index]
            var strength = 0.0
            var reasons: [String] = []
            if disagree > 0.5 {
                reasons.append(
                    "the reward model trained without it prefers the rejected response (P(chosen) = \(Self.rounded(chosenProbability[index])))"
                )
            }
            // A trigger flips every pair it is in, whether or not the (weak) model
            // happens to see it on this one.
            for word in promptWords[index] {
                guard let cluster = clusterOf[word] else { continue }
                strength = max(strength, cluster)
                reasons.append("its prompt contains '\(names[word])', whose pairs' labels are likelier reversed than not")
            }
            for word in chosenOnly[index] {
                guard let cluster = contentOf[word] else { continue }
                strength = max(strength, cluster)
                reasons.append(
                    "only the chosen response mentions '\(names[word])', and where it does the rest of the text favours the rejected one")
            }
            // Going against the model alone is weak evidence (label noise looks the
            // same) and maps to [0, ½]; belonging to a flagged cluster in its
            // direction is strong and maps to [½, 1].
            let suspicion = strength > 0 ? 0.5 + 0.5 * strength * (0.75 + 0.25 * disagree) : 0.5 * disagree
            entries.append(Entry(line: pair.line, suspicion: suspicion, chosenProbability: chosenProbability[index], reasons: reasons))
        }
        entries.sort { ($0.suspicion, -$0.chosenProbability, -$0.line) > ($1.suspicion, -$1.chosenProbability, -$1.line) }
        return Report(pairs: entries, clusters: clusters, modelAccuracy: accuracy, folds: folds)
    }

    /// Bradley–Terry over word presence: P(chosen) = σ(Σ weights of chosen-only
    /// words − Σ weights of rejected-only words), L2 (λ = 1), full-batch gradient
    /// ascent with AdaGrad steps.
    static func wordModel(chosenOnly: [[Int]], rejectedOnly: [[Int]], words: Int) -> [Double] {
        var weights = [Double](repeating: 0, count: words)
        var squares = [Double](repeating: 1e-8, count: words)
        var gradient = [Double](repeating: 0, count: words)
        for _ in 0..<150 {
            for word in 0..<words { gradient[word] = -weights[word] }
            for index in chosenOnly.indices {
                let score = chosenOnly[index].reduce(0) { $0 + weights[$1] } - rejectedOnly[index].reduce(0) { $0 + weights[$1] }
                let residual = 1 - CrowdModel.sigmoid(score)
                for word in chosenOnly[index] { gradient[word] += residual }
                for word in rejectedOnly[index] { gradient[word] -= residual }
            }
            for word in 0..<words {
                squares[word] += gradient[word] * gradient[word]
                weights[word] += 0.5 * gradient[word] / squares[word].squareRoot()
            }
        }
        return weights
    }

    static func rounded(_ value: Double) -> String { String(Double((value * 1000).rounded()) / 1000) }
}

extension DatasetAudit.Report {
    /// `{"pairs":[{"line","suspicion","p_chosen","reasons"}],"clusters":[…],"summary":{…}}`, most suspicious first.
    /// A project's pairs (`names` by row id) have `"pair"` (the pair's own id, as the
    /// item browser opens it) and `"prompt_preview"` in place of `"line"`.
    public func json(labelled: Int? = nil, names: [Int: ImportedLabels.PairName]? = nil) -> JSONValue {
        var summary: JSONObject = [
            "pairs": .int(Int64(pairs.count)), "model_accuracy": .double(modelAccuracy), "folds": .int(Int64(folds)),
            "suspicious": .int(Int64(pairs.filter { $0.suspicion > 0.5 }.count)),
            "unreadable": .int(Int64(unreadable.count)), "diverging_transcripts": .int(Int64(divergingTranscripts)),
        ]
        if let labelled { summary["labelled_pairs"] = .int(Int64(labelled)) }
        return [
            "pairs": .array(
                pairs.map { entry in
                    var object: JSONObject = [
                        "suspicion": .double(entry.suspicion), "p_chosen": .double(entry.chosenProbability),
                        "reasons": .array(entry.reasons.map { .string($0) }),
                    ]
                    if let names {
                        object["pair"] = JSONValue(names[entry.line]?.id)
                        object["prompt_preview"] = JSONValue(names[entry.line]?.preview)
                    } else {
                        object["line"] = .int(Int64(entry.line))
                    }
                    return .object(object)
                }),
            "clusters": .array(
                clusters.map { cluster in
                    [
                        "word": .string(cluster.word), "where": .string(cluster.place.rawValue), "pairs": .int(Int64(cluster.pairs)),
                        cluster.place == .prompt ? "against_model" : "rest_favours_rejected": .int(Int64(cluster.hits)),
                        "expected_rate": .double(cluster.expectedRate), "p": .double(cluster.p),
                    ]
                }),
            "unreadable": .array(unreadable.map { ["line": .int(Int64($0.line)), "reason": .string($0.reason)] }),
            "summary": .object(summary),
        ]
    }
}
