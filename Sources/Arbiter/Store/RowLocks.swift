public import Storage

/// Where writers on several nodes must take turns. SQLite has one writer, so
/// every transaction is already alone and these do nothing; on PostgreSQL many
/// transactions run at once (on this node's connections and on other nodes), and
/// each of these holds until its transaction ends.
///
/// The annotation loop's invariants and what keeps each across nodes:
/// - one live lease per annotator and project: the unique index `assignments_live`
///   (``Assignments/next(_:projectID:userID:membersOnly:now:sweep:random:)`` takes no lock);
/// - idempotent submits: the conditional completion in ``Annotations/submit(_:assignmentID:userID:submission:now:)``;
/// - one annotator's changes and skips run one at a time: ``annotator(_:userID:)``;
/// - a pair never over its wanted count: the conditional `active_count` update
///   (a row lock, re-checked after waiting);
/// - adaptive overlap decided on every vote: ``pair(_:pairID:)`` before a pair's votes are read;
/// - sign-in throttling counted before the password check: ``signIn(_:username:address:)``.
public enum RowLocks {
    /// Waits for, then holds until commit, the annotator's lock.
    public static func annotator(_ db: any Database, userID: Int) throws {
        guard db.dialect == .postgres else { return }
        _ = try db.queryFirst("SELECT pg_advisory_xact_lock(1, ?)", [.int(Int64(userID))]) { _ in true }
    }

    /// Sign-in attempts from one address and for one username are counted one at a
    /// time (the throttle reads its counts, then adds one).
    public static func signIn(_ db: any Database, username: String, address: String) throws {
        guard db.dialect == .postgres else { return }
        // Always address, then username: two transactions never wait for each other in a circle.
        _ = try db.queryFirst("SELECT pg_advisory_xact_lock(2, hashtext(?))", [.text(address)]) { _ in true }
        _ = try db.queryFirst("SELECT pg_advisory_xact_lock(3, hashtext(?))", [.text(username)]) { _ in true }
    }

    /// Locks the pair's row until commit.
    public static func pair(_ db: any Database, pairID: Int64) throws {
        guard db.dialect == .postgres else { return }
        _ = try db.queryFirst("SELECT id FROM pairs WHERE id = ? FOR UPDATE", [.int(pairID)]) { $0.int64(0) }
    }
}
