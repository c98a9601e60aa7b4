import CLinux
import Glibc
import HTTPServer
import JSON
import Storage

/// `GET /api/projects/{id}/export?format=trl&aggregate=weighted&min_agreement=0.6&include_flagged=false&margin=true`:
/// the export is written to a temporary file by a reader, then streamed in 64 KiB
/// chunks (memory stays flat whatever the size). The manifest's counts and the
/// data's SHA-256 travel in headers; the export is audited.
struct ExportRoutes: Sendable {
    let store: ArbiterStore
    let now: @Sendable () -> Int64
    /// Where streamed exports are written before they are sent.
    var temporaryRoot = TemporaryExport.defaultRoot

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/export", .reviewing) { request, caller in try await export(request, caller) }
        // The export page builds its format list from this, so a new format needs no page change.
        api.add(.GET, "/api/export-formats", .reviewing) { _, _ in
            .json(["formats": .array(ExportFormat.allCases.map { format in
                ["name": .string(format.rawValue), "label": .string(format.label), "extension": .string(format.fileExtension),
                 "pairwise": .bool(format.isPairwise)]
            })])
        }
    }

    func export(_ request: Request, _ caller: Caller) async throws -> Response {
        let projectID = try request.parameters.int("id")
        let options = try ExportRequest(fields: request.queryItems.mapValues { .text($0) }, door: .download).options
        let now = self.now()
        guard let temporary = TemporaryExport(root: temporaryRoot) else {
            throw ServiceError.unavailable("cannot create a temporary file")
        }
        let path = temporary.directory + "/export"
        let manifest = try await store.pool.read { db -> ExportManifest in
            guard let project = try ProjectRepository.find(db, id: projectID) else { throw ServiceError.noSuchProject }
            return try Exporter.run(db, project: project, options: options, out: path, now: now)
        }
        clinux_malloc_trim()
        let address = request.remoteAddress
        try await store.pool.write { db in
            try Audit.record(db, actor: caller.user.id, action: "export", target: "project:\(projectID)",
                             details: JSONObjectText(["format": options.format.rawValue]), address: address, now: now)
        }
        let file = manifest.files.first
        var headers: HTTPHeaders = [
            "Content-Disposition": "attachment; filename=\"project-\(projectID).\(options.format.fileExtension)\"",
            "X-Export-Sha256": file?.sha256 ?? "",
            "X-Export-Lines": String(file?.lines ?? 0),
            "X-Export-Counts": manifest.counts.json.jsonText,
        ]
        headers["Cache-Control"] = "no-store"
        let contentType = options.format.contentType
        // The stream holds the directory; it goes when the response does, sent or not.
        return .streamingFile(path, contentType: contentType, headers: headers) { withExtendedLifetime(temporary) {} }
    }
}

extension Response {
    /// A file streamed in 64 KiB chunks (memory stays flat whatever its size);
    /// `cleanup` runs when the stream ends, however it ends.
    static func streamingFile(_ path: String, contentType: String, headers: HTTPHeaders,
                              cleanup: @escaping @Sendable () -> Void = {}) -> Response {
        .stream(contentType: contentType, headers: headers) { writer in
            defer { cleanup() }
            guard let handle = fopen(path, "rb") else { throw ServiceError.unavailable("the export file vanished before it was sent") }
            defer { fclose(handle) }
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
                if count <= 0 { break }
                try await writer.write(Array(chunk[0..<count]))
            }
        }
    }
}
