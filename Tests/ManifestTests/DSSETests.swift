import Checkpoint
import Foundation
import Testing
@testable import Manifest

@Suite struct DSSETests {
    /// The known answer from the DSSE specification (secure-systems-lab/dsse, protocol.md).
    @Test func preAuthenticationEncodingKnownAnswer() {
        let pae = DSSE.pae(type: "http://example.com/HelloWorld", body: Array("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
        // LEN counts bytes, not characters: "é" is two bytes.
        #expect(String(decoding: DSSE.pae(type: "t", body: Array("é".utf8)), as: UTF8.self) == "DSSEv1 1 t 2 é")
        #expect(String(decoding: DSSE.pae(type: "t", body: []), as: UTF8.self) == "DSSEv1 1 t 0 ")
    }

    @Test(arguments: KeyAlgorithm.allCases)
    func signAndVerifyRoundTrip(algorithm: KeyAlgorithm) throws {
        let key = try PrivateKey(generating: algorithm)
        #expect(key.algorithm == algorithm)
        let publicKey = try key.publicKey
        #expect(publicKey.algorithm == algorithm)
        var envelope = DSSEEnvelope(payload: Array(#"{"hello":"world"}"#.utf8))
        try envelope.sign(with: key)
        #expect(envelope.isSigned(by: publicKey))
        // Any change to the payload, the type or the signature breaks it.
        var tampered = envelope
        tampered = DSSEEnvelope(payload: Array(#"{"hello":"World"}"#.utf8), signatures: envelope.signatures)
        #expect(!tampered.isSigned(by: publicKey))
        #expect(!DSSEEnvelope(payload: envelope.payload, payloadType: "text/plain", signatures: envelope.signatures).isSigned(by: publicKey))
        var flipped = envelope.signatures[0].sig
        flipped[flipped.count / 2] ^= 0x01
        #expect(!DSSEEnvelope(payload: envelope.payload, signatures: [.init(keyid: "", sig: flipped)]).isSigned(by: publicKey))
        // Another key of the same type does not verify it.
        #expect(!envelope.isSigned(by: try PrivateKey(generating: algorithm).publicKey))
        // PEM round trip of the private key keeps the same public key.
        let reread = try PrivateKey(pem: Array(try key.pem.utf8), source: "test")
        #expect(try reread.publicKey.pem == publicKey.pem)
        #expect(try key.pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(publicKey.pem.hasPrefix("-----BEGIN PUBLIC KEY-----"))
    }

    @Test func ecdsaSignaturesAreDERAndEd25519Deterministic() throws {
        let ec = try PrivateKey(generating: .ecdsaP256)
        let sig = try ec.sign([1, 2, 3])
        #expect(sig.first == 0x30 && (70...72).contains(sig.count))  // DER SEQUENCE{r, s}
        let ed = try PrivateKey(generating: .ed25519)
        #expect(try ed.sign([1, 2, 3]) == ed.sign([1, 2, 3]))
        #expect(try ed.sign([1, 2, 3]).count == 64)
    }

    @Test func badKeysAreClearErrors() throws {
        #expect(throws: SigningError.self) { try PrivateKey(pem: Array("not a key".utf8), source: "k.pem") }
        #expect(throws: SigningError.self) { try PublicKey(pem: Array(try PrivateKey(generating: .ed25519).pem.utf8), source: "k.pem") }
        do {
            _ = try PublicKey(pemFile: "/nonexistent/key.pem")
            Issue.record("no error")
        } catch {
            #expect("\(error)".hasPrefix("/nonexistent/key.pem: cannot read"))
        }
    }

    @Test func sha256KnownAnswers() {
        #expect(SHA256.digest([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.digest(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect([UInt8](hex: "00ff10") == [0, 255, 16] && [UInt8](hex: "0g") == nil)
    }

    /// Files hashed a MiB at a time into one buffer: an empty file, one read short of a MiB, and
    /// three reads (2,500,000 bytes, the last read partial). Expected digests from Python's hashlib.
    @Test func sha256OfFilesAcrossReads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases = [(0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                     (1_000_000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
                     (2_500_000, "38a637965059125eeb67f54c30e7f48a61859a467a800ba09740ba48a924f2b9")]
        for (size, expected) in cases {
            let file = directory.appendingPathComponent("\(size)").path
            try Data(repeating: UInt8(ascii: "a"), count: size).write(to: URL(fileURLWithPath: file))
            #expect(try SHA256.digest(ofFile: file).hex == expected, "\(size) bytes")
        }
    }

    @Test func recordPathsAreRelativeEvenAcrossTheRoot() {
        #expect(RecordPaths.relative("/tmp/a/out.h5", to: "/tmp/a") == "out.h5")
        #expect(RecordPaths.relative("/tmp/b/out.h5", to: "/tmp/a") == "../b/out.h5")
        #expect(RecordPaths.relative("/var/tmp/out.h5", to: "/tmp/a") == "../../var/tmp/out.h5")
        #expect(RecordPaths.timestamp(environment: ["SOURCE_DATE_EPOCH": "0"]) == "1970-01-01T00:00:00Z")
        #expect(RecordPaths.timestamp(environment: ["SOURCE_DATE_EPOCH": "nan"]).hasPrefix("20"))  // ignored: the clock
    }

    @Test func jsonIsWrittenInAFixedOrder() {
        let value = JSONValue.object([("b", .integer(1)), ("a", .array([.string("x\"\n"), .number(0.5), .bool(true), .null]))])
        #expect(value.compact == #"{"b":1,"a":["x\"\n",0.5,true,null]}"#)
        #expect(value.pretty == "{\n  \"b\": 1,\n  \"a\": [\n    \"x\\\"\\n\",\n    0.5,\n    true,\n    null\n  ]\n}\n")
    }

    /// Path-component order: "a/x" before "a-c" and "a.b" (plain string order puts "-" and "." before "/").
    @Test func modelSigningSortsByPathComponents() {
        #expect(["a.b", "a-c", "a/x", "b", ".hidden"].sorted(by: ModelSigning.componentOrder) == [".hidden", "a/x", "a-c", "a.b", "b"])
    }
}
