import COpenSSL

/// A server TLS configuration (OpenSSL `SSL_CTX`): a certificate chain and key
/// from PEM files, TLS 1.2 or newer only, renegotiation off.
public final class TLSContext: @unchecked Sendable {
    // @unchecked Sendable: the SSL_CTX is configured once in `init` and only read
    // afterwards (SSL_new), which OpenSSL allows from any thread.
    let context: OpaquePointer

    /// Loads `certificatePath` (PEM chain) and `keyPath` (PEM private key).
    public init(certificatePath: String, keyPath: String) throws(SocketError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw .invalidAddress("TLS: \(Self.lastError())") }
        self.context = context
        guard copenssl_ctx_set_min_tls12(context) == 1 else { throw .invalidAddress("TLS: cannot require TLS 1.2") }
        _ = copenssl_ctx_set_modes(context)
        _ = copenssl_ctx_set_options(context)
        guard SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1 else {
            throw .invalidAddress("TLS certificate \(certificatePath): \(Self.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1 else {
            throw .invalidAddress("TLS key \(keyPath): \(Self.lastError())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw .invalidAddress("TLS key \(keyPath) does not match the certificate")
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A new server-side session for an accepted socket.
    func session(fd: Int32) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        return ssl
    }

    static func lastError() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        copenssl_last_error(&buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? "unknown error" : text
    }
}
