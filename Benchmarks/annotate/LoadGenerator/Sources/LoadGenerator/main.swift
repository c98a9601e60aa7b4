// Usage: LoadGenerator PORT PROJECT_ID TOKENS_FILE CONCURRENCY SECONDS [THINK_MS] [SLOWLORIS]
// Each of CONCURRENCY threads holds one keep-alive connection and cycles through
// its share of the tokens: GET next → POST annotation, then "reads" for a random
// 0–2×THINK_MS (default 0: back to back). SLOWLORIS more connections dribble a
// request head one byte a second, reconnecting whenever the server cuts them.
// Prints one JSON line.
import Glibc

let args = CommandLine.arguments
guard (6...8).contains(args.count), let port = UInt16(args[1]), let project = Int(args[2]), let concurrency = Int(args[4]),
    let seconds = Double(args[5])
else {
    print("usage: LoadGenerator PORT PROJECT_ID TOKENS_FILE CONCURRENCY SECONDS [THINK_MS] [SLOWLORIS]")
    exit(2)
}
let thinkMilliseconds = args.count > 6 ? Int(args[6]) ?? 0 : 0
let slowlorisCount = args.count > 7 ? Int(args[7]) ?? 0 : 0
let tokens: [String] = {
    guard let file = fopen(args[3], "r") else { fatalError("cannot open tokens") }
    var result: [String] = []
    var line: UnsafeMutablePointer<CChar>?
    var capacity = 0
    while getline(&line, &capacity, file) > 0 {
        let text = String(cString: line!).split(separator: "\n").first.map(String.init) ?? ""
        if !text.isEmpty { result.append(text) }
    }
    return result
}()

func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

final class Connection {
    let fd: Int32
    var buffer: [UInt8] = []
    init?(port: UInt16, failable: Bool) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            if failable { return nil }
            fatalError("connect failed")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(4))
    }

    /// Sends a request; returns (status, body).
    func request(_ text: String, body: [UInt8] = []) -> (Int, [UInt8]) {
        let bytes = Array(text.utf8) + body
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return (0, []) }
            offset += n
        }
        // Read the head.
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = findHeadEnd() {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                let status = Int(head.split(separator: " ")[1]) ?? 0
                var length = 0
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    length = Int(line.split(separator: ":")[1].trimmingPrefix(" ")) ?? 0
                }
                let total = end + 4 + length
                while buffer.count < total {
                    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                    if n <= 0 { return (0, []) }
                    buffer.append(contentsOf: chunk[0..<n])
                }
                let body = Array(buffer[(end + 4)..<total])
                buffer.removeFirst(total)
                return (status, body)
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { return (0, []) }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }
}

final class Worker: @unchecked Sendable {
    var nextLatencies: [Double] = []
    var submitLatencies: [Double] = []
    var annotations = 0
    var errors = 0
    var exhausted = 0
    let tokens: [String]
    let project: Int
    let port: UInt16
    let deadline: Double
    init(tokens: [String], project: Int, port: UInt16, deadline: Double) {
        self.tokens = tokens
        self.project = project
        self.port = port
        self.deadline = deadline
    }

    func run() {
        let connection = Connection(port: port, failable: false)!
        var index = 0
        var seed = UInt64(bitPattern: Int64(tokens.first?.hashValue ?? 1))
        let choices = ["left", "right", "tie", "both_bad"]
        while now() < deadline {
            let token = tokens[index % tokens.count]
            index += 1
            let t0 = now()
            let (status, body) = connection.request(
                "GET /api/projects/\(project)/next HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer \(token)\r\n\r\n")
            let t1 = now()
            nextLatencies.append(t1 - t0)
            if status == 204 {
                exhausted += 1
                continue
            }
            guard status == 200 else {
                errors += 1
                continue
            }
            // "id":123 — the assignment id is the first "id" in the body.
            let text = String(decoding: body, as: UTF8.self)
            guard let range = text.firstRange(of: "\"id\":") else {
                errors += 1
                continue
            }
            let id = text[range.upperBound...].prefix { $0.isNumber }
            let choice = choices[index % choices.count]
            let json =
                choice == "left" || choice == "right"
                ? #"{"choice":"\#(choice)","strength":\#(index % 3 + 1),"duration_ms":\#(1000 + index % 5000)}"#
                : #"{"choice":"\#(choice)"}"#
            let payload = Array(json.utf8)
            let t2 = now()
            let (submitted, _) = connection.request(
                "POST /api/assignments/\(id)/annotation HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\n\r\n",
                body: payload)
            submitLatencies.append(now() - t2)
            if submitted == 201 { annotations += 1 } else { errors += 1 }
            if thinkMilliseconds > 0 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                usleep(UInt32((seed >> 33) % UInt64(2 * thinkMilliseconds * 1000)))
            }
        }
    }
}

