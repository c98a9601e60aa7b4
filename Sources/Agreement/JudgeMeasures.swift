/// How a model judge compares with the people of a project: the judge–human
/// table. Pure: the pairs' facts in, rates with 95% intervals out.
///
/// Categories are 0 = A, 1 = B, 2 = tie (canonical, as in ``RatedJudgement``).
public struct JudgeMeasures: Sendable, Equatable {
    /// One pair: what people said of it and what the judge answered.
    public struct Item: Sendable, Equatable {
        /// People's decisive first judgements on the pair.
        public var peopleA: Int
        public var peopleB: Int
        /// The known answer of a gold pair (0, 1 or 2).
        public var gold: Int?
        /// The pair's `category` metadata, if any.
        public var category: String?
        /// The judge's answers (nil: unreadable) and which order it was asked first.
        public var first: Int?
        public var second: Int?
        public var firstSwapped: Bool

        public init(peopleA: Int, peopleB: Int, gold: Int?, category: String?, first: Int?, second: Int?, firstSwapped: Bool) {
            self.peopleA = peopleA
            self.peopleB = peopleB
            self.gold = gold
            self.category = category
            self.first = first
            self.second = second
            self.firstSwapped = firstSwapped
        }

        /// The verdict the two answers make: the same twice → it, else tie; nil if either is unreadable.
        public var verdict: Int? {
            guard let first, let second else { return nil }
            return first == second ? first : 2
        }

        /// People's majority side (0 or 1) with at least `minimum` decisive votes, nil on a draw.
        func peopleMajority(minimum: Int) -> Int? {
            guard peopleA + peopleB >= minimum, peopleA != peopleB else { return nil }
            return peopleA > peopleB ? 0 : 1
        }
    }

    /// `right` of `n`, with the Wilson score 95% interval.
    public struct Rate: Sendable, Equatable {
        public var right: Int
        public var n: Int
        public var value: Double? { n == 0 ? nil : Double(right) / Double(n) }
        public var interval: (low: Double, high: Double)? { n == 0 ? nil : Self.wilson(right, n) }

        public init(right: Int, n: Int) {
            self.right = right
            self.n = n
        }

        public static func == (lhs: Rate, rhs: Rate) -> Bool { lhs.right == rhs.right && lhs.n == rhs.n }

        /// Wilson (1927): p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²), over 1 + z²/n, z = 1.96.
        public static func wilson(_ right: Int, _ n: Int, z: Double = 1.959964) -> (low: Double, high: Double) {
            let p = Double(right) / Double(n)
            let n = Double(n)
            let centre = p + z * z / (2 * n)
            let spread = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
            let denominator = 1 + z * z / n
            return (max(0, (centre - spread) / denominator), min(1, (centre + spread) / denominator))
        }
    }

    /// Pairs with a verdict (readable or not), and those with an unreadable answer.
    public var verdicts = 0
    public var unreadable = 0
    /// Readable pairs whose two answers differ (the order changed the answer).
    public var inconsistent = 0
    /// Decisive answers that picked the response shown first, of all decisive answers
    /// (½ for a judge that reads the responses: each pair is asked both ways).
    public var shownFirst = Rate(right: 0, n: 0)
    /// Decisive verdicts that side with people's majority, on pairs where people
    /// have one (at least two decisive votes, no draw).
    public var withPeople = Rate(right: 0, n: 0)
    /// Of the pairs where people have a majority, those the judge settled (a
    /// decisive verdict): a judge that says "tie" whenever unsure agrees often on
    /// few pairs.
    public var decisiveWherePeopleAgree = Rate(right: 0, n: 0)
    /// Verdicts equal to the gold answer, on gold pairs.
    public var gold = Rate(right: 0, n: 0)
    /// The same two by the pairs' `category` (the most common 20).
    public var byCategory: [(category: String, withPeople: Rate, gold: Rate)] = []

    public init() {}

    public static func == (lhs: JudgeMeasures, rhs: JudgeMeasures) -> Bool {
        lhs.verdicts == rhs.verdicts && lhs.unreadable == rhs.unreadable && lhs.inconsistent == rhs.inconsistent
            && lhs.shownFirst == rhs.shownFirst && lhs.withPeople == rhs.withPeople && lhs.gold == rhs.gold
            && lhs.decisiveWherePeopleAgree == rhs.decisiveWherePeopleAgree
            && lhs.byCategory.map(\.category) == rhs.byCategory.map(\.category)
    }

    /// The most categories reported.
    public static let maxCategories = 20

    /// Measures one judge over its items.
    public static func measure(_ items: [Item]) -> JudgeMeasures {
        var measures = JudgeMeasures()
        var categories: [String: (count: Int, people: Rate, gold: Rate)] = [:]
        for item in items {
            measures.verdicts += 1
            for (answer, swapped) in [(item.first, item.firstSwapped), (item.second, !item.firstSwapped)] {
                guard let answer, answer < 2 else { continue }
                measures.shownFirst.n += 1
                // Shown first: A unless swapped.
                if (answer == 0) != swapped { measures.shownFirst.right += 1 }
            }
            guard let verdict = item.verdict else {
                measures.unreadable += 1
                continue
            }
            if item.first != item.second { measures.inconsistent += 1 }
            var entry = item.category.map { categories[$0] ?? (0, Rate(right: 0, n: 0), Rate(right: 0, n: 0)) }
            entry?.count += 1
            if let majority = item.peopleMajority(minimum: 2) {
                measures.decisiveWherePeopleAgree.n += 1
                if verdict < 2 {
                    measures.decisiveWherePeopleAgree.right += 1
                    measures.withPeople.n += 1
                    entry?.people.n += 1
                    if verdict == majority {
                        measures.withPeople.right += 1
                        entry?.people.right += 1
                    }
                }
            }
            if let gold = item.gold {
                measures.gold.n += 1
                entry?.gold.n += 1
                if verdict == gold {
                    measures.gold.right += 1
                    entry?.gold.right += 1
                }
            }
            if let category = item.category, let entry { categories[category] = entry }
        }
        measures.byCategory = categories.sorted { ($0.value.count, $1.key) > ($1.value.count, $0.key) }.prefix(maxCategories).map {
            ($0.key, $0.value.people, $0.value.gold)
        }
        return measures
    }

    /// How often one person's decisive first judgement sides with the majority of
    /// the others on the pair (at least two other decisive votes, no draw): the
    /// yardstick for a judge's ``withPeople``. `votes` are per pair, 0 or 1 each.
    public static func peopleWithPeople(_ votes: [[Int]]) -> Rate {
        var rate = Rate(right: 0, n: 0)
        for pair in votes {
            let a = pair.filter { $0 == 0 }.count
            let b = pair.count - a
            for vote in pair {
                let (othersA, othersB) = vote == 0 ? (a - 1, b) : (a, b - 1)
                guard othersA + othersB >= 2, othersA != othersB else { continue }
                rate.n += 1
                if (othersA > othersB ? 0 : 1) == vote { rate.right += 1 }
            }
        }
        return rate
    }
}
