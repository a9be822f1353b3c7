import Foundation
import Testing
@testable import Checkpoint

/// One test per rule of the zip reader, each archive built from bytes (`ZipBytes`).
@Suite struct ZipArchiveTests {
    /// Writes `bytes` to a file and opens it as a zip; the archive, or the problem it was refused for.
    private func open(_ bytes: [UInt8]) throws -> Result<ZipArchive, ZipProblem> {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/case.zip"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            return .success(try ZipArchive(path: path))
        } catch let CheckpointError.zip(errorPath, problem) {
            #expect(errorPath == path)
            return .failure(problem)
        }
    }

    private func problem(_ bytes: [UInt8]) throws -> ZipProblem? {
        if case .failure(let problem) = try open(bytes) { return problem }
        return nil
    }

    /// Reads every member's content; the problem a read was refused for, if any.
    private func readProblem(_ bytes: [UInt8], limit: Int = 1 << 20) throws -> ZipProblem? {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/case.zip"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let archive = try ZipArchive(path: path)
        do {
            for entry in archive.entries { _ = try archive.contents(of: entry, limit: limit) }
            return nil
        } catch let CheckpointError.zip(_, problem) {
            return problem
        }
    }

    private let two = [ZipBytes.Member("config.json", Array("{}".utf8)), ZipBytes.Member.deflated("notes.txt")]

    @Test func readsStoredAndDeflatedMembersInOrder() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/good.zip"
        try Data(ZipBytes(two).bytes).write(to: URL(fileURLWithPath: path))
        let archive = try ZipArchive(path: path)
        #expect(archive.entries.map(\.name) == ["config.json", "notes.txt"])
        #expect(try archive.contents(of: archive.entries[0], limit: 100) == Array("{}".utf8))
        #expect(try archive.contents(of: archive.entry(named: "notes.txt")!, limit: 100) == Array("hello hello hello hello\n".utf8))
        #expect(archive.entries[0].dataOffset == 30 + "config.json".utf8.count)
    }

    @Test func rejectsAFileTooShortForAnEndRecord() throws {
        #expect(try problem([0x50, 0x4B, 0x03, 0x04, 0, 0]) == .tooShort(size: 6))
    }

    @Test func rejectsAnArchiveWithoutItsEndRecord() throws {
        let bytes = ZipBytes(two).bytes
        #expect(try problem(Array(bytes.dropLast(3))) == .noEndRecord)
        #expect(try problem(bytes + [0, 0, 0]) == .noEndRecord)  // bytes appended after the end record
    }

    @Test func rejectsMultiDiskArchives() throws {
        var archive = ZipBytes(two)
        archive.endEdit = { $0.put16(1, at: 4) }
        #expect(try problem(archive.bytes) == .multiDisk)
    }

    @Test func rejectsAZip64LocatorPointingNowhere() throws {
        var archive = ZipBytes(two)
        archive.endEdit = { end in
            var locator = [UInt8](repeating: 0, count: 20)
            locator.put32(0x0706_4B50, at: 0)
            locator.put64(5, at: 8)  // not a zip64 end record
            locator.put32(1, at: 16)
            end = locator + end
        }
        guard case .badZip64Record = try problem(archive.bytes) else { Issue.record("expected badZip64Record"); return }
    }

    @Test func rejectsADirectoryNotWhereTheEndRecordSays() throws {
        let prepended = Array("#!/bin/sh\n".utf8) + ZipBytes(two).bytes  // `cat stub a.zip`: offsets no longer add up
        guard case .directoryOutsideFile = try problem(prepended) else { Issue.record("expected directoryOutsideFile"); return }
        var outside = ZipBytes(two)
        outside.endEdit = { $0.put32(0xFFFF_FF00, at: 16) }
        guard case .directoryOutsideFile = try problem(outside.bytes) else { Issue.record("expected directoryOutsideFile"); return }
    }

    /// A 65 MiB sparse file whose end record declares a 65 MiB directory: refused before it is read.
    @Test func rejectsADirectoryTooLargeToRead() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/huge.zip"
        let size = 65 << 20
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size - 22))
        var end = [UInt8](repeating: 0, count: 22)
        end.put32(0x0605_4B50, at: 0)
        end.put16(1, at: 8)
        end.put16(1, at: 10)
        end.put32(UInt32(size - 22), at: 12)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(end))
        try handle.close()
        #expect(throws: CheckpointError.zip(path: path, .directoryTooLarge(size: size - 22, limit: ZipArchive.maximumDirectory))) {
            try ZipArchive(path: path)
        }
    }

    @Test func rejectsAnEntryCountThatDisagreesWithTheDirectory() throws {
        var archive = ZipBytes(two)
        archive.endEdit = { $0.put16(1, at: 10) }
        #expect(try problem(archive.bytes) == .entryCount(declared: 1, found: 2))
    }

    @Test func rejectsADamagedCentralHeader() throws {
        var archive = ZipBytes(two)
        archive.centralEdit = { index, entry in if index == 1 { entry.put32(0x1234_5678, at: 0) } }
        guard case .badCentralHeader(index: 1, _) = try problem(archive.bytes) else { Issue.record("expected badCentralHeader"); return }
    }

    @Test func rejectsNamesThatAreNotPlainRelativePaths() throws {
        for name in ["../evil.h5", "/etc/passwd", "a\\b", "dir/", "a//b", "./x", "model/../../x"] {
            let archive = ZipBytes([ZipBytes.Member(name, [1, 2, 3])])
            guard case .badName(name: name, _) = try problem(archive.bytes) else { Issue.record("not refused: \(name)"); continue }
        }
        var invalid = ZipBytes([ZipBytes.Member("x", [1])])
        invalid.centralEdit = { _, entry in entry[46] = 0xFF }
        guard case .badName(_, reason: "not valid UTF-8") = try problem(invalid.bytes) else { Issue.record("expected invalid UTF-8"); return }
    }

    @Test func rejectsDuplicateNames() throws {
        #expect(try problem(ZipBytes([ZipBytes.Member("a", [1]), ZipBytes.Member("a", [2])]).bytes) == .duplicateName("a"))
    }

    @Test func rejectsEncryptedMembers() throws {
        var member = ZipBytes.Member("secret", [1, 2])
        member.flags = 1
        #expect(try problem(ZipBytes([member]).bytes) == .encrypted(member: "secret"))
    }

    @Test func rejectsMethodsOtherThanStoredAndDeflated() throws {
        var member = ZipBytes.Member("x.bz2", [1, 2])
        member.method = 12
        #expect(try problem(ZipBytes([member]).bytes) == .unsupportedMethod(member: "x.bz2", method: 12))
    }

    @Test func rejectsAZip64SizeWithoutItsField() throws {
        var member = ZipBytes.Member("big", [1, 2])
        member.declaredSize = 0xFFFF_FFFF
        #expect(try problem(ZipBytes([member]).bytes) == .missingZip64Field(member: "big", field: "size"))
    }

    @Test func rejectsLocalHeadersThatDisagree() throws {
        var renamed = ZipBytes.Member("model.weights.h5", [1, 2])
        renamed.localName = "other.weights.h5"
        guard case .badLocalHeader(member: "model.weights.h5", _) = try problem(ZipBytes([renamed]).bytes) else {
            Issue.record("expected badLocalHeader (name)"); return
        }
        var remethod = ZipBytes.Member("a", [1, 2])
        remethod.localMethod = 8
        guard case .badLocalHeader(member: "a", _) = try problem(ZipBytes([remethod]).bytes) else { Issue.record("expected badLocalHeader (method)"); return }
        var moved = ZipBytes(two)
        moved.offsetOverride = [1: 3]
        guard case .badLocalHeader(member: "notes.txt", _) = try problem(moved.bytes) else { Issue.record("expected badLocalHeader (signature)"); return }
    }

    /// A local header whose CRC or sizes differ from the directory's: a streaming reader trusting the
    /// local header would read another member than the one checked here.
    @Test func rejectsLocalCRCsAndSizesThatDisagree() throws {
        let content: [UInt8] = [1, 2, 3, 4]
        for (offset, field, local, central) in [(14, "CRC-32", UInt64(0xDEAD_BEEF), UInt64(CRC32.of(content))),
                                                (18, "compressed size", 3, 4), (22, "size", 5, 4)] {
            var archive = ZipBytes([ZipBytes.Member("a", content)])
            archive.localEdit = { _, header in header.put32(UInt32(local), at: offset) }
            #expect(try problem(archive.bytes) == .localHeaderDisagrees(member: "a", field: field, local: local, central: central))
            // With a data descriptor (flag bit 3) the local fields may be zero, as torch writes them, but not wrong.
            archive.members[0].flags = 0x0808
            #expect(try problem(archive.bytes) == .localHeaderDisagrees(member: "a", field: field, local: local, central: central))
            archive.localEdit = { _, header in header.put32(0, at: offset) }
            #expect(try problem(archive.bytes) == nil)
            archive.members[0].flags = 0
            #expect(try problem(archive.bytes) == .localHeaderDisagrees(member: "a", field: field, local: 0, central: central))
        }
    }

    @Test func rejectsDataRunningIntoTheDirectory() throws {
        var archive = ZipBytes([ZipBytes.Member("a", [1, 2, 3, 4])])
        archive.centralEdit = { _, entry in entry.put32(40, at: 20); entry.put32(40, at: 24) }
        guard case .dataOutsideArchive(member: "a", _, _) = try problem(archive.bytes) else { Issue.record("expected dataOutsideArchive"); return }
    }

    /// Two directory entries whose data share bytes (the overlapping-files zip bomb).
    @Test func rejectsOverlappingMembers() throws {
        var archive = ZipBytes([ZipBytes.Member("a", [UInt8](repeating: 7, count: 40)), ZipBytes.Member("b", [1])])
        archive.centralEdit = { index, entry in if index == 0 { entry.put32(60, at: 20); entry.put32(60, at: 24) } }
        archive.localEdit = { index, header in if index == 0 { header.put32(60, at: 18); header.put32(60, at: 22) } }
        #expect(try problem(archive.bytes) == .overlap(member: "b", other: "a"))
    }

    @Test func rejectsStoredMembersWhoseSizesDiffer() throws {
        var member = ZipBytes.Member("a", [1, 2, 3])
        member.declaredSize = 5
        #expect(try problem(ZipBytes([member]).bytes) == .storedSizeMismatch(member: "a", compressed: 3, uncompressed: 5))
    }

    /// 11 compressed bytes declared to inflate to 2 GiB.
    @Test func rejectsAZipBombRatio() throws {
        var bomb = ZipBytes.Member.deflated("bomb.h5")
        bomb.declaredSize = 1 << 31
        #expect(try problem(ZipBytes([bomb]).bytes) == .compressionRatio(member: "bomb.h5", compressed: 11, uncompressed: 1 << 31, limit: 100))
    }

    /// 200 members each declaring 1 MiB from 11 compressed bytes: each passes the per-member
    /// check (1 MiB is its floor), and together they declare 200 MiB from 2,200 bytes.
    @Test func rejectsAZipBombOfManySmallMembers() throws {
        let members = (0..<200).map { index -> ZipBytes.Member in
            var member = ZipBytes.Member.deflated("assets/part\(index)")
            member.declaredSize = 1 << 20
            return member
        }
        #expect(try problem(ZipBytes(Array(members.prefix(1))).bytes) == nil)
        #expect(try problem(ZipBytes(members).bytes) == .totalCompressionRatio(members: 200, compressed: 2200, uncompressed: 200 << 20, limit: 100))
    }

    /// Members that stay within the ratio together, yet declare more than an archive inflates to.
    @Test func rejectsDeflatedMembersTogetherPastTheAbsoluteLimit() throws {
        var member = ZipBytes.Member.deflated("assets/big")
        member.stored += [UInt8](repeating: 0, count: 12 << 20)  // compressed bytes for the ratio (never inflated: only declared)
        member.declaredSize = 0x4800_0000  // 1.125 GiB
        #expect(try problem(ZipBytes([member]).bytes) == .inflatedTotal(members: 1, size: 0x4800_0000, limit: 1 << 30))
    }

    /// A copy stores every member: the room it needs counts a deflated member's inflated size.
    @Test func aStoredCopyCountsInflatedSizes() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/case.zip"
        var member = ZipBytes.Member.deflated("notes.txt")
        member.declaredSize = 24
        try Data(ZipBytes([member]).bytes).write(to: URL(fileURLWithPath: path))
        let archive = try ZipArchive(path: path)
        #expect(archive.storedCopySize(alignment: 64) >= 24 + 2 * 9 + 30 + 46 + 22)
        #expect(archive.storedCopySize(alignment: 64) > archive.file.size)
    }

    @Test func checksEveryCRCAsItReads() throws {
        var flipped = ZipBytes(two)
        flipped.members[0].stored = Array("{ ".utf8)
        flipped.members[0].content = flipped.members[0].stored
        #expect(try readProblem(flipped.bytes) == .crcMismatch(member: "config.json", expected: CRC32.of(Array("{}".utf8)), actual: CRC32.of(Array("{ ".utf8))))
    }

    @Test func rejectsDeflatedDataThatDoesNotInflateToItsSize() throws {
        var corrupt = ZipBytes.Member.deflated("a")
        corrupt.stored[0] = 0xFF  // BFINAL 1, BTYPE 3
        // zlib's message in words, not Swift's `corrupt("invalid block type")`.
        #expect(try readProblem(ZipBytes([corrupt]).bytes) == .inflate(member: "a", reason: "the deflate data is corrupt: invalid block type"))
        var short = ZipBytes.Member.deflated("b")
        short.declaredSize = 30
        #expect(try readProblem(ZipBytes([short]).bytes) == .inflate(member: "b", reason: "it inflates to fewer than its declared 30 bytes"))
        var long = ZipBytes.Member.deflated("c")
        long.declaredSize = 10
        #expect(try readProblem(ZipBytes([long]).bytes) == .inflate(member: "c", reason: "it inflates to more than its declared 10 bytes"))
    }

    /// Bytes after the end of the deflate stream were accepted: the record's input digest counted
    /// bytes never inflated, and padding passed the 100:1 ratio guard. Whether the padding arrives
    /// in the same 64 KiB read as the stream's end or in later ones, it is refused.
    @Test func refusesBytesAfterTheDeflateStream() throws {
        for padding in [1, 100_000] {
            var padded = ZipBytes.Member.deflated("data.pkl")
            padded.stored += [UInt8](repeating: 0xAA, count: padding)
            #expect(try readProblem(ZipBytes([padded]).bytes) == .bytesAfterDeflateStream(member: "data.pkl", count: padding))
        }
        #expect(try readProblem(ZipBytes([ZipBytes.Member.deflated("data.pkl")]).bytes) == nil)
    }

    @Test func refusesToReadAMemberLargerThanExpected() throws {
        #expect(try readProblem(ZipBytes(two).bytes, limit: 10) == .memberTooLarge(member: "notes.txt", size: 24, limit: 10))
    }

    @Test func everyMessageNamesTheFileAndTheMember() throws {
        var member = ZipBytes.Member("../x", [1])
        member.flags = 0
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.keras"
        try Data(ZipBytes([member]).bytes).write(to: URL(fileURLWithPath: path))
        do { _ = try ZipArchive(path: path); Issue.record("not refused") } catch {
            #expect("\(error)" == "\(path): member name '../x': climbs out with '..'")
        }
    }
}

