public import JSON

/// An order of preference over a task's responses, best first; responses in one
/// group are tied. JSON: `[2, [0, 1], 3]` — an index, or a list of tied indices.
public struct Ranking: Sendable, Equatable {
    public var groups: [[Int]]

    public init(groups: [[Int]]) { self.groups = groups }

    /// Every index ranked, in order.
    public var indices: [Int] { groups.flatMap { $0 } }

    /// Parses `[i, j, [k, l], …]`: whole numbers from 0 to 8, each at most once.
    public static func parse(_ value: JSONValue, field: String = "ranking") throws(ValidationError) -> Ranking {
        guard let items = value.arrayValue, !items.isEmpty else {
            throw ValidationError("\(field): expected a list of response indices, best first (tied ones in a nested list)")
        }
        var groups: [[Int]] = []
        var seen = Set<Int>()
        func index(_ item: JSONValue) throws(ValidationError) -> Int {
            guard let number = item.intValue, (0..<Int64(TaskKind.maxResponses)).contains(number) else {
                throw ValidationError("\(field): indices are whole numbers from 0 to \(TaskKind.maxResponses - 1)")
            }
            guard seen.insert(Int(number)).inserted else { throw ValidationError("\(field): index \(number) appears twice") }
            return Int(number)
        }
        for item in items {
            if let tied = item.arrayValue {
                guard !tied.isEmpty else { throw ValidationError("\(field): an empty group of tied responses") }
                var group: [Int] = []
                for member in tied { group.append(try index(member)) }
                groups.append(group)
            } else {
                groups.append([try index(item)])
            }
        }
        return Ranking(groups: groups)
    }

    /// The JSON form (singletons as numbers).
    public var json: JSONValue {
        .array(groups.map { $0.count == 1 ? .int(Int64($0[0])) : .array($0.map { .int(Int64($0)) }) })
    }

    /// Whether it orders exactly the indices 0..<count.
    public func covers(_ count: Int) -> Bool { indices.sorted() == Array(0..<count) }

    public var hasTies: Bool { groups.contains { $0.count > 1 } }

    /// The same ranking with each index `i` replaced by `order[i]` (shown position
    /// → canonical index).
    public func mapped(_ order: [Int]) -> Ranking { Ranking(groups: groups.map { $0.map { order[$0] } }) }

    /// Each index's group position (0 = best), by index.
    public func positions(count: Int) -> [Int] {
        var positions = Array(repeating: groups.count, count: count)
        for (position, group) in groups.enumerated() { for index in group where index < count { positions[index] = position } }
        return positions
    }

    /// Each index's rank with ties at their mean (1 = best), as Kendall's W and
    /// Krippendorff's ordinal α read it.
    public func ranks(count: Int) -> [Double] {
        var ranks = Array(repeating: 0.0, count: count)
        var next = 1
        for group in groups {
            let mean = Double(next) + Double(group.count - 1) / 2
            for index in group where index < count { ranks[index] = mean }
            next += group.count
        }
        return ranks
    }

    /// What it says about responses `i` and `j` as a pair choice: A (i better), B or tie.
    public func implied(_ i: Int, _ j: Int, count: Int) -> Choice {
        let positions = positions(count: count)
        return positions[i] < positions[j] ? .a : positions[i] > positions[j] ? .b : .tie
    }
}

/// Scores per response on the project's attributes, canonical order.
public struct Ratings: Sendable, Equatable {
    /// One map per response: attribute → score.
    public var scores: [[String: Int]]

    public init(scores: [[String: Int]]) { self.scores = scores }

    /// Parses `[{"helpfulness": 3, …}, …]` (shape and types; the project's
    /// attributes and scale are checked by ``check(attributes:scale:count:)``).
    public static func parse(_ value: JSONValue, field: String = "ratings") throws(ValidationError) -> Ratings {
        guard let items = value.arrayValue, !items.isEmpty, items.count <= TaskKind.maxResponses else {
            throw ValidationError("\(field): expected a list with one object of attribute scores per response")
        }
        var scores: [[String: Int]] = []
        for (index, item) in items.enumerated() {
            guard let object = item.objectValue else { throw ValidationError("\(field)[\(index)]: expected an object of attribute scores") }
            var map: [String: Int] = [:]
            for member in object {
                guard let number = member.value.intValue, let score = Int(exactly: number) else {
                    throw ValidationError("\(field)[\(index)].\(member.key): expected a whole number")
                }
                map[member.key] = score
            }
            scores.append(map)
        }
        return Ratings(scores: scores)
    }

