import Storage

/// The annotation loop: leasing the next pair, recording a judgement, changing it
/// while the lease lasts, skipping, reporting. Bodies are parsed by the caller's
/// thread; the writer only checks the project's rules and stores.
public struct AnnotationService: Sendable {
    let store: ArbiterStore
    /// Told of each stored judgement (`/metrics`).
    var stored: @Sendable () -> Void = {}
    /// Told of each new normal judgement (adaptive overlap, active selection).
    var adaptive: AdaptiveWorker?
    /// The lease clock (Unix ms).
    let now: @Sendable () -> Int64

    /// The caller's live lease in the project, else a new one, else nil (nothing
    /// left). An annotator (`membersOnly`) gets 404 for a project not open to them.
    public func next(projectID: Int, userID: Int, membersOnly: Bool = false) async throws -> Assignment? {
        let now = self.now()
        let sweep = store.leaseSweep
        do {
            return try await store.pool.autocommit { db -> Assignment? in
                var random = SystemRandomNumberGenerator()
                return try Assignments.next(
                    db, projectID: projectID, userID: userID, membersOnly: membersOnly, now: now, sweep: sweep, random: &random)
            }
        } catch is Assignments.NoSuchProject {
            throw ServiceError.noSuchProject
        }
    }

    /// Records a judgement; a repeated submit returns the first one (`replayed`).
    public func submit(assignmentID: Int, userID: Int, _ submission: Submission) async throws -> (annotation: Annotation, replayed: Bool) {
        let now = self.now()
        let (annotation, replayed, project) = try await store.pool.autocommit { db in
            try Annotations.submit(db, assignmentID: assignmentID, userID: userID, submission: submission, now: now)
        }
        if !replayed {
            stored()
            if annotation.kind == .normal, AdaptiveWorker.hasWork(project.settings) { adaptive?.judged(projectID: project.id) }
        }
        return (annotation, replayed)
    }

    /// Changes the caller's judgement while its lease lasts (undo).
    public func revise(assignmentID: Int, userID: Int, _ submission: Submission) async throws -> Annotation {
        let now = self.now()
        return try await store.pool.write { db in
            try Annotations.revise(db, assignmentID: assignmentID, userID: userID, submission: submission, now: now).annotation
        }
    }

    /// Gives the pair back without judging it.
    public func skip(assignmentID: Int, userID: Int) async throws {
        let now = self.now()
        try await store.pool.write { db in try Assignments.skip(db, assignmentID: assignmentID, userID: userID, now: now) }
    }

    /// Reports a problem with the pair of an assignment.
    public func report(assignmentID: Int, userID: Int, reason: String) async throws {
        guard !reason.trimmingWhitespace().isEmpty, reason.utf8.count <= PairReports.maxReasonBytes else {
            throw ValidationError("reason: a description of 1 to \(PairReports.maxReasonBytes) bytes")
        }
        let now = self.now()
        try await store.pool.write { db in try PairReports.report(db, assignmentID: assignmentID, userID: userID, reason: reason, now: now)
        }
    }

    /// The caller's progress in a project. An annotator (`membersOnly`) gets 404 for
    /// a project not open to them, as from `next`.
    public func progress(projectID: Int, userID: Int, membersOnly: Bool = false) async throws -> AnnotatorProgress {
        let now = self.now()
        return try await store.pool.read { db in
            guard try Projects.find(db, id: projectID) != nil else { throw ServiceError.noSuchProject }
            if membersOnly, try !ProjectMembers.allows(db, projectID: projectID, userID: userID) { throw ServiceError.noSuchProject }
            return try Progress.of(db, projectID: projectID, userID: userID, now: now)
        }
    }
}
