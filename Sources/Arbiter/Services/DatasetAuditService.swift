public import Agreement
public import Storage

/// The dataset audit of a project's imported labels.
public struct DatasetAuditService: Sendable {
    let store: ArbiterStore

    public init(store: ArbiterStore) { self.store = store }

    /// Fewer labelled pairs than this give no audit (an empty ranking).
    public static let minimumPairs = 10

    /// Pairs imported with a label (TRL, HH-RLHF), ranked by how poisoned they look;
    /// `line` in the report is the pair's row id, `names` says which pair that is.
    /// Runs on a pool thread.
    public func project(
        projectID: Int
    ) async throws
        -> (report: DatasetAudit.Report, labelled: Int, names: [Int: ImportedLabels.PairName])
    {
        try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            let (pairs, names) = try ImportedLabels.auditPairs(db, projectID: projectID)
            guard pairs.count >= Self.minimumPairs else {
                return (DatasetAudit.Report(pairs: [], clusters: [], modelAccuracy: 0, folds: 0), pairs.count, names)
            }
            return (DatasetAudit.run(pairs), pairs.count, names)
        }
    }

    /// An uploaded JSONL file (TRL, HH-RLHF or OpenAI preference lines), read as
    /// `arbiter audit --input` reads one: unreadable lines listed and left out, or
    /// with `strict` the file refused at its first. Runs on the calling thread (the
    /// route puts it on a worker); touches no database.
    public func file(body: [UInt8], strict: Bool) throws(ValidationError) -> DatasetAudit.Report {
        var reading = DatasetAudit.Reading(strict: strict)
        try reading.add(body: body)
        if let tooFew = reading.tooFew { throw ValidationError(tooFew) }
        return reading.run()
    }
}
