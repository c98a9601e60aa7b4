@testable import Arbiter
import Storage
import Testing
import TestSupport

/// Named leases (`cluster_leases`): one holder at a time, renewable by its
/// holder, free again once expired or released — on both engines.
@Suite struct ClusterLeaseTests {
    @Test(arguments: TestEngine.all)
    func oneHolderAtATimeUntilItExpiresOrLetsGo(engine: TestEngine) throws {
        let test = try TestDatabase(engine: engine)
        let db = test.db
        #expect(try ClusterLeases.acquire(db, name: "adaptive:1", holder: "a", now: 1_000, ttl: 100))
        #expect(try !ClusterLeases.acquire(db, name: "adaptive:1", holder: "b", now: 1_050, ttl: 100), "held by a")
        #expect(try ClusterLeases.acquire(db, name: "adaptive:2", holder: "b", now: 1_050, ttl: 100), "another name is free")
        #expect(try ClusterLeases.acquire(db, name: "adaptive:1", holder: "a", now: 1_090, ttl: 100), "the holder renews")
        #expect(try !ClusterLeases.acquire(db, name: "adaptive:1", holder: "b", now: 1_150, ttl: 100), "renewed until 1190")
        #expect(try ClusterLeases.acquire(db, name: "adaptive:1", holder: "b", now: 1_190, ttl: 100), "expired: a died")
        try ClusterLeases.release(db, name: "adaptive:1", holder: "a")
        #expect(try !ClusterLeases.acquire(db, name: "adaptive:1", holder: "a", now: 1_200, ttl: 100), "a cannot release b's lease")
        try ClusterLeases.release(db, name: "adaptive:1", holder: "b")
        #expect(try ClusterLeases.acquire(db, name: "adaptive:1", holder: "a", now: 1_200, ttl: 100))
    }
}
