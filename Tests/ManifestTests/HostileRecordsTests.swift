import Checkpoint
import Foundation
import Testing
@testable import Manifest

/// Records whose statements name files they should not: verify opens nothing before the signature
/// holds, and then only regular files inside the directory files are looked up in.
@Suite struct HostileRecordsTests {
    // MARK: signature first

    /// A record no trusted key signed: its subjects are not opened at all, even a harmless one.
    @Test func nothingIsOpenedBeforeTheSignatureHolds() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        let stranger = try PrivateKey(generating: .ed25519)
        let record = try place.attestation("data.bin.manifest.json", subjects: ["data.bin"], key: stranger)
        let check = try RecordVerifier.check(record, keys: place.keys)
        #expect(!check.holds && check.problems.contains { $0.hasPrefix("unknown signer") })
        #expect(check.files.isEmpty && !check.filesChecked, "\(check.files.map(\.path))")
        #expect(!check.problems.contains { $0.contains("data.bin") }, "\(check.problems)")

        // Unsigned and not allowed: the same, nothing opened.
        let unsigned = try place.attestation("data.bin.manifest.json", subjects: ["data.bin"], key: nil)
        let refused = try RecordVerifier.check(unsigned, keys: place.keys)
        #expect(refused.files.isEmpty && !refused.filesChecked && refused.problems.count == 1, "\(refused.problems)")
        // Allowed: the file is checked (and matches).
        let allowed = try RecordVerifier.check(unsigned, keys: place.keys, allowUnsigned: true)
        #expect(allowed.holds && allowed.filesChecked && allowed.files.map(\.actual) == [place.digest], "\(allowed.problems)")
    }

    // MARK: confinement

    /// Names that would leave the directory, or are not plain relative paths, are refused by their
    /// name alone. `../outside.bin` has the right digest: without the rule it would verify.
    @Test(arguments: [
        ("../outside.bin", "\"..\""),
        ("sub/../../outside.bin", "\"..\""),
        ("../../../../../../../../../../dev/zero", "\"..\""),
        ("/dev/zero", "absolute"),
        ("", "empty name"),
        ("sub//data.bin", "empty component"),
        ("data.bin/", "empty component"),
        ("./data.bin", "\".\""),
        ("data\u{0}.bin", "control character"),
        ("data.bin\nverified: 1 file match", "control character"),
        ("data\u{9B}.bin", "control character"),
    ])
    func subjectNamesStayInside(name: String, reason: String) throws {
        let place = try RecordPlace()
        defer { place.remove() }
        let record = try place.attestation("x.manifest.json", subjects: [name], key: place.trusted)
        let check = try RecordVerifier.check(record, keys: place.keys)
        #expect(!check.holds)
        let file = try #require(check.files.first)
        #expect(file.actual == nil && file.refused?.contains(reason) == true, "\(file.refused ?? "not refused")")
        let quoted = ConfinedFile.quoted(name)
        #expect(check.problems.contains { $0.contains("subject \(quoted) refused") && $0.contains(reason) }, "\(check.problems)")
        // Once: not again as a subject that is not the model the record's name says.
        #expect(check.problems.filter { $0.contains(quoted) }.count == 1, "\(check.problems)")
        // No problem line carries a raw control character (a newline would forge an output line).
        #expect(!check.problems.joined().unicodeScalars.contains { $0.properties.generalCategory == .control })
    }

    /// Only regular files are opened: a directory, a symbolic link (even to a file inside), a path
    /// through a symbolic link, and through a file, are refused without opening them.
    @Test(arguments: [
        ("sub", "a directory"),
        ("link.bin", "symbolic link"),
        ("outlink/outside.bin", "symbolic link"),
        ("data.bin/x", "not a directory"),
    ])
    func onlyRegularFilesAreOpened(name: String, reason: String) throws {
        let place = try RecordPlace()
        defer { place.remove() }
        try FileManager.default.createSymbolicLink(atPath: place.dir + "/link.bin", withDestinationPath: "data.bin")
        try FileManager.default.createSymbolicLink(atPath: place.dir + "/outlink", withDestinationPath: place.root)
        let record = try place.attestation("x.manifest.json", subjects: [name], key: place.trusted)
        let check = try RecordVerifier.check(record, keys: place.keys)
        let file = try #require(check.files.first)
        #expect(!check.holds && file.refused?.contains(reason) == true, "\(file.refused ?? "not refused"); \(check.problems)")
    }

    /// `--files DIR` moves the place names are looked up in, not the rules.
    @Test func filesDirectoryIsTheBoundary() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        let record = try place.attestation("x.manifest.json", subjects: ["../outside.bin"], key: place.trusted)
        let check = try RecordVerifier.check(record, keys: place.keys, files: place.dir + "/sub")
        #expect(!check.holds && check.files.first?.refused != nil, "\(check.problems)")
        let inside = try place.attestation("data.bin.manifest.json", subjects: ["data.bin"], key: place.trusted)
        try FileManager.default.moveItem(atPath: place.dir + "/data.bin", toPath: place.root + "/data.bin")
        #expect(try RecordVerifier.check(inside, keys: place.keys, files: place.root).holds)
    }

    /// --allow-unsigned accepts an unsigned record, not its hostile names.
    @Test func unsignedRecordsAreConfinedToo() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        let record = try place.attestation("x.manifest.json", subjects: ["../outside.bin"], key: nil)
        let check = try RecordVerifier.check(record, keys: place.keys, allowUnsigned: true)
        #expect(!check.holds && check.files.first?.refused?.contains("\"..\"") == true, "\(check.problems)")
    }

    /// A subject's digest is printed in problem lines, so it must be what it claims: 64 hex digits
    /// (a newline in it would forge a line of output).
    @Test(arguments: ["", "abc", String(repeating: "0", count: 63) + "\n", String(repeating: "g", count: 64)])
    func subjectDigestsAreSHA256Hex(digest: String) throws {
        let place = try RecordPlace()
        defer { place.remove() }
        let statement = Statement(subjects: [.init(name: "data.bin", sha256: digest)], predicateType: ForgettingAttestation.predicateType, predicate: .null)
        let record = try place.write(statement, to: "data.bin.manifest.json", key: place.trusted)
        do {
            let check = try RecordVerifier.check(record, keys: place.keys)
            Issue.record("accepted: \(check.problems)")
        } catch {
            #expect("\(error)".contains("sha256 digest is not 64 hexadecimal digits"), "\(error)")
        }
        // Upper case is hexadecimal too, and compares equal to the file's digest.
        let upper = Statement(subjects: [.init(name: "data.bin", sha256: place.digest.uppercased())], predicateType: ForgettingAttestation.predicateType, predicate: .null)
        #expect(try RecordVerifier.check(place.write(upper, to: "data.bin.manifest.json", key: place.trusted), keys: place.keys).holds)
    }

    /// The record itself, when it is not a regular file, is an error that says so (a FIFO or a device
    /// would otherwise be read forever; /dev/null and a directory show the rule without that risk).
    @Test func aRecordThatIsNotARegularFileIsRefused() throws {
        let place = try RecordPlace()
        defer { place.remove() }
        for path in ["/dev/null", place.dir] {
            do {
                _ = try RecordVerifier.check(path, keys: place.keys)
                Issue.record("\(path) accepted")
            } catch {
                #expect("\(error)".contains("not a regular file"), "\(error)")
            }
        }
    }
}
