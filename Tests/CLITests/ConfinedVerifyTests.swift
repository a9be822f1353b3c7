import Foundation
import Testing

/// `verify` and `audit` against records that lie about their files: signatures are checked before
/// any named file is opened, names stay inside the record's directory, a record's name binds it to
/// its model, and a forgetting attestation's model signature must be there.
@Suite struct ConfinedVerifyTests {
    static let signing = SignedRecordsTests.signing

    /// A forgetting attestation (a Sigstore bundle around a DSSE envelope) whose payload is
    /// `statement`, signed by the openssl CLI with the Ed25519 test key: made without ckptforget.
    static func handMadeRecord(subjects: [(name: String, sha256: String)], signature: String? = nil, at path: String) throws {
        let statement: [String: Any] = [
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subjects.map { ["name": $0.name, "digest": ["sha256": $0.sha256]] },
            "predicateType": "https://ckptforget.dev/attestation/forgetting/v1",
            "predicate": ["model_signing": ["root_digest": "", "signature": signature as Any? ?? NSNull()]],
        ]
        let payload = try JSONSerialization.data(withJSONObject: statement)
        let type = "application/vnd.in-toto+json"
        let pae = Data("DSSEv1 \(type.utf8.count) \(type) \(payload.count) ".utf8) + payload
        try pae.write(to: URL(fileURLWithPath: path + ".pae"))
        let signed = try Run.run("openssl", ["pkeyutl", "-sign", "-inkey", signing + "/ed25519.pem", "-rawin", "-in", path + ".pae", "-out", path + ".sigbytes"])
        #expect(signed.status == 0, "\(signed.stderr)")
        let sig = try Data(contentsOf: URL(fileURLWithPath: path + ".sigbytes"))
        try FileManager.default.removeItem(atPath: path + ".pae")
        try FileManager.default.removeItem(atPath: path + ".sigbytes")
        let bundle: [String: Any] = [
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": ["publicKey": ["hint": ""], "tlogEntries": [Any]()],
            "dsseEnvelope": ["payload": payload.base64EncodedString(), "payloadType": type,
                             "signatures": [["sig": sig.base64EncodedString(), "keyid": ""]]],
        ]
        try JSONSerialization.data(withJSONObject: bundle).write(to: URL(fileURLWithPath: path))
    }

    static func sha256(_ path: String) throws -> String {
        String(try Run.run("openssl", ["dgst", "-sha256", "-r", path]).stdout.prefix(64))
    }

    /// A subject `../outside.bin` with the right digest, and one naming a directory: refused by
    /// name and by kind, named in the output, exit 3 from verify and audit. (Were the checks
    /// removed, the first would verify and the test fail; nothing here can block.)
    @Test func hostileSubjectsAreRefusedNotHashed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let records = scratch.file("records")
        try FileManager.default.createDirectory(atPath: records + "/shards", withIntermediateDirectories: true)
        let outside = try scratch.write(Array("outside\n".utf8), to: "outside.bin")
        let record = records + "/outside.bin.manifest.json"
        try Self.handMadeRecord(subjects: [("../outside.bin", try Self.sha256(outside)), ("shards", try Self.sha256(outside))], at: record)
        let pub = Self.signing + "/ed25519.pub.pem"

        let run = try Run.ckptforget("verify", record, "--key", pub)
        #expect(run.status == 3, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("FAILED: subject \"../outside.bin\" refused, not opened: it has a \"..\" component"), "\(run.stdout)")
        #expect(run.stdout.contains("FAILED: subject \"shards\" refused, not opened: it is a directory"), "\(run.stdout)")
        #expect(run.stdout.contains("REFUSED"), "\(run.stdout)")
        let untrusted = try Run.ckptforget("verify", record, "--key", Self.signing + "/p256.pub.pem", "--json")
        #expect(untrusted.status == 3 && untrusted.stdout.contains("\"files_checked\": false"), "\(untrusted.stdout)")

