import Checkpoint
import Foundation

/// The Sigstore bundle (v0.3 JSON) that OpenSSF Model Signing writes around a DSSE envelope, with a
/// public-key hint instead of a certificate and no transparency-log entries. Both of ckptforget's
/// records use it, so tools that read one read the other.
public struct SigstoreBundle: Equatable, Sendable {
    public static let mediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

    public var envelope: DSSEEnvelope
    /// Hex SHA-256 of the signer's SPKI PEM ("" when unsigned).
    public var keyHint: String

    public init(envelope: DSSEEnvelope, keyHint: String) {
        self.envelope = envelope
        self.keyHint = keyHint
    }

    /// Exactly the fields `model_signing verify` accepts, in the order it writes them.
    public var json: JSONValue {
        .object([
            ("mediaType", .string(Self.mediaType)),
            ("verificationMaterial", .object([
                ("publicKey", .object([("hint", .string(keyHint))])),
                ("tlogEntries", .array([])),
            ])),
            ("dsseEnvelope", .object([
                ("payload", .string(Data(envelope.payload).base64EncodedString())),
                ("payloadType", .string(envelope.payloadType)),
                ("signatures", .array(envelope.signatures.map { .object([("sig", .string(Data($0.sig).base64EncodedString())), ("keyid", .string($0.keyid))]) })),
            ])),
        ])
    }

    /// Reads a bundle, checking its shape; `path` names the file in errors.
    public init(bytes: [UInt8], path: String) throws {
        func bad(_ reason: String) -> SigningError { .malformedRecord(path: path, reason: reason) }
        guard let json = try? JSONValue(parsing: bytes) else { throw bad("not JSON") }
        guard json["mediaType"]?.string == Self.mediaType else {
            throw bad("mediaType is not \(Self.mediaType)")
        }
        guard let envelope = json["dsseEnvelope"], let payloadText = envelope["payload"]?.string,
              let payload = Data(base64Encoded: payloadText), let payloadType = envelope["payloadType"]?.string,
              let signatures = envelope["signatures"]?.array
        else { throw bad("no dsseEnvelope with payload, payloadType and signatures") }
        var decoded: [DSSEEnvelope.Signature] = []
        for signature in signatures {
            guard let text = signature["sig"]?.string, let sig = Data(base64Encoded: text) else { throw bad("a signature is not base64") }
            decoded.append(.init(keyid: signature["keyid"]?.string ?? "", sig: [UInt8](sig)))
        }
        self.envelope = DSSEEnvelope(payload: [UInt8](payload), payloadType: payloadType, signatures: decoded)
        keyHint = json["verificationMaterial"]?["publicKey"]?["hint"]?.string ?? ""
    }
}

/// An in-toto Statement v1: subjects with their digests, a predicate type and the predicate.
public struct Statement: Sendable {
    public static let type = "https://in-toto.io/Statement/v1"

    public struct Subject: Equatable, Sendable {
        public let name: String
        public let sha256: String
    }

    public let subjects: [Subject]
    public let predicateType: String
    public let predicate: JSONValue

    public init(subjects: [Subject], predicateType: String, predicate: JSONValue) {
        self.subjects = subjects
        self.predicateType = predicateType
        self.predicate = predicate
    }

    public var json: JSONValue {
        .object([
            ("_type", .string(Self.type)),
            ("subject", .array(subjects.map { .object([("name", .string($0.name)), ("digest", .object([("sha256", .string($0.sha256))]))]) })),
            ("predicateType", .string(predicateType)),
            ("predicate", predicate),
        ])
    }

    public init(payload: [UInt8], path: String) throws {
        func bad(_ reason: String) -> SigningError { .malformedRecord(path: path, reason: reason) }
        guard let json = try? JSONValue(parsing: payload) else { throw bad("payload is not JSON") }
        guard json["_type"]?.string == Self.type else { throw bad("payload is not an in-toto Statement v1") }
        guard let subjects = json["subject"]?.array, let predicateType = json["predicateType"]?.string else {
            throw bad("statement has no subject or predicateType")
        }
        self.subjects = try subjects.map { subject in
            guard let name = subject["name"]?.string, let digest = subject["digest"]?["sha256"]?.string else {
                throw bad("a subject has no name or sha256 digest")
            }
            // Digests are compared and printed: hold them to what they claim (lower case, as files' digests are written).
            guard digest.utf8.count == 64, digest.utf8.allSatisfy({ (48...57).contains($0) || (65...70).contains($0) || (97...102).contains($0) }) else {
                throw bad("a subject's sha256 digest is not 64 hexadecimal digits")
            }
            return Subject(name: name, sha256: digest.lowercased())
        }
        self.predicateType = predicateType
        predicate = json["predicate"] ?? .null
    }
}