    /// Every response scored on exactly the project's attributes, within its scale.
    public func check(attributes: [String], scale: ClosedRange<Int>, count: Int) throws(ValidationError) {
        guard scores.count == count else { throw ValidationError("ratings: expected \(count) (one per response), got \(scores.count)") }
        for (index, map) in scores.enumerated() {
            if let unknown = map.keys.sorted().first(where: { !attributes.contains($0) }) {
                throw ValidationError(
                    "ratings[\(index)].\(unknown): not an attribute of this project (\(attributes.joined(separator: ", ")))")
            }
            for attribute in attributes {
                guard let score = map[attribute] else { throw ValidationError("ratings[\(index)].\(attribute): missing") }
                guard scale.contains(score) else {
                    throw ValidationError(
                        "ratings[\(index)].\(attribute): \(score) is outside the scale \(scale.lowerBound)-\(scale.upperBound)")
                }
            }
        }
    }

    /// The same scores with position `p` moved to `order[p]` (shown → canonical).
    public func mapped(_ order: [Int]) -> Ratings {
        var canonical = scores
        for (position, index) in order.enumerated() where position < scores.count && index < scores.count {
            canonical[index] = scores[position]
        }
        return Ratings(scores: canonical)
    }

    /// The inverse of ``mapped(_:)`` (canonical → shown).
    public func shown(_ order: [Int]) -> Ratings {
        Ratings(scores: order.map { $0 < scores.count ? scores[$0] : [:] })
    }

    /// A response's mean score over the attributes.
    public func mean(_ index: Int, attributes: [String]) -> Double {
        let values = attributes.compactMap { scores[index][$0] }
        return values.isEmpty ? 0 : Double(values.reduce(0, +)) / Double(values.count)
    }

    /// JSON, attributes in the project's order.
    public func json(attributes: [String]) -> JSONValue {
        .array(
            scores.map { map in
                .object(
                    JSONObject(
                        (attributes + map.keys.sorted().filter { !attributes.contains($0) }).compactMap { name in
                            map[name].map { (key: name, value: JSONValue.int(Int64($0))) }
                        }))
            })
    }

    /// Reads the stored JSON back.
    static func stored(_ text: String?) -> Ratings? {
        guard let text, let value = try? JSONValue.parse(text) else { return nil }
        return try? parse(value)
    }
}

extension Choice {
    /// A when `a` scores higher, B when lower, else a tie.
    static func comparing(_ a: Double, _ b: Double) -> Choice { a > b ? .a : a < b ? .b : .tie }
}

/// What a ranking or rating judgement says about responses i and j of its task
/// (a ranking: their order; ratings: their mean scores over the attributes) — the
/// implied pairs that agreement, rater quality, exports and the leaderboard read.
struct ImpliedComparison {
    let choice: (Int, Int) -> Choice

    /// Nil when the judgement has neither a ranking of all `count` responses nor
    /// scores for each.
    init?(ranking: Ranking?, ratings: Ratings?, count: Int, attributes: [String]) {
        if let ranking, ranking.covers(count) {
            choice = { ranking.implied($0, $1, count: count) }
        } else if let ratings, ratings.scores.count == count {
            let means = (0..<count).map { ratings.mean($0, attributes: attributes) }
            choice = { Choice.comparing(means[$0], means[$1]) }
        } else {
            return nil
        }
    }

    /// From the stored columns.
    init?(storedRanking: String?, storedRatings: String?, count: Int, attributes: [String]) {
        self.init(ranking: Ranking.stored(storedRanking), ratings: Ratings.stored(storedRatings), count: count, attributes: attributes)
    }
}

/// An annotator's rewrite of one response into a better one.
public struct Rewrite: Sendable, Equatable {
    /// The response it starts from (a canonical index once stored).
    public var base: Int
    public var text: String

    public init(base: Int, text: String) {
        self.base = base
        self.text = text
    }

    static let maxBytes = 200_000

    /// Parses `{"base": N, "text": "…"}`.
    public static func parse(_ value: JSONValue) throws(ValidationError) -> Rewrite {
        guard let object = value.objectValue else { throw ValidationError("rewrite: expected {\"base\": index, \"text\": string}") }
        if let unknown = object.keys.first(where: { $0 != "base" && $0 != "text" }) {
            throw ValidationError("rewrite.\(unknown): unknown field")
        }
        guard let base = object["base"]?.intValue, (0..<Int64(TaskKind.maxResponses)).contains(base) else {
            throw ValidationError("rewrite.base: expected the index of the response rewritten (as shown, from 0)")
        }
        guard let text = object["text"]?.stringValue, !text.trimmingWhitespace().isEmpty else {
            throw ValidationError("rewrite.text: expected the rewritten response")
        }
        guard text.utf8.count <= maxBytes else { throw ValidationError("rewrite.text: longer than \(maxBytes) bytes") }
        return Rewrite(base: Int(base), text: text)
    }
}

extension Ranking {
    /// Reads the stored JSON back.
    static func stored(_ text: String?) -> Ranking? {
        guard let text, let value = try? JSONValue.parse(text) else { return nil }
        return try? parse(value)
    }
}
