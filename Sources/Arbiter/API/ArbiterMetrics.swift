import CoreMetrics
import HTTPServer
import Metrics
import Prometheus
import Storage
import Synchronization

/// The server's metrics, in Prometheus text at `GET /metrics`: recorded with
/// swift-metrics' API into a swift-prometheus registry owned by this app (not
/// the process-global bootstrap, so several apps can live in one test process).
///
/// - `http_requests_total{method,route,status}`, `http_request_duration_seconds{method,route}`
/// - `arbiter_storage_full_total` (requests refused with 503 `storage_full`)
/// - `arbiter_annotations_total`, `sqlite_commits_total`, `sqlite_group_commit_batch_size` (histogram)
/// - `http_open_connections`, `arbiter_live_leases` (gauges, read when scraped)
/// - `arbiter_database_statements_total` (statements this process sent to its
///   database, read when scraped: per request, what the annotation loop is designed against)
final class ArbiterMetrics: RequestObserver, Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let requests = Mutex<[RequestKey: (count: CoreMetrics.Counter, time: CoreMetrics.Timer)]>([:])
    let annotations: CoreMetrics.Counter
    private let storageFullRefusals: CoreMetrics.Counter
    private let commits: CoreMetrics.Counter
    private let batchSizes: CoreMetrics.Recorder
    private let openConnections: CoreMetrics.Gauge
    private let liveLeases: CoreMetrics.Gauge
    private let statements: CoreMetrics.Counter
    /// The statement count last added to `statements`.
    private let statementsSeen = Mutex<Int>(0)

    struct RequestKey: Hashable {
        let method: HTTPMethod
        let route: String
        let status: Int
    }

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        factory.valueHistogramBuckets["sqlite_group_commit_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        self.factory = factory
        annotations = CoreMetrics.Counter(label: "arbiter_annotations_total", factory: factory)
        storageFullRefusals = CoreMetrics.Counter(label: "arbiter_storage_full_total", factory: factory)
        commits = CoreMetrics.Counter(label: "sqlite_commits_total", factory: factory)
        batchSizes = CoreMetrics.Recorder(label: "sqlite_group_commit_batch_size", factory: factory)
        openConnections = CoreMetrics.Gauge(label: "http_open_connections", factory: factory)
        liveLeases = CoreMetrics.Gauge(label: "arbiter_live_leases", factory: factory)
        statements = CoreMetrics.Counter(label: "arbiter_database_statements_total", factory: factory)
    }

    func observe(method: HTTPMethod, route: String, status: Int, nanoseconds: UInt64) {
        let key = RequestKey(method: method, route: route, status: status)
        let metrics = requests.withLock { cache in
            if let found = cache[key] { return found }
            let made = (
                count: CoreMetrics.Counter(
                    label: "http_requests_total", dimensions: [("method", method.rawValue), ("route", route), ("status", String(status))],
                    factory: factory),
                time: CoreMetrics.Timer(
                    label: "http_request_duration_seconds", dimensions: [("method", method.rawValue), ("route", route)], factory: factory)
            )
            cache[key] = made
            return made
        }
        metrics.count.increment()
        metrics.time.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// A new (not replayed) annotation was stored.
    func annotationStored() { annotations.increment() }

    /// A request refused because the database's storage is full.
    func storageFull() { storageFullRefusals.increment() }

    /// Called by the writer after each group commit.
    func committed(batch: Int) {
        commits.increment()
        batchSizes.record(batch)
    }

    /// The text exposition, with the gauges read now.
    func render(openConnections connections: Int, liveLeases leases: Int, statements statementTotal: Int) -> [UInt8] {
        openConnections.record(connections)
        liveLeases.record(leases)
        let now = statementTotal
        let added = statementsSeen.withLock { seen in
            defer { seen = max(seen, now) }
            return max(0, now - seen)
        }
        statements.increment(by: added)
        return registry.emitToBuffer()
    }
}