        let audit = try Run.ckptforget("audit", records, "--key", pub)
        #expect(audit.status == 3 && audit.stdout.contains("subject \"../outside.bin\" refused"), "\(audit.stdout)")
    }

    /// `verify X.manifest.json` checks the `.sig` it names: removed, verify fails (as audit does).
    @Test func verifyNeedsTheModelSignatureTheAttestationNames() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let out = scratch.file("out.h5")
        #expect(try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "-p", "zero", "-c", "2", "-q", "-o", out,
                                   "--sign-key", Self.signing + "/p256.pem").status == 0)
        let pub = Self.signing + "/p256.pub.pem"
        let whole = try Run.ckptforget("verify", out + ".manifest.json", "--key", pub)
        #expect(whole.status == 0 && whole.stdout.contains("model signature: \(out).sig"), "\(whole.stdout)")
        try FileManager.default.removeItem(atPath: out + ".sig")
        let run = try Run.ckptforget("verify", out + ".manifest.json", "--key", pub)
        #expect(run.status == 3 && run.stdout.contains("FAILED: \(out).sig: missing"), "\(run.stdout)")
        let audit = try Run.ckptforget("audit", scratch.path, "--key", pub)
        #expect(audit.status == 3 && audit.stdout.contains("\(out).sig: missing"), "\(audit.stdout)")
    }

    /// Two models' records swapped: each is a valid record of the other model, and each fails.
    @Test func swappedRecordsDoNotVerify() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (a, b) = (scratch.file("a.h5"), scratch.file("b.h5"))
        for (model, target) in [(a, "2"), (b, "3")] {
            #expect(try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "-p", "zero", "-c", target, "-q", "-o", model,
                                       "--sign-key", Self.signing + "/p256.pem").status == 0)
        }
        for suffix in [".manifest.json", ".sig"] {
            try FileManager.default.moveItem(atPath: a + suffix, toPath: scratch.file("swap"))
            try FileManager.default.moveItem(atPath: b + suffix, toPath: a + suffix)
            try FileManager.default.moveItem(atPath: scratch.file("swap"), toPath: b + suffix)
        }
        let pub = Self.signing + "/p256.pub.pem"
        let record = try Run.ckptforget("verify", a + ".manifest.json", "--key", pub)
        #expect(record.status == 3 && record.stdout.contains("attests \"b.h5\", not the model \"a.h5\""), "\(record.stdout)")
        let signature = try Run.ckptforget("verify", a + ".sig", "--key", pub)
        #expect(signature.status == 3 && signature.stdout.contains("signs the model \"b.h5\", not \"a.h5\""), "\(signature.stdout)")
        let audit = try Run.ckptforget("audit", scratch.path, "--key", pub)
        #expect(audit.status == 3 && audit.stdout.contains("attests \"a.h5\", not the model \"b.h5\""), "\(audit.stdout)")
    }

    /// --manifest may put the attestation only where verify will accept it: in the output's
    /// directory or above it, under a name that does not claim another model.
    @Test func manifestPathsThatCouldNotVerifyAreRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.file("sub/deeper"), withIntermediateDirectories: true)
        let key = Self.signing + "/p256.pem"
        let pub = Self.signing + "/p256.pub.pem"
        func forget(_ output: String, manifest: String) throws -> Run {
            try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "-p", "zero", "-c", "2", "-q", "-o", output, "--sign-key", key, "--manifest", manifest)
        }
        // Below the output's directory (its names would climb out), another model's record name, and
        // the output's record name in a directory above it (it would name sub/out.h5, not out.h5).
        for manifest in [scratch.file("sub/deeper/out.json"), scratch.file("sub/other.manifest.json"), scratch.file("out.h5.manifest.json")] {
            let output = scratch.file("sub/out.h5")
            let run = try forget(output, manifest: manifest)
            #expect(run.status == 2 && run.stderr.contains("--manifest"), "\(manifest): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
        // Beside the output, or above it, under a name of its own: written, and it verifies.
        let beside = try forget(scratch.file("sub/a.h5"), manifest: scratch.file("sub/run-a.json"))
        #expect(beside.status == 0, "\(beside.stderr)")
        #expect(try Run.ckptforget("verify", scratch.file("sub/run-a.json"), "--key", pub).status == 0)
        let above = try forget(scratch.file("sub/b.h5"), manifest: scratch.file("run-b.json"))
        #expect(above.status == 0, "\(above.stderr)")
        let verified = try Run.ckptforget("verify", scratch.file("run-b.json"), "--key", pub)
        #expect(verified.status == 0 && verified.stdout.contains("model signature: \(scratch.path)/sub/b.h5.sig"), "\(verified.stdout)")
    }
}
