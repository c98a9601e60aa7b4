import Glibc
public import JSON

/// A headless Chromium driven through chromedriver's W3C WebDriver protocol
/// (plain HTTP + JSON over our raw client), from Debian's `chromium` and
/// `chromium-driver` packages.
///
/// ```swift
/// let browser = try WebDriver()
/// try browser.open("http://127.0.0.1:\(port)/login")
/// try browser.element("#username").type("ann")
/// ```
public final class WebDriver {
    public let driver: ServerProcess
    public let port: Int
    public let session: String

    /// Whether chromium and chromedriver are installed.
    public static var available: Bool {
        access("/usr/bin/chromedriver", X_OK) == 0 && (access("/usr/bin/chromium", X_OK) == 0)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts chromedriver and a headless browser session.
    public init(width: Int = 1280, height: Int = 900) throws {
        port = Self.freePort()
        driver = try ServerProcess(executable: "/usr/bin/chromedriver", ["--port=\(port)", "--log-level=OFF"])
        var ready = false
        // Up to 30 s: a loaded two-core machine (the whole suite, PostgreSQL beside it) starts it slowly.
        for _ in 0..<600 where !ready {
            if let client = try? RawClient(port: port, timeout: 2), let status = try? client.request("GET", "/status", host: "localhost"),
                status.status == 200
            {
                ready = true
            } else {
                usleep(50_000)
            }
        }
        guard ready else { throw Failure(description: "chromedriver did not start") }
        let capabilities: JSONValue = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            .string("--window-size=\(width),\(height)"), "--no-first-run", "--disable-extensions",
                        ],
                    ],
                ]
            ]
        ]
        let created = try Self.call(port: port, "POST", "/session", capabilities)
        guard let id = created["value"]?["sessionId"]?.stringValue ?? created["sessionId"]?.stringValue else {
            throw Failure(description: "no session: \(created.jsonText)")
        }
        session = id
    }

    deinit {
        _ = try? Self.call(port: port, "DELETE", "/session/\(session)", nil)
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @discardableResult
    static func call(port: Int, _ method: String, _ path: String, _ body: JSONValue?) throws -> JSONValue {
        let client = try RawClient(port: port, timeout: 60)
        let bytes = body?.serialized() ?? []
        let response = try client.request(
            method, path, headers: ["Content-Type": "application/json"],
            body: method == "POST" ? (bytes.isEmpty ? Array("{}".utf8) : bytes) : bytes,
            host: "localhost")
        let parsed = (try? JSONValue.parse(response.body)) ?? .null
        if response.status >= 400 {
            throw Failure(
                description: "\(method) \(path) → \(response.status): \(parsed["value"]?["message"]?.stringValue ?? response.bodyText)")
        }
        return parsed
    }

    @discardableResult
    func command(_ method: String, _ path: String, _ body: JSONValue? = nil) throws -> JSONValue {
        try Self.call(port: port, method, "/session/\(session)" + path, body)["value"] ?? .null
    }

    /// Loads a URL and waits for the page.
    public func open(_ url: String) throws { try command("POST", "/url", ["url": .string(url)]) }

    /// Resizes the window (headless Chromium: the viewport follows), e.g. to a
    /// phone's 390×844 in the middle of a test.
    public func resize(width: Int, height: Int) throws {
        try command("POST", "/window/rect", ["width": .int(Int64(width)), "height": .int(Int64(height))])
        try wait(until: "window.innerWidth <= \(width)")
    }

    /// The current URL.
    public func currentURL() throws -> String { try command("GET", "/url").stringValue ?? "" }

    /// Runs JavaScript in the page and returns its result.
    @discardableResult
    public func script(_ source: String, _ arguments: [JSONValue] = []) throws -> JSONValue {
        try command("POST", "/execute/sync", ["script": .string(source), "args": .array(arguments)])
    }

    /// The first element matching a CSS selector (waits up to `timeout` seconds).
    public func element(_ selector: String, timeout: Double = 30) throws -> Element {
        let deadline = Self.now() + timeout
        while true {
            if let found = try? command("POST", "/element", ["using": "css selector", "value": .string(selector)]),
                let id = found.objectValue?.members.first?.value.stringValue
            {
                return Element(driver: self, id: id)
            }
            guard Self.now() < deadline else { throw Failure(description: "no element \(selector)") }
            usleep(50_000)
        }
    }

    /// Waits until `condition` (a JavaScript expression) is true.
    public func wait(until condition: String, timeout: Double = 30) throws {
        let deadline = Self.now() + timeout
        while true {
            if (try? script("return Boolean(\(condition));"))?.boolValue == true { return }
            guard Self.now() < deadline else { throw Failure(description: "timed out waiting for \(condition)") }
            usleep(50_000)
        }
    }

    /// Presses keys on whatever has focus (W3C actions): "1", "\u{E007}" (Enter)...
    public func press(_ keys: String...) throws {
        var actions: [JSONValue] = []
        for key in keys {
            actions.append(["type": "keyDown", "value": .string(key)])
            actions.append(["type": "keyUp", "value": .string(key)])
        }
        try command("POST", "/actions", ["actions": [["type": "key", "id": "keyboard", "actions": .array(actions)]]])
    }

    /// Holds `modifier` (e.g. Control, "\u{E009}") while pressing `key`.
    public func chord(_ modifier: String, _ key: String) throws {
        let actions: [JSONValue] = [
            ["type": "keyDown", "value": .string(modifier)], ["type": "keyDown", "value": .string(key)],
            ["type": "keyUp", "value": .string(key)], ["type": "keyUp", "value": .string(modifier)],
        ]
        try command("POST", "/actions", ["actions": [["type": "key", "id": "keyboard", "actions": .array(actions)]]])
    }

    /// Drags with a mouse (W3C pointer actions): presses at the centre of `from`,
    /// moves in steps to the centre of `to` plus `offsetY` pixels, releases.
    public func drag(_ from: Element, to: Element, offsetY: Int = 0) throws {
        let actions: [JSONValue] = [
            ["type": "pointerMove", "duration": 0, "origin": ["element-6066-11e4-a52e-4f735466cecf": .string(from.id)], "x": 0, "y": 0],
            ["type": "pointerDown", "button": 0],
            ["type": "pointerMove", "duration": 100, "origin": ["element-6066-11e4-a52e-4f735466cecf": .string(from.id)], "x": 0, "y": 5],
            [
                "type": "pointerMove", "duration": 200, "origin": ["element-6066-11e4-a52e-4f735466cecf": .string(to.id)], "x": 0,
                "y": .int(Int64(offsetY)),
            ],
            ["type": "pointerUp", "button": 0],
        ]
        try command(
            "POST", "/actions",
            ["actions": [["type": "pointer", "id": "mouse", "parameters": ["pointerType": "mouse"], "actions": .array(actions)]]])
    }

    /// The Control key for ``chord(_:_:)``.
    public static let control = "\u{E009}"

    /// The Enter key for ``press(_:)``.
    public static let enter = "\u{E007}"

    /// A PNG screenshot (base64-decoded), to look at while developing.
    public func screenshot(to path: String) throws {
        let encoded = try command("GET", "/screenshot").stringValue ?? ""
        let bytes = Base64.decode(encoded)
        guard let file = fopen(path, "wb") else { return }
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// An element in the page.
    public struct Element {
        let driver: WebDriver
        let id: String

        public func click() throws { try driver.command("POST", "/element/\(id)/click") }
        public func type(_ text: String) throws { try driver.command("POST", "/element/\(id)/value", ["text": .string(text)]) }
        public func clear() throws { try driver.command("POST", "/element/\(id)/clear") }
        public var text: String { get throws { try driver.command("GET", "/element/\(id)/text").stringValue ?? "" } }
        public func attribute(_ name: String) throws -> String? {
            try driver.command("GET", "/element/\(id)/attribute/\(name)").stringValue
        }
    }
}

enum Base64 {
    static func decode(_ text: String) -> [UInt8] {
        var table = [UInt8](repeating: 255, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in text.utf8 where table[Int(byte)] != 255 {
            buffer = buffer << 6 | UInt32(table[Int(byte)])
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(buffer >> UInt32(bits) & 0xFF))
            }
        }
        return out
    }
}
