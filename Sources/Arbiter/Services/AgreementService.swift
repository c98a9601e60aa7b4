public import Agreement
public import Storage

/// A project's agreement: the report with the names it refers to.
public struct ProjectAgreement: Sendable {
    public var report: AgreementReport
    public var input: AgreementInput
}

/// Agreement and rater quality of a project, for the API, the command line, the
/// dashboard and export manifests alike.
public struct AgreementService: Sendable {
    let store: ArbiterStore

    public init(store: ArbiterStore) { self.store = store }

    /// Computes a project's agreement on `db` (inside the caller's snapshot).
    /// `bootstrap` resamples give the 95% intervals (0: none).
    public static func agreement(_ db: any Database, projectID: Int, bootstrap: Int = 1000, seed: UInt64 = 42) throws -> ProjectAgreement {
        let input = try AgreementReads.input(db, projectID: projectID)
        return ProjectAgreement(
            report: AgreementReport.compute(input.judgements, bootstrap: bootstrap, seed: seed, settled: input.settled), input: input)
    }

    /// The same for a project that must exist, on a reader.
    public func agreement(projectID: Int) async throws -> ProjectAgreement {
        try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            return try Self.agreement(db, projectID: projectID)
        }
    }

    /// Every rater's signals, status and suspicion, on a reader.
    public func raters(projectID: Int) async throws -> RaterReport {
        try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            return try RaterQuery.report(db, projectID: projectID)
        }
    }
}
