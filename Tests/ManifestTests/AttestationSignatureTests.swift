import Checkpoint
import Foundation
import Testing
@testable import Manifest

/// The OpenSSF Model Signing signature a forgetting attestation names is part of it: `verify`
/// of the attestation checks it too (it must be there, hold, and sign the bound root digest), and
/// its name is confined like a subject's.
@Suite struct AttestationSignatureTests {
    @Test func theNamedModelSignatureIsCheckedToo() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        let (signature, root) = try place.modelSignature(of: "data.bin", to: "data.bin.sig", key: place.trusted)
        let record = try place.attestation("data.bin.manifest.json", subjects: ["data.bin"], signature: "data.bin.sig",
                                           rootDigest: root, key: place.trusted)
        let check = try RecordVerifier.check(record, keys: place.keys)
        #expect(check.holds && check.modelSignature == signature, "\(check.problems)")

        // Missing: the attestation says it was written, so verify fails and names it.
        try FileManager.default.removeItem(atPath: signature)
        let missing = try RecordVerifier.check(record, keys: place.keys)
        #expect(!missing.holds && missing.problems.contains { $0.hasPrefix("\(signature): missing") }, "\(missing.problems)")

        // There but signing another root digest than the one the attestation binds.
        try place.modelSignature(of: "data.bin", to: "data.bin.sig", key: place.trusted)
        let other = try place.attestation("data.bin.manifest.json", subjects: ["data.bin"], signature: "data.bin.sig",
                                          rootDigest: String(repeating: "0", count: 64), key: place.trusted)
        let mismatched = try RecordVerifier.check(other, keys: place.keys)
        #expect(mismatched.problems.contains { $0.contains("signs root digest \(root)") }, "\(mismatched.problems)")

        // Signed by a key nobody trusts.
        try place.modelSignature(of: "data.bin", to: "data.bin.sig", key: try PrivateKey(generating: .ecdsaP256))
        let stranger = try RecordVerifier.check(record, keys: place.keys)
        #expect(stranger.problems.contains { $0.hasPrefix("\(signature): unknown signer") }, "\(stranger.problems)")
    }

    /// The signature's name is confined like a subject's, and it must be a model signature: an
    /// attestation naming itself (or another attestation) as its `.sig` is a problem, not a loop.
    /// `../outside.sig` and the absolute name lead to a valid signature: only the rules refuse them.
    @Test(arguments: [
        ("../../../../../../../../../dev/zero", "not a .sig file"),
        ("../outside.sig", "\"..\" component"),
        ("/ROOT/outside.sig", "absolute path"),
        ("sub.sig", "it is a directory"),
        ("loop.sig", "not an OpenSSF Model Signing signature"),
        ("data.bin", "not a .sig file"),
    ])
    func theModelSignatureNameIsConfined(name: String, problem: String) throws {
        let place = try RecordPlace()
        defer { place.remove() }
        try FileManager.default.createDirectory(atPath: place.dir + "/sub.sig", withIntermediateDirectories: false)
        try place.attestation("loop.sig", subjects: ["data.bin"], signature: "loop.sig", key: place.trusted)
        let (_, root) = try place.modelSignature(of: "data.bin", to: "../outside.sig", key: place.trusted)
        let named = name.replacingOccurrences(of: "/ROOT", with: place.root)
        let record = try place.attestation("data.bin.manifest.json", subjects: ["data.bin"], signature: named, rootDigest: root, key: place.trusted)
        let check = try RecordVerifier.check(record, keys: place.keys)
        #expect(!check.holds && check.problems.contains { $0.contains(problem) }, "\(check.problems)")
    }

    /// Nothing the attestation names is followed when its own signature does not hold.
    @Test func anUnverifiedAttestationsSignatureIsNotFollowed() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        let record = try place.attestation("data.bin.manifest.json", subjects: ["data.bin"], signature: "data.bin.sig",
                                           key: try PrivateKey(generating: .ecdsaP256))
        let check = try RecordVerifier.check(record, keys: place.keys)
        #expect(check.modelSignature == nil && check.problems.count == 1, "\(check.problems)")
    }
}
