import Checkpoint
import Foundation
import Testing
@testable import Manifest

/// A record's file name says which model it is for: `X.manifest.json` attests X (the file, or the
/// files below the directory X), `X.sig` signs X; a correct record under another model's name fails.
@Suite struct RecordNameTests {
    /// `a.bin.manifest.json` attesting `data.bin` (a correct record under another model's name).
    @Test func anAttestationAttestsTheModelItsNameSays() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        try FileManager.default.copyItem(atPath: place.dir + "/data.bin", toPath: place.dir + "/a.bin")
        let record = try place.attestation("a.bin.manifest.json", subjects: ["data.bin"], key: place.trusted)
        let check = try RecordVerifier.check(record, keys: place.keys)
        #expect(!check.holds && check.problems.contains { $0.contains("attests \"data.bin\", not the model \"a.bin\"") }, "\(check.problems)")

        // No subject at all attests nothing.
        let empty = try place.attestation("data.bin.manifest.json", subjects: [], key: place.trusted)
        #expect(try RecordVerifier.check(empty, keys: place.keys).problems.contains { $0.contains("attests no file") })
    }

    /// A directory model (a sharded output): `sub.manifest.json` attests the files below `sub/`, and only those.
    @Test func aDirectoryModelsAttestationAttestsItsFiles() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        for name in ["sub/a", "sub/b"] { try Data(place.bytes).write(to: URL(fileURLWithPath: place.dir + "/" + name)) }
        let record = try place.attestation("sub.manifest.json", subjects: ["sub/a", "sub/b"], key: place.trusted)
        let check = try RecordVerifier.check(record, keys: place.keys)
        #expect(check.holds && check.files.count == 2, "\(check.problems)")
        let wider = try place.attestation("sub.manifest.json", subjects: ["sub/a", "data.bin"], key: place.trusted)
        #expect(try RecordVerifier.check(wider, keys: place.keys).problems.contains { $0.contains("attests \"data.bin\", not the model \"sub\"") })
        // A prefix of the name is not the model: "subway" is not below "sub".
        let prefix = try place.attestation("sub.manifest.json", subjects: ["subway"], key: place.trusted)
        #expect(try RecordVerifier.check(prefix, keys: place.keys).problems.contains { $0.contains("attests \"subway\"") })
    }

    /// `other.bin.sig` holding the signature of `data.bin`: the bytes are the same, the name is not.
    @Test func aModelSignatureSignsTheModelItsNameSays() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        try FileManager.default.copyItem(atPath: place.dir + "/data.bin", toPath: place.dir + "/other.bin")
        let (signature, _) = try place.modelSignature(of: "other.bin", to: "other.bin.sig", subject: "data.bin", key: place.trusted)
        let check = try RecordVerifier.check(signature, keys: place.keys)
        #expect(!check.holds && check.problems.contains { $0.contains("signs the model \"data.bin\", not \"other.bin\"") }, "\(check.problems)")
        // Given with --files, the model's own name is the one to match.
        #expect(try RecordVerifier.check(signature, keys: place.keys, files: place.dir + "/data.bin").holds)
    }

    /// A model reached through a symbolic link is refused like a subject.
    @Test func aSignedModelThatIsASymbolicLinkIsRefused() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        let (signature, _) = try place.modelSignature(of: "data.bin", to: "link.bin.sig", subject: "link.bin", key: place.trusted)
        try FileManager.default.createSymbolicLink(atPath: place.dir + "/link.bin", withDestinationPath: "data.bin")
        let check = try RecordVerifier.check(signature, keys: place.keys)
        #expect(!check.holds && check.problems.contains { $0.contains("symbolic link") }, "\(check.problems)")
    }
}
