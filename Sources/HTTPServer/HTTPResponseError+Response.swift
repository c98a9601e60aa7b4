extension HTTPResponseError {
    /// The JSON error response for this error.
    public var response: Response {
        var response = Response(status: status, headers: headers, body: .bytes(Array(Self.body(code: code, message: message).utf8)))
        response.headers["Content-Type"] = "application/json"
        return response
    }
}
