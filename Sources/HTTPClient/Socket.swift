import CLinux
import COpenSSL
import Glibc

/// One outbound connection (non-blocking socket, waits by poll; TLS optional).
final class Socket {
    let fd: Int32
    var ssl: OpaquePointer?
    var context: OpaquePointer?
    /// Reused by every read (a streamed answer reads once per token).
    private var buffer = [UInt8](repeating: 0, count: 16 * 1024)

    init(fd: Int32) { self.fd = fd }

    static func connect(
        host: String, port: Int, timeout: Double, refusePrivate: Bool = false, describe origin: String
    ) throws(HTTPClientError) -> Socket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .unreachable("\(origin): cannot resolve the host (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var refused = 0
        var tried = 0
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        let deadline = now() + timeout
        while let address = candidate {
            candidate = address.pointee.ai_next
            tried += 1
            // Checked on the address connected to, not on the name: a name that
            // resolves to a private address (or is made to later) is refused too.
            if refusePrivate, PrivateAddress.contains(address.pointee.ai_addr) {
                refused += 1
                continue
            }
            let fd = socket(
                address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                address.pointee.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            let result = Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen)
            if result == 0 { return Socket(fd: fd) }
            guard errno == EINPROGRESS else {
                lastError = errno
                Glibc.close(fd)
                continue
            }
            let ready = wait(fd, events: Int16(POLLOUT), until: deadline)
            if ready <= 0 {
                Glibc.close(fd)
                if ready == 0 { throw .timedOut("\(origin): no connection within \(format(timeout)) s") }
                lastError = errno
                continue
            }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code == 0 {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return Socket(fd: fd)
            }
            lastError = code
            Glibc.close(fd)
        }
        if refused == tried {
            throw .refused("\(origin): the host resolves only to private, loopback or link-local addresses, which are refused here")
        }
        let reason = lastError == ECONNREFUSED ? "connection refused: is the endpoint running?" : String(cString: strerror(lastError))
        throw .unreachable("\(origin): \(reason)")
    }

