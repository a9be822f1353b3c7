/// Dead Simple Signing Envelope (secure-systems-lab/dsse v1): the pre-authentication encoding that
/// is signed, and the envelope that carries the payload and its signatures.
public enum DSSE {
    public static let inTotoPayloadType = "application/vnd.in-toto+json"

    /// PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in decimal bytes.
    public static func pae(type: String, body: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return Array("DSSEv1 \(typeBytes.count) ".utf8) + typeBytes + Array(" \(body.count) ".utf8) + body
    }
}

/// A DSSE envelope: the payload bytes, their type, and signatures over their PAE.
public struct DSSEEnvelope: Equatable, Sendable {
    public struct Signature: Equatable, Sendable {
        public let keyid: String
        public let sig: [UInt8]
    }

    public let payload: [UInt8]
    public let payloadType: String
    public var signatures: [Signature]

    public init(payload: [UInt8], payloadType: String = DSSE.inTotoPayloadType, signatures: [Signature] = []) {
        self.payload = payload
        self.payloadType = payloadType
        self.signatures = signatures
    }

    /// Signs the payload's PAE with `key` and appends the signature (keyid "", as OpenSSF Model
    /// Signing writes it).
    public mutating func sign(with key: PrivateKey) throws {
        signatures.append(Signature(keyid: "", sig: try key.sign(DSSE.pae(type: payloadType, body: payload))))
    }

    /// Whether some signature verifies with `key`.
    public func isSigned(by key: PublicKey) -> Bool {
        let message = DSSE.pae(type: payloadType, body: payload)
        return signatures.contains { key.verify(signature: $0.sig, message: message) }
    }
}
