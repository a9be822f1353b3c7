import Foundation
import Testing

/// Signed records end to end: keygen, a signed run, verify, tampering of every kind, lineage, audit.
@Suite struct SignedRecordsTests {
    static let signing = Run.repository.appendingPathComponent("Fixtures/signing").path

    private func key(_ name: String) -> String { "\(Self.signing)/\(name)" }

    private func read(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Rewrites a record's JSON through `change`.
    private func edit(_ path: String, _ change: (inout [String: Any]) -> Void) throws {
        var object = try #require(try JSONSerialization.jsonObject(with: read(path)) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    @Test func keygenWritesAPrivateKeyOnlyTheOwnerCanRead() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget("keygen", "-o", scratch.file("signer.pem"))
        #expect(run.status == 0, "\(run.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: scratch.file("signer.pem"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try String(decoding: read(scratch.file("signer.pem")), as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(try String(decoding: read(scratch.file("signer.pub.pem")), as: UTF8.self).hasPrefix("-----BEGIN PUBLIC KEY-----"))
        // openssl reads both and agrees they are one key pair.
        let derived = try Run.run("openssl", ["pkey", "-in", scratch.file("signer.pem"), "-pubout"])
        #expect(derived.stdout == String(decoding: try read(scratch.file("signer.pub.pem")), as: UTF8.self))
        #expect(try Run.ckptforget("keygen", "-o", scratch.file("signer.pem")).status == 2)  // never overwrites
        for type in ["p384", "p521", "ed25519"] {
            #expect(try Run.ckptforget("keygen", "--type", type, "-o", scratch.file("\(type).pem")).status == 0)
        }
        #expect(try Run.ckptforget("keygen", "--type", "rsa", "-o", scratch.file("x.pem")).status == 2)
    }

    @Test(arguments: ["p256.pem", "p384.pem", "p521.pem", "ed25519.pem"])
    func signedRunVerifies(signer: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "-p", "dampen:0.01", "-c", "2", "-q", "-o", scratch.file("out.h5"),
                                     "--sign-key", key(signer))
        #expect(run.status == 0, "\(run.stderr)")
        let ecdsa = signer != "ed25519.pem"
        #expect(scratch.contents == (ecdsa ? ["out.h5", "out.h5.manifest.json", "out.h5.sig"] : ["out.h5", "out.h5.manifest.json"]))
        #expect(ecdsa || run.stderr.contains("OpenSSF Model Signing needs an ECDSA key"))
        let publicKey = key(signer.replacingOccurrences(of: ".pem", with: ".pub.pem"))
        let attestation = try Run.ckptforget("verify", scratch.file("out.h5.manifest.json"), "--key", publicKey)
        #expect(attestation.status == 0, "\(attestation.stdout)")
        #expect(attestation.stdout.contains("verified: 1 file match"))
        if ecdsa {
            let signature = try Run.ckptforget("verify", scratch.file("out.h5.sig"), "--key", publicKey, "--json")
            #expect(signature.status == 0, "\(signature.stdout)")
        }
    }

    @Test func everyKindOfTamperingIsCaughtAndNamed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (out, record, signature) = (scratch.file("out.h5"), scratch.file("out.h5.manifest.json"), scratch.file("out.h5.sig"))
        #expect(try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "-p", "zero", "-c", "2", "-q", "-o", out, "--sign-key", key("p256.pem")).status == 0)
        let pub = key("p256.pub.pem")
        func verify(_ file: String, _ extra: String...) throws -> Run { try Run.run(Run.binary, ["verify", file, "--key", pub] + extra) }
        let pristine = (try read(out), try read(record), try read(signature))
        func restore() throws {
            try pristine.0.write(to: URL(fileURLWithPath: out))
            try pristine.1.write(to: URL(fileURLWithPath: record))
            try pristine.2.write(to: URL(fileURLWithPath: signature))
        }

