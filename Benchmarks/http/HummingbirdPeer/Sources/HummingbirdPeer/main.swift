// Hummingbird 2 peer for the HTTP benchmark: the same /healthz JSON and the same
// static file as `arbiter serve`. Usage: HummingbirdPeer PORT PUBLIC_DIR
import Foundation
import Hummingbird
import Logging

let arguments = CommandLine.arguments
let port = arguments.count > 1 ? Int(arguments[1]) ?? 8081 : 8081
let publicDir = arguments.count > 2 ? arguments[2] : "Public"

let router = Router()
router.add(middleware: FileMiddleware(publicDir, searchForIndexHtml: true))
router.get("/healthz") { _, _ -> Response in
    Response(
        status: .ok,
        headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#))
    )
}

var logger = Logger(label: "peer")
logger.logLevel = .warning
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port)),
    logger: logger
)
try await app.runService()