/// What `ZipWriter` writes reads back through `ZipArchive`: stored members dated 1980-01-01,
/// CRCs right, data aligned where asked, zip64 end records where the member count needs them.
@Suite struct ZipWriterTests {
    private func write(alignment: Int = 1, _ members: [(String, [UInt8])], pending: (String, [UInt8])? = nil) throws -> (String, [UInt8]) {
        let directory = try Fixture.scratch()
        let path = directory + "/out.zip"
        let out = try FileBytes(creating: TemporaryFile(path: path, final: path, exists: false))
        let writer = ZipWriter(out: out, alignment: alignment)
        for (name, content) in members {
            try writer.add(name, size: content.count, crc: CRC32.of(content)) { try content.withUnsafeBytes { try out.write($0) } }
        }
        if let (name, content) = pending {
            let begun = try writer.begin(name)
            try out.write(content, at: begun.dataOffset)
            try writer.finish(begun, size: content.count, crc: CRC32.of(content))
        }
        try writer.close()
        return (path, try Fixture.bytes(path))
    }

    @Test func writesWhatTheReaderReadsBack() throws {
        let members = [("metadata.json", Array("{\"a\": 1}".utf8)), ("config.json", Array("{}".utf8)), ("empty", [])]
        let (path, bytes) = try write(members, pending: ("model.weights.h5", [UInt8](repeating: 9, count: 1000)))
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let archive = try ZipArchive(path: path)
        #expect(archive.entries.map(\.name) == ["metadata.json", "config.json", "empty", "model.weights.h5"])
        for (name, content) in members { #expect(try archive.contents(of: archive.entry(named: name)!, limit: 100) == content) }
        #expect(try archive.contents(of: archive.entry(named: "model.weights.h5")!, limit: 1000) == [UInt8](repeating: 9, count: 1000))
        #expect(archive.entries.allSatisfy { $0.isStored })
        // Every local header is dated 1980-01-01 00:00.
        for entry in archive.entries { #expect(bytes.le16(at: entry.localHeaderOffset + 10) == 0 && bytes.le16(at: entry.localHeaderOffset + 12) == 0x21) }
    }

    @Test func alignsDataWhereAsked() throws {
        let (path, _) = try write(alignment: 64, [("archive/data.pkl", [1, 2, 3]), ("archive/data/0", [UInt8](repeating: 1, count: 100))],
                                  pending: ("archive/data/1", [5, 6]))
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let archive = try ZipArchive(path: path)
        #expect(archive.entries.allSatisfy { $0.dataOffset % 64 == 0 })
        #expect(try archive.contents(of: archive.entry(named: "archive/data/1")!, limit: 10) == [5, 6])
    }

    @Test func writesZip64EndRecordsForManyMembers() throws {
        let members = (0..<65_536).map { ("m\($0)", [UInt8(truncatingIfNeeded: $0)]) }
        let (path, bytes) = try write(members)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        #expect(bytes.le16(at: bytes.count - 12) == 0xFFFF)
        let archive = try ZipArchive(path: path)
        #expect(archive.entries.count == 65_536)
        #expect(try archive.contents(of: archive.entry(named: "m65535")!, limit: 1) == [0xFF])
    }
}