        // A flipped byte in the output: both records name the file and both digests.
        var bytes = [UInt8](pristine.0)
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: out))
        for file in [record, signature] {
            let run = try verify(file)
            #expect(run.status == 3 && run.stdout.contains("FAILED: \(out): changed"), "\(run.stdout)")
        }
        try restore()

        // A changed payload (the statement) breaks the signature: one byte flipped, wherever it falls.
        try edit(record) { bundle in
            var envelope = bundle["dsseEnvelope"] as! [String: Any]
            var payload = [UInt8](Data(base64Encoded: envelope["payload"] as! String)!)
            payload[payload.count - 20] ^= 0x01
            envelope["payload"] = Data(payload).base64EncodedString()
            bundle["dsseEnvelope"] = envelope
        }
        var run = try verify(record)
        #expect(run.status == 3 && run.stdout.contains("bad signature"), "\(run.stdout)")
        try restore()

        // A flipped bit in the signature.
        try edit(signature) { bundle in
            var envelope = bundle["dsseEnvelope"] as! [String: Any]
            var signatures = envelope["signatures"] as! [[String: Any]]
            var sig = [UInt8](Data(base64Encoded: signatures[0]["sig"] as! String)!)
            sig[10] ^= 0x01
            signatures[0]["sig"] = Data(sig).base64EncodedString()
            envelope["signatures"] = signatures
            bundle["dsseEnvelope"] = envelope
        }
        run = try verify(signature)
        #expect(run.status == 3 && run.stdout.contains("bad signature"), "\(run.stdout)")
        try restore()

        // The wrong key.
        run = try Run.ckptforget("verify", record, "--key", key("other_p256.pub.pem"))
        #expect(run.status == 3 && run.stdout.contains("unknown signer"), "\(run.stdout)")

        // A removed signature: unsigned fails unless allowed.
        try edit(record) { bundle in
            var envelope = bundle["dsseEnvelope"] as! [String: Any]
            envelope["signatures"] = [[String: Any]]()
            bundle["dsseEnvelope"] = envelope
        }
        run = try verify(record)
        #expect(run.status == 3 && run.stdout.contains("unsigned"), "\(run.stdout)")
        #expect(try verify(record, "--allow-unsigned").status == 0)
        try restore()

        // An extra file in a signed model directory.
        let model = try Scratch()
        defer { model.remove() }
        let shards = model.path + "/sharded"
        try FileManager.default.createDirectory(atPath: shards, withIntermediateDirectories: true)
        #expect(try Run.ckptforget(Run.fixture("safetensors/sharded"), "-p", "zero", "-c", "1", "-q", "-o", shards + "/", "--sign-key", key("p256.pem")).status == 0)
        #expect(try Run.ckptforget("verify", shards + ".sig", "--key", pub).status == 0)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: shards + "/notes.txt"))
        run = try Run.ckptforget("verify", shards + ".sig", "--key", pub)
        #expect(run.status == 3 && run.stdout.contains("\(shards)/notes.txt: not covered by the signature"), "\(run.stdout)")
    }

    @Test func sourceDateEpochMakesPayloadsReproducible() throws {
        let (first, second) = (try Scratch(), try Scratch())
        defer { first.remove(); second.remove() }
        for scratch in [first, second] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Run.binary)
            process.arguments = [Run.fixture("safetensors/mlp.safetensors"), "-p", "randomize:seed=4", "-c", "3", "-q",
                                 "-o", scratch.file("out.safetensors"), "--sign-key", key("ed25519.pem")]
            process.environment = ["SOURCE_DATE_EPOCH": "1700000000"]
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        // Ed25519 signatures are deterministic too, so the whole record is byte-identical.
        let same = try read(first.file("out.safetensors.manifest.json")) == read(second.file("out.safetensors.manifest.json"))
        #expect(same)
        let shown = try Run.ckptforget("show", first.file("out.safetensors.manifest.json"), "--json")
        #expect(shown.stdout.contains("\"time\": \"2023-11-14T22:13:20Z\""))
        // The digests hashed while the bytes streamed past agree with the files (openssl's own hash).
        let inputDigest = try Run.run("openssl", ["dgst", "-sha256", "-r", Run.fixture("safetensors/mlp.safetensors")]).stdout.prefix(64)
        #expect(shown.stdout.contains("\"sha256\": \"\(inputDigest)\""))
        #expect(try Run.ckptforget("verify", first.file("out.safetensors.manifest.json"), "--key", key("ed25519.pub.pem")).status == 0)
    }

    @Test func attestationRecordsEqualDiff() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (post, pre) = (Run.fixture("snapshots/mlp_post.safetensors"), Run.fixture("snapshots/mlp_pre.safetensors"))
        #expect(try Run.ckptforget(post, "--pre", pre, "-p", "negate:0.5", "-q", "-o", scratch.file("out.safetensors")).status == 0)
        let shown = try Run.ckptforget("show", scratch.file("out.safetensors.manifest.json"), "--json")
        let statement = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let predicate = try #require(statement["predicate"] as? [String: Any])
        let records = try #require(((predicate["passes"] as? [[String: Any]])?.first?["tensors"]) as? [[String: Any]])
        let inputs = try #require(predicate["inputs"] as? [[String: Any]])
        #expect(inputs.map { $0["role"] as? String } == ["checkpoint", "pre"])
        let diff = try Run.ckptforget("diff", post, scratch.file("out.safetensors"), "--json")
        let tensors = try #require((try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any])?["tensors"] as? [[String: Any]])
        #expect(records.count == 4)
        for record in records {
            let match = try #require(tensors.first { $0["tensor"] as? String == record["tensor"] as? String })
            for key in ["elements_changed", "l2", "max_abs"] {
                #expect((record[key] as? NSNumber)?.doubleValue == (match[key] as? NSNumber)?.doubleValue, "\(key)")
            }
        }
    }

    /// Three runs in a chain; audit shows it; replacing the middle file is caught and named.
    @Test func auditFollowsLineageAndCatchesAReplacedFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let signer = key("p256.pem")
        #expect(try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "-p", "dampen:0.01", "-c", "2", "-q", "-o", scratch.file("a.h5"), "--sign-key", signer).status == 0)
        let second = try Run.ckptforget(scratch.file("a.h5"), "-p", "zero", "-c", "5", "-o", scratch.file("b.h5"), "--sign-key", signer)
        #expect(second.status == 0 && second.stderr.contains("lineage: the input's attestation \(scratch.file("a.h5")).manifest.json is recorded as parent"))
        #expect(try Run.ckptforget(scratch.file("b.h5"), "-p", "zero", "-c", "7", "-q", "-o", scratch.file("c.h5"), "--sign-key", signer).status == 0)

        var audit = try Run.ckptforget("audit", scratch.path, "--keys", Self.signing)
        #expect(audit.status == 0, "\(audit.stdout)")
        #expect(audit.stdout.contains("audit: 3 records in 1 chains; all hold"))
        let steps = audit.stdout.split(separator: "\n").filter { $0.contains("→") }
        #expect(steps.count == 3 && steps[0].contains("[dampen:0.01 class 2]") && steps[2].contains("[zero class 7]"))

        // Replace the middle model with another file: audit names it.
        #expect(try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "-p", "zero", "-c", "1", "-q", "--no-sign", "-o", scratch.file("b.h5")).status == 0)
        audit = try Run.ckptforget("audit", scratch.path, "--keys", Self.signing)
        #expect(audit.status == 3)
        #expect(audit.stdout.contains("\(scratch.path)/b.h5.manifest.json: \(scratch.path)/b.h5: changed"), "\(audit.stdout)")
        // And a new edit of the replaced file refuses to claim the old lineage.
        let refused = try Run.ckptforget(scratch.file("b.h5"), "-p", "zero", "-c", "3", "-o", scratch.file("d.h5"), "--sign-key", signer)
        #expect(refused.status == 2 && refused.stderr.contains("b.h5 changed after its attestation was made"))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("d.h5")))

        // The model signatures the records name are audited too: a swapped .sig is caught.
        #expect(try Run.ckptforget(scratch.file("c.h5"), "-p", "zero", "-c", "4", "-q", "-o", scratch.file("e.h5"), "--sign-key", signer).status == 0)
        try FileManager.default.removeItem(atPath: scratch.file("c.h5.sig"))
        try FileManager.default.copyItem(atPath: scratch.file("e.h5.sig"), toPath: scratch.file("c.h5.sig"))
        audit = try Run.ckptforget("audit", scratch.path, "--keys", Self.signing)
        #expect(audit.stdout.contains("c.h5.sig: signs root digest"), "\(audit.stdout)")

        // A removed parent record breaks the link.
        try FileManager.default.removeItem(atPath: scratch.file("a.h5.manifest.json"))
        audit = try Run.ckptforget("audit", scratch.path, "--keys", Self.signing, "--json")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any])
        #expect(audit.status == 3 && (report["problems"] as? [String])?.contains { $0.contains("parent record a.h5.manifest.json") } == true)
    }
}

