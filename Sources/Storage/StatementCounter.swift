import Synchronization

/// How many statements a pool's connections have sent to the database: every
/// prepared statement run and every `execute` (`BEGIN`, `COMMIT`, DDL), on either
/// engine. On PostgreSQL each is a round trip to a backend, so statements per
/// request is what the annotation loop is designed against (`docs/BENCHMARKS.md`);
/// `/metrics` shows it as `arbiter_database_statements_total`.
public final class StatementCounter: Sendable {
    private let count = Atomic<Int>(0)

    public init() {}

    /// Statements sent so far.
    public var total: Int { count.load(ordering: .relaxed) }

    func add() { count.add(1, ordering: .relaxed) }
}
