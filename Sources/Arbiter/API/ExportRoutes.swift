import Glibc
import HTTPServer
import JSON
import Storage

/// `GET /api/projects/{id}/export?format=trl&aggregate=weighted&min_agreement=0.6&include_flagged=false&margin=true`:
/// the export is written to a temporary file in one snapshot, then streamed in
/// 64 KiB chunks (memory stays flat whatever the size). The manifest's counts and
/// the data's SHA-256 travel in headers; ``ExportService`` audits it.
/// `GET /api/export-formats`: every format with its facts (the export page's menu).
struct ExportRoutes: Sendable {
    let service: ExportService

    func register(on api: inout APIRouter) {
        api.add(.GET, "/api/projects/{id}/export", .reviewing) { request, caller in
            let projectID = try request.parameters.int("id")
            let options = try ExportRequest(fields: request.queryItems.mapValues { .text($0) }, door: .download).options
            let download = try await service.download(
                projectID: projectID, options: options, actor: caller.user.id, address: request.remoteAddress)
            let file = download.manifest.files.first
            var headers: HTTPHeaders = [
                "Content-Disposition": "attachment; filename=\"project-\(projectID).\(options.format.fileExtension)\"",
                "X-Export-Sha256": file?.sha256 ?? "",
                "X-Export-Lines": String(file?.lines ?? 0),
                "X-Export-Counts": download.manifest.counts.json.jsonText,
            ]
            headers["Cache-Control"] = "no-store"
            // The stream holds the directory; it goes when the response does, sent or not.
            return .streamingFile(download.path, contentType: options.format.contentType, headers: headers) {
                withExtendedLifetime(download.directory) {}
            }
        }
        // The export page builds its format list from this, so a new format needs no page change.
        api.add(.GET, "/api/export-formats", .reviewing) { _, _ in
            .json([
                "formats": .array(
                    ExportFormat.allCases.map { format in
                        [
                            "name": .string(format.rawValue), "label": .string(format.label), "extension": .string(format.fileExtension),
                            "pairwise": .bool(format.isPairwise), "kinds": .array(format.kinds.map { .string($0.rawValue) }),
                            "needs_rewrites": .bool(format.needsRewrites),
                        ]
                    })
            ])
        }
    }
}

extension Response {
    /// A file streamed in 64 KiB chunks (memory stays flat whatever its size);
    /// `cleanup` runs when the stream ends, however it ends.
    static func streamingFile(
        _ path: String, contentType: String, headers: HTTPHeaders,
        cleanup: @escaping @Sendable () -> Void = {}
    ) -> Response {
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