    func startTLS(host: String, caFile: String?, timeout: Double, describe origin: String) throws(HTTPClientError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .tls("\(origin): cannot create a TLS context") }
        self.context = context
        _ = copenssl_ctx_set_min_tls12(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw .tls("\(origin): cannot read the CA file \(caFile)")
            }
        } else {
            SSL_CTX_set_default_verify_paths(context)
        }
        guard let ssl = SSL_new(context) else { throw .tls("\(origin): cannot create a TLS session") }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        // The name (or address) the certificate must be for.
        var address = in6_addr()
        let isIP = host.withCString { inet_pton(AF_INET, $0, &address) == 1 || inet_pton(AF_INET6, $0, &address) == 1 }
        if isIP {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = copenssl_set_sni(ssl, host)
            SSL_set1_host(ssl, host)
        }
        let deadline = Self.now() + timeout
        while true {
            let result = SSL_connect(ssl)
            if result == 1 { return }
            let error = SSL_get_error(ssl, result)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE {
                let ready = Self.wait(fd, events: Int16(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), until: deadline)
                if ready == 0 { throw .timedOut("\(origin): TLS handshake not finished within \(Self.format(timeout)) s") }
                if ready < 0 { throw .tls("\(origin): TLS handshake failed") }
                continue
            }
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                throw .tls("\(origin): the certificate did not verify (\(String(cString: X509_verify_cert_error_string(verify))))")
            }
            throw .tls("\(origin): TLS handshake failed (\(OpenSSLErrors.last()))")
        }
    }

    func write(_ bytes: [UInt8], timeout: Double, describe origin: String) throws(HTTPClientError) {
        var offset = 0
        let deadline = Self.now() + timeout
        while offset < bytes.count {
            let written: Int = bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + offset
                if let ssl { return Int(SSL_write(ssl, base, Int32(bytes.count - offset))) }
                return Glibc.send(fd, base, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                offset += written
                continue
            }
            let wantRead: Bool
            if let ssl {
                let error = SSL_get_error(ssl, Int32(written))
                guard error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ else {
                    throw .unreachable("\(origin): the connection broke while sending")
                }
                wantRead = error == SSL_ERROR_WANT_READ
            } else {
                guard errno == EAGAIN || errno == EINTR else {
                    throw .unreachable("\(origin): the connection broke while sending (\(String(cString: strerror(errno))))")
                }
                wantRead = false
            }
            if Self.wait(fd, events: Int16(wantRead ? POLLIN : POLLOUT), until: deadline) == 0 {
                throw .timedOut("\(origin): the request could not be sent within \(Self.format(timeout)) s")
            }
        }
    }

    /// What a read that must not wait found.
    enum Available {
        case bytes([UInt8])
        case wouldBlock
        case end
    }

    /// Reads what is there without waiting (for the stream loop).
    func readAvailable(describe origin: String) throws(HTTPClientError) -> Available {
        let count: Int = buffer.withUnsafeMutableBytes { raw in
            if let ssl { return Int(SSL_read(ssl, raw.baseAddress, Int32(raw.count))) }
            return Glibc.recv(fd, raw.baseAddress, raw.count, 0)
        }
        if count > 0 { return .bytes(Array(buffer.prefix(count))) }
        if let ssl {
            let error = SSL_get_error(ssl, Int32(count))
            if error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && count == 0) { return .end }
            guard error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE else {
                throw .unreachable("\(origin): the connection broke while reading")
            }
            return .wouldBlock
        }
        if count == 0 { return .end }
        guard errno == EAGAIN || errno == EINTR else {
            throw .unreachable("\(origin): the connection broke while reading (\(String(cString: strerror(errno))))")
        }
        return .wouldBlock
    }

    /// The next bytes, or nil at the end of the stream.
    func read(timeout: Double, describe origin: String) throws(HTTPClientError) -> [UInt8]? {
        while true {
            let count: Int = buffer.withUnsafeMutableBytes { raw in
                if let ssl { return Int(SSL_read(ssl, raw.baseAddress, Int32(raw.count))) }
                return Glibc.recv(fd, raw.baseAddress, raw.count, 0)
            }
            if count > 0 { return Array(buffer.prefix(count)) }
            var wantWrite = false
            if let ssl {
                let error = SSL_get_error(ssl, Int32(count))
                if error == SSL_ERROR_ZERO_RETURN { return nil }
                if error == SSL_ERROR_SYSCALL && count == 0 { return nil }
                guard error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE else {
                    throw .unreachable("\(origin): the connection broke while reading")
                }
                wantWrite = error == SSL_ERROR_WANT_WRITE
            } else {
                if count == 0 { return nil }
                guard errno == EAGAIN || errno == EINTR else {
                    throw .unreachable("\(origin): the connection broke while reading (\(String(cString: strerror(errno))))")
                }
            }
            if Self.wait(fd, events: Int16(wantWrite ? POLLOUT : POLLIN), until: Self.now() + timeout) == 0 {
                throw .timedOut("\(origin): no answer for \(Self.format(timeout)) s")
            }
        }
    }

    func close() {
        if let ssl { SSL_free(ssl) }
        if let context { SSL_CTX_free(context) }
        ssl = nil
        context = nil
        Glibc.close(fd)
    }

    /// poll() until `events` or the deadline: > 0 ready, 0 timed out, < 0 failed.
    static func wait(_ fd: Int32, events: Int16, until deadline: Double) -> Int32 {
        while true {
            let left = deadline - now()
            if left <= 0 { return 0 }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&entry, 1, Int32(min(left * 1000, 2_000_000_000)) + 1)
            if result < 0 && errno == EINTR { continue }
            return result
        }
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func format(_ seconds: Double) -> String { seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds) }
}

/// OpenSSL's most recent error on this thread, as text.
enum OpenSSLErrors {
    static func last() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        copenssl_last_error(&buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? "unknown error" : text
    }
}