let perWorker = max(1, tokens.count / concurrency)
let start = now()
let deadline = start + seconds
let workers = (0..<concurrency).map { index in
    Worker(tokens: Array(tokens[(index * perWorker % tokens.count)...].prefix(perWorker)), project: project, port: port, deadline: deadline)
}
/// Slowloris: connections that send a request head one byte a second and never
/// finish; when the server closes one (header timeout), it comes straight back.
final class Slowloris: @unchecked Sendable {
    var reconnects = 0
    let count: Int
    let deadline: Double
    let port: UInt16
    init(count: Int, deadline: Double, port: UInt16) {
        self.count = count
        self.deadline = deadline
        self.port = port
    }
    func run() {
        let head = Array("GET /api/projects/1/next HTTP/1.1\r\nHost: bench\r\nX-Slow: ".utf8)
        var sockets: [(fd: Int32, sent: Int)] = (0..<count).compactMap { _ in Connection(port: port, failable: true).map { ($0.fd, 0) } }
        while now() < deadline {
            for index in sockets.indices {
                let byte = sockets[index].sent < head.count ? head[sockets[index].sent] : UInt8(ascii: "a")
                if [byte].withUnsafeBytes({ send(sockets[index].fd, $0.baseAddress!, 1, Int32(MSG_NOSIGNAL)) }) != 1 {
                    close(sockets[index].fd)
                    reconnects += 1
                    if let again = Connection(port: port, failable: true) { sockets[index] = (again.fd, 0) }
                } else {
                    sockets[index].sent += 1
                }
            }
            usleep(1_000_000)
        }
        for socket in sockets { close(socket.fd) }
    }
}
let slowloris = Slowloris(count: slowlorisCount, deadline: deadline, port: port)
var threads: [pthread_t] = []
if slowlorisCount > 0 {
    var thread = pthread_t()
    pthread_create(
        &thread, nil,
        { pointer in
            Unmanaged<Slowloris>.fromOpaque(pointer!).takeUnretainedValue().run()
            return nil
        }, Unmanaged.passUnretained(slowloris).toOpaque())
    threads.append(thread)
    usleep(200_000)  // the slow connections are open before the annotators start
}
for worker in workers {
    var thread = pthread_t()
    let box = Unmanaged.passRetained(worker).toOpaque()
    pthread_create(
        &thread, nil,
        { pointer in
            let worker = Unmanaged<Worker>.fromOpaque(pointer!).takeRetainedValue()
            worker.run()
            return nil
        }, box)
    threads.append(thread)
}
for thread in threads { pthread_join(thread, nil) }
let elapsed = now() - start

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000
}
let nexts = workers.flatMap(\.nextLatencies)
let submits = workers.flatMap(\.submitLatencies)
let annotations = workers.reduce(0) { $0 + $1.annotations }
let errors = workers.reduce(0) { $0 + $1.errors }
let exhausted = workers.reduce(0) { $0 + $1.exhausted }
func f(_ x: Double) -> String { String(Double(Int(x * 100)) / 100) }
print(
    "{\"concurrency\":\(concurrency),\"tokens\":\(tokens.count),\"seconds\":\(f(elapsed)),\"annotations\":\(annotations),\"annotations_per_s\":\(f(Double(annotations) / elapsed)),\"next_p50_ms\":\(f(percentile(nexts, 0.5))),\"next_p99_ms\":\(f(percentile(nexts, 0.99))),\"submit_p50_ms\":\(f(percentile(submits, 0.5))),\"submit_p99_ms\":\(f(percentile(submits, 0.99))),\"errors\":\(errors),\"nothing_left\":\(exhausted),\"think_ms\":\(thinkMilliseconds),\"slowloris\":\(slowlorisCount),\"slowloris_reconnects\":\(slowloris.reconnects)}"
)
