@testable import Arbiter
import COpenSSL
import HTTPServer
import JSON
import Logging
import Storage
import Synchronization
import Testing
import TestSupport

/// A small OpenID Connect provider for the tests, on 127.0.0.1 and port 0:
/// discovery, JWKS, an authorization endpoint that approves at once (as the
/// person `claims` describe) and a token endpoint that checks the client's
/// secret, the redirect URI and the PKCE verifier, then signs an RS256 ID token.
/// `tamper` changes the claims or the key before signing (forgeries).
final class TestIdentityProvider: Sendable {
    let server: Server
    let clientID = "arbiter-test"
    let clientSecret = "provider-secret-\(UInt32.random(in: 0...UInt32.max))"
    private let key: RSAKey
    private let shared: Shared

    final class Shared: Sendable {
        let state = Mutex(State())
    }

    struct State {
        var claims: JSONObject = [:]
        var forgeWithOtherKey = false
        var tamper: @Sendable (inout JSONObject) -> Void = { _ in }
        /// code → (redirect URI, PKCE challenge, nonce)
        var codes: [String: (redirect: String, challenge: String, nonce: String)] = [:]
        var tokenRequests = 0
    }

    /// An RSA key pair from OpenSSL.
    final class RSAKey: @unchecked Sendable {
        // @unchecked Sendable: the EVP_PKEY is created once and only read (signing does not change it).
        let pointer: OpaquePointer
        init(bits: UInt32 = 2048) { pointer = copenssl_rsa_generate(bits)! }
        deinit { EVP_PKEY_free(pointer) }

        func component(_ name: String) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 1024)
            let length = copenssl_rsa_component(pointer, name, &out, out.count)
            return Array(out.prefix(Int(length)))
        }

        func sign(_ data: [UInt8]) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 1024)
            let length = copenssl_rs256_sign(pointer, data, data.count, &out, out.count)
            return Array(out.prefix(Int(length)))
        }
    }

    var issuer: String { "http://127.0.0.1:\(server.port)" }

    init() throws {
        let key = RSAKey()
        let other = RSAKey()
        self.key = key
        let shared = Shared()
        self.shared = shared
        var router = Router()
        let (clientID, clientSecret) = (clientID, clientSecret)
        let issuerBox = Mutex("")
        router.get("/.well-known/openid-configuration") { _ in
            let issuer = issuerBox.withLock { $0 }
            return .json([
                "issuer": .string(issuer), "authorization_endpoint": .string(issuer + "/authorize"),
                "token_endpoint": .string(issuer + "/token"), "jwks_uri": .string(issuer + "/jwks"),
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
            ])
        }
        router.get("/jwks") { _ in
            .json([
                "keys": [
                    [
                        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1", "n": .string(Base64URL.encode(key.component("n"))),
                        "e": .string(Base64URL.encode(key.component("e"))),
                    ]
                ]
            ])
        }
        router.get("/authorize") { request in
            let query = request.queryItems
            guard query["client_id"] == clientID, query["response_type"] == "code", query["code_challenge_method"] == "S256",
                let redirect = query["redirect_uri"], let challenge = query["code_challenge"], let nonce = query["nonce"],
                let sent = query["state"]
            else { return Response(status: .badRequest) }
            let code = Base64URL.encode(Digest.randomBytes(16))
            shared.state.withLock { $0.codes[code] = (redirect, challenge, nonce) }
            var response = Response(status: .found)
            response.headers.add("Location", "\(redirect)?code=\(code)&state=\(FormEncoding.escape(sent))")
            return response
        }
        router.post("/token") { request in
            var form: [String: String] = [:]
            for part in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
                let pair = part.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncodingForTest }
                if pair.count == 2 { form[pair[0]] = pair[1] }
            }
            let basic = "Basic " + Base64.encode(Array("\(clientID):\(clientSecret)".utf8))
            let bad = Response(status: .badRequest, contentType: "application/json", body: Array(#"{"error":"invalid_grant"}"#.utf8))
            guard request.headers["authorization"] == basic else {
                return Response(status: .unauthorized, contentType: "application/json", body: Array(#"{"error":"invalid_client"}"#.utf8))
            }
            guard let code = form["code"], let verifier = form["code_verifier"],
                let grant = shared.state.withLock({ $0.codes.removeValue(forKey: code) }), form["redirect_uri"] == grant.redirect,
                Base64URL.encode(Digest.sha256(verifier)) == grant.challenge
            else { return bad }
            let issuer = issuerBox.withLock { $0 }
            let (token, _) = shared.state.withLock { state -> (String, Int) in
                state.tokenRequests += 1
                let now = Int64(Clock.nowMilliseconds() / 1000)
                var claims = state.claims
                claims["iss"] = .string(issuer)
                claims["aud"] = .string(clientID)
                claims["iat"] = .int(now)
                claims["exp"] = .int(now + 300)
                claims["nonce"] = .string(grant.nonce)
                state.tamper(&claims)
                let header = Base64URL.encode(Array(#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#.utf8))
                let payload = Base64URL.encode(JSONValue.object(claims).serialized())
                let signed = Array("\(header).\(payload)".utf8)
                let signature = (state.forgeWithOtherKey ? other : key).sign(signed)
                return ("\(header).\(payload).\(Base64URL.encode(signature))", 0)
            }
            return .json(["id_token": .string(token), "access_token": "opaque", "token_type": "Bearer", "expires_in": 300])
        }
        var configuration = Server.Configuration()
        configuration.port = 0
        configuration.eventLoops = 1
        configuration.accessLog = false
        var logger = Logger(label: "idp")
        logger.logLevel = .critical
        server = Server(configuration: configuration, router: router, logger: logger)
        _ = try server.start()
        issuerBox.withLock { $0 = "http://127.0.0.1:\(server.port)" }
    }

    /// Who signs in next, and how their token is spoiled (if at all).
    func next(_ claims: JSONObject, otherKey: Bool = false, tamper: @escaping @Sendable (inout JSONObject) -> Void = { _ in }) {
        shared.state.withLock {
            $0.claims = claims
            $0.forgeWithOtherKey = otherKey
            $0.tamper = tamper
        }
    }

    func stop() async { await server.shutdown() }
}

extension String {
    /// `+` as space and `%XX` decoded (form bodies in the test provider).
    var removingPercentEncodingForTest: String {
        let all = Array(utf8)
        var bytes: [UInt8] = []
        var i = 0
        while i < all.count {
            if all[i] == UInt8(ascii: "%"), i + 2 < all.count,
                let value = UInt8(String(decoding: all[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                i += 3
            } else {
                bytes.append(all[i] == UInt8(ascii: "+") ? 0x20 : all[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
