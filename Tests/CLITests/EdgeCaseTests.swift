import Foundation
import Testing

/// HDF5 structures and command lines that once went wrong: each must be refused cleanly or survive.
@Suite struct EdgeCaseTests {
    @Test func aDatasetWithTwoNamesIsNotEditedUnderOne() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = Run.fixture("hdf5/links.h5")
        let refused = try Run.ckptforget(input, "--output-layer", "fc", "-p", "zero", "-c", "1", "-o", scratch.file("out.h5"))
        #expect(refused.status == 2 && refused.stderr.contains("tensor 'fc/weight': the same dataset is also linked as z_alias"), "\(refused.stderr)")
        #expect(scratch.contents.isEmpty)
        // Editing only the bias works, and the second link and the link back to the root survive as links.
        let run = try Run.ckptforget(input, "--output-layer", "fc", "-p", "zero@*bias", "-c", "1", "-q", "--no-sign", "-o", scratch.file("out.h5"))
        #expect(run.status == 0, "\(run.stderr)")
        let listing = try Run.run("h5ls", ["-r", scratch.file("out.h5")]).stdout
        #expect(listing.contains("/fc/loop                 Group, same as /"), "\(listing)")
        #expect(listing.contains("/z_alias                 Dataset, same as /fc/weight"), "\(listing)")
        #expect(!listing.contains("/fc/loop/fc"), "the cycle was copied into itself")
    }

    @Test func objectReferencesAreRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("hdf5/refs.h5"), "--output-layer", "fc", "-p", "zero", "-c", "1", "-o", scratch.file("out.h5"))
        #expect(run.status == 2 && run.stderr.contains("refs.h5: tensor 'fc/weight': its attribute 'bias_ref' holds object references"), "exit \(run.status): \(run.stderr)")
        #expect(scratch.contents.isEmpty)
    }

    @Test func outputsMayNotCollideAndRecordOptionsNeedRecords() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let mlp = Run.fixture("safetensors/mlp.safetensors")
        let collide = try Run.ckptforget(mlp, "-p", "zero", "-c", "1", "-o", scratch.file("o.safetensors"), "--manifest", scratch.file("o.safetensors"))
        #expect(collide.status == 2 && collide.stderr.contains("two outputs of this run would be written there"))
        // The key beside the output: an attestation elsewhere is refused for its place before this check.
        let key = scratch.file("k.pem")
        try FileManager.default.copyItem(atPath: SignedRecordsTests.signing + "/p256.pem", toPath: key)
        chmod(key, 0o600)
        let overKey = try Run.ckptforget(mlp, "-p", "zero", "-c", "1", "-o", scratch.file("o.safetensors"), "--sign-key", key, "--manifest", key)
        #expect(overKey.status == 2 && overKey.stderr.contains("it is the input"), "\(overKey.stderr)")
        let pointless = try Run.ckptforget(mlp, "-p", "zero", "-c", "1", "-o", scratch.file("o.safetensors"), "--no-sign", "--sign-key", key)
        #expect(pointless.status == 2 && pointless.stderr.contains("--sign-key has no effect with --no-sign"))
        #expect(scratch.contents == ["k.pem"])
    }

    @Test func anEncryptedKeyIsRefusedWithoutPrompting() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let made = try Run.run("openssl", ["genpkey", "-algorithm", "ed25519", "-aes256", "-pass", "pass:secret", "-out", scratch.file("enc.pem")])
        #expect(made.status == 0)
        let run = try Run.ckptforget(Run.fixture("safetensors/mlp.safetensors"), "-p", "zero", "-c", "1", "-o", scratch.file("o.safetensors"),
                                     "--sign-key", scratch.file("enc.pem"))
        #expect(run.status == 2 && run.stderr.contains("an encrypted key"), "\(run.stderr)")
        #expect(scratch.contents == ["enc.pem"])
    }

    @Test func aDamagedRecordFailsVerification() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let record = try scratch.write(Array("{\"mediaType\": \"something else\"}".utf8), to: "x.manifest.json")
        let run = try Run.ckptforget("verify", record, "--key", SignedRecordsTests.signing + "/p256.pub.pem")
        #expect(run.status == 3 && run.stderr.contains("not a valid signed record"))
    }
}
