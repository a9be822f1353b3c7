import Checkpoint
import Foundation
import Testing
@testable import Manifest

/// Records made by tools nobody here wrote (Fixtures/signing, made by model_signing 1.1.1, Python
/// `cryptography` and the openssl CLI) verified by ckptforget's code.
@Suite struct IndependentRecordsTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/signing").path

    static func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    static func key(_ name: String) throws -> [TrustedKey] {
        [TrustedKey(name: name, key: try PublicKey(pemFile: path(name)))]
    }

    @Test func paeMatchesPythonVectors() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path("pae_vectors.json")))
        let vectors = try #require(try JSONValue(parsing: [UInt8](data)).array)
        #expect(vectors.count == 3)
        for vector in vectors {
            let body = [UInt8](Data(base64Encoded: vector["body_b64"]!.string!)!)
            let expected = [UInt8](Data(base64Encoded: vector["pae_b64"]!.string!)!)
            #expect(DSSE.pae(type: vector["type"]!.string!, body: body) == expected)
        }
    }

    @Test func modelSigningDirectorySignatureVerifies() throws {
        let check = try RecordVerifier.check(Self.path("model.sig"), keys: Self.key("p256.pub.pem"))
        #expect(check.holds, "\(check.problems)")
        #expect(check.kind == .modelSigning)
        // model_signing's own order: dotfile first, then by path components.
        #expect(check.files.map(\.name) == [".hidden", "a/x", "a-c", "a.b", "weights.bin"])
        #expect(check.statement.subjects.first?.sha256.hasPrefix("dc4cf29f") == true)
    }

    @Test(arguments: [("single.bin.sig", "p256.pub.pem"), ("single.bin.p384.sig", "p384.pub.pem")])
    func modelSigningFileSignatureVerifies(signature: String, key: String) throws {
        let check = try RecordVerifier.check(Self.path(signature), keys: Self.key(key), files: Self.path("single.bin"))
        #expect(check.holds, "\(check.problems)")
        #expect(check.files.map(\.name) == ["."])
    }

    @Test func aWrongKeyIsAnUnknownSigner() throws {
        let check = try RecordVerifier.check(Self.path("model.sig"), keys: Self.key("other_p256.pub.pem"))
        #expect(!check.holds && check.signer == nil)
        #expect(check.problems.contains { $0.hasPrefix("unknown signer") })
    }

    @Test(arguments: ["dsse_ed25519.json", "dsse_p256.json"])
    func pythonCryptographyEnvelopesVerify(file: String) throws {
        let key = file.contains("ed25519") ? "ed25519.pub.pem" : "p256.pub.pem"
        let check = try RecordVerifier.check(Self.path(file), keys: Self.key(key))
        #expect(check.holds, "\(check.problems)")
        #expect(check.kind == .other("https://example.com/test/v1"))
        #expect(check.files.map(\.name) == ["single.bin"])
    }

    /// openssl's SEC1 key with its EC PARAMETERS block loads and signs like a PKCS#8 one.
    @Test func ecparamKeysLoad() throws {
        let key = try PrivateKey(pemFile: Self.path("p256_ecparam.pem"))
        #expect(key.algorithm == .ecdsaP256)
        #expect(try key.publicKey.pem == PublicKey(pemFile: Self.path("p256_ecparam.pub.pem")).pem)
        // The OMS key hint is the SHA-256 of the SPKI PEM text, as model_signing computes it.
        let bundle = try SigstoreBundle(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.path("model.sig")))), path: "model.sig")
        #expect(bundle.keyHint == (try PublicKey(pemFile: Self.path("p256.pub.pem")).hint))
    }
}
