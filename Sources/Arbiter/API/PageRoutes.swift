import HTTPServer

/// The HTML pages: each URL serves a static file from `Public/`; the page's ES
/// module does the rest through the API. Pages carry no data, so they need no
/// sign-in (the API behind them does).
enum PageRoutes {
    static let pages: [(pattern: String, file: String)] = [
        ("/login", "/login.html"),
        ("/projects/{id}/annotate", "/annotate.html"),
        ("/projects/{id}/arena", "/arena.html"),
        ("/projects/{id}/review", "/review.html"),
        ("/projects/{id}/items", "/items.html"),
        ("/invite/{token}", "/invite.html"),
        ("/reset/{token}", "/reset.html"),
        ("/s/{token}", "/study.html"),
        ("/s/{token}/done", "/study.html"),
        ("/admin", "/admin.html"),
        ("/admin/projects/{id}", "/project-admin.html"),
    ]

    static func register(on router: inout Router, files: StaticFiles) {
        for page in pages {
            router.inline(.GET, page.pattern) { request in
                guard let response = files.response(path: page.file, headers: request.headers) else {
                    throw HTTPError(.notFound, code: "not_found", message: "page missing")
                }
                return response
            }
        }
    }
}