/// The signing key from the environment, and the warning for a key others can read.
@Suite struct SigningKeyTests {
    @Test func keyFromTheEnvironmentAndPermissionWarning() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let key = scratch.file("k.pem")
        try FileManager.default.copyItem(atPath: SignedRecordsTests.signing + "/p384.pem", toPath: key)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Run.binary)
        process.arguments = [Run.fixture("safetensors/mlp.safetensors"), "-p", "zero", "-c", "1", "-q", "-o", scratch.file("out.safetensors")]
        process.environment = ["CKPTFORGET_SIGNING_KEY": key]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(stderr.contains("\(key) is readable by others (mode 644); chmod 600 it"))
        #expect(FileManager.default.fileExists(atPath: scratch.file("out.safetensors.sig")))
        let verify = try Run.ckptforget("verify", scratch.file("out.safetensors.sig"), "--key", SignedRecordsTests.signing + "/p384.pub.pem")
        #expect(verify.status == 0, "\(verify.stdout)")
        // A key that is not a key stops the run before any work.
        let bad = try Run.ckptforget(Run.fixture("safetensors/mlp.safetensors"), "-p", "zero", "-c", "1", "-o", scratch.file("x.safetensors"),
                                     "--sign-key", Run.fixture("safetensors/mlp.safetensors"))
        #expect(bad.status == 2 && bad.stderr.contains("not a PEM private key"))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("x.safetensors")))
    }
}
