import COpenSSL
public import JSON

/// An RSA signing key from an identity provider's JWKS (RFC 7517), the kind
/// RS256 ID tokens are signed with.
public struct JSONWebKey: Sendable, Equatable {
    public var id: String?
    public var modulus: [UInt8]
    public var exponent: [UInt8]

    /// The RSA signature keys of a JWKS document (`{"keys":[…]}`); others are skipped.
    public static func set(_ document: JSONValue) -> [JSONWebKey] {
        (document["keys"]?.arrayValue ?? []).compactMap { key in
            guard key["kty"]?.stringValue == "RSA", key["use"]?.stringValue ?? "sig" == "sig",
                key["alg"]?.stringValue ?? "RS256" == "RS256",
                let n = key["n"]?.stringValue.flatMap(Base64URL.decode), let e = key["e"]?.stringValue.flatMap(Base64URL.decode)
            else { return nil }
            return JSONWebKey(id: key["kid"]?.stringValue, modulus: n, exponent: e)
        }
    }
}

/// Checks an OpenID Connect ID token as OpenID Connect Core 1.0 §3.1.3.7 says:
/// the signature (RS256 only, by a key of the provider's JWKS), the issuer, the
/// audience (and `azp`), the expiry and issue time, and the nonce of this sign-in.
public enum IDToken {
    /// Why a token was refused (said in the sign-in error; never the token).
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed, algorithm(String), unknownKey, signature, issuer, audience, expired, issuedInTheFuture, nonce

        public var description: String {
            switch self {
            case .malformed: "the ID token is not a signed JWT"
            case .algorithm(let name): "the ID token is signed with \(name), not RS256"
            case .unknownKey: "the ID token's key is not in the provider's JWKS"
            case .signature: "the ID token's signature does not verify"
            case .issuer: "the ID token comes from another issuer"
            case .audience: "the ID token is for another client"
            case .expired: "the ID token has expired"
            case .issuedInTheFuture: "the ID token is issued in the future"
            case .nonce: "the ID token's nonce is not this sign-in's"
            }
        }
    }

    /// Seconds of clock difference tolerated.
    static let leeway: Int64 = 60

    /// The token's claims, if every check passes; `now` in Unix seconds.
    public static func verify(
        _ token: String, keys: [JSONWebKey], issuer: String, clientID: String, nonce: String, now: Int64
    ) throws(Failure) -> JSONObject {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(String(parts[0])), let payloadBytes = Base64URL.decode(String(parts[1])),
            let signature = Base64URL.decode(String(parts[2])), let header = try? JSONValue.parse(headerBytes),
            case .object(let claims)? = try? JSONValue.parse(payloadBytes)
        else { throw .malformed }
        // > 6. … The alg value SHOULD be the default of RS256 …
        guard let algorithm = header["alg"]?.stringValue else { throw .malformed }
        guard algorithm == "RS256" else { throw .algorithm(algorithm) }
        let kid = header["kid"]?.stringValue
        let candidates = kid.map { id in keys.filter { $0.id == id } } ?? keys
        guard !candidates.isEmpty else { throw .unknownKey }
        let signed = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard candidates.contains(where: { verifies(signature, over: signed, key: $0) }) else { throw .signature }
        // > 2. The Issuer Identifier for the OpenID Provider … MUST exactly match the value of the iss (issuer) Claim.
        guard claims["iss"]?.stringValue == issuer else { throw .issuer }
        // > 3. The Client MUST validate that the aud (audience) Claim contains its client_id value …
        let audiences: [String] =
            switch claims["aud"] {
            case .string(let one)?: [one]
            case .array(let many)?: many.compactMap(\.stringValue)
            default: []
            }
        guard audiences.contains(clientID) else { throw .audience }
        // > 5. If an azp (authorized party) Claim is present, the Client SHOULD verify that its client_id is the Claim Value.
        if let party = claims["azp"]?.stringValue, party != clientID { throw .audience }
        // > 9. The current time MUST be before the time represented by the exp Claim …
        guard let expiry = claims["exp"]?.intValue else { throw .malformed }
        guard now < expiry + leeway else { throw .expired }
        if let issued = claims["iat"]?.intValue, issued > now + leeway { throw .issuedInTheFuture }
        // > 11. If a nonce value was sent in the Authentication Request, a nonce Claim MUST be present and its value checked …
        guard let sent = claims["nonce"]?.stringValue, constantTimeEqual(sent, nonce) else { throw .nonce }
        guard claims["sub"]?.stringValue?.isEmpty == false else { throw .malformed }
        return claims
    }

    static func verifies(_ signature: [UInt8], over data: [UInt8], key: JSONWebKey) -> Bool {
        copenssl_rs256_verify(
            key.modulus, key.modulus.count, key.exponent, key.exponent.count, data, data.count, signature, signature.count) == 1
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
