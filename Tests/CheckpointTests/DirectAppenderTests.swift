import Foundation
import Glibc
import Testing
@testable import Checkpoint

/// `DirectAppender`: what is appended ends in the file byte for byte, whatever the sizes of the
/// pieces and wherever the staging buffers fill, with the whole blocks written past the page cache.
@Suite struct DirectAppenderTests {
    /// Bytes that differ at every position of a buffer, so a piece written at the wrong offset shows.
    private static func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 7 &+ seed) }
    }

    private static func openFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        return fd
    }

    /// How many of the file's first `count` bytes' pages are in the page cache.
    private static func residentPages(_ fd: Int32, count: Int) throws -> Int {
        let map = mmap(nil, count, PROT_READ, MAP_SHARED, fd, 0)
        try #require(map != MAP_FAILED)
        defer { munmap(map, count) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (count + page - 1) / page)
        try #require(mincore(map, count, &vector) == 0)
        return vector.filter { $0 & 1 != 0 }.count
    }

    @Test func piecesOfEverySizeEndInTheFileInOrder() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/out.bin", fd = try Self.openFile(path)
        defer { close(fd) }
        let buffer = DirectAppender.bufferSize, block = DirectAppender.block
        // Across block and buffer edges, one piece larger than all the staging buffers together.
        let sizes = [1, block - 1, block, block + 1, buffer - 3, buffer, 7, DirectAppender.bufferCount * buffer + 5, 0, 3 * block, 100]
        var expected: [UInt8] = []
        do {
            let appender = try #require(DirectAppender(path: path, displayPath: path, bufferedFD: fd, at: 0), "no O_DIRECT here")
            for (index, size) in sizes.enumerated() {
                let piece = Self.pattern(size, seed: index)
                try piece.withUnsafeBytes { try appender.append($0) }
                expected += piece
            }
            try appender.drain()
        }
        // Written directly: of the whole blocks, none went through the page cache (the last
        // partial block did, through the ordinary descriptor). Checked before anything reads them.
        let whole = expected.count / block * block
        #expect(try Self.residentPages(fd, count: whole) == 0)
        #expect(FileManager.default.contents(atPath: path) == Data(expected))
    }

    /// A sink shown what is appended is lent each piece as it is staged, the pieces it was not
    /// shown are not; a late sink still reads the right bytes (a buffer reused before its loans
    /// are back would show), and the appender waits for the last loans before it goes away.
    @Test func aSinkIsLentThePiecesItIsShownAsTheyAreStaged() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/out.bin", fd = try Self.openFile(path)
        defer { close(fd) }
        let buffer = DirectAppender.bufferSize, block = DirectAppender.block
        // (size, shown): across block and buffer edges, one piece larger than every buffer together.
        let pieces = [(block + 1, true), (buffer - 3, false), (10, true), (DirectAppender.bufferCount * buffer + 5, true), (7, false), (3 * block, true)]
        let recorder = RecordingSink(lateBy: 2_000)
        var (all, shown, staged, filled) = ([UInt8](), [UInt8](), 0, 0)
        do {
            let appender = try #require(DirectAppender(path: path, displayPath: path, bufferedFD: fd, at: 0), "no O_DIRECT here")
            for (index, (size, showing)) in pieces.enumerated() {
                let piece = Self.pattern(size, seed: index)
                try piece.withUnsafeBytes { try appender.append($0, showing: showing ? recorder : nil) }
                all += piece
                if showing {
                    shown += piece
                    // One loan per staging buffer the piece lands in.
                    staged += (filled + size + buffer - 1) / buffer
                }
                filled = (filled + size) % buffer
            }
            try appender.drain()
        }
        #expect(FileManager.default.contents(atPath: path) == Data(all))
        #expect(recorder.seen == shown)
        #expect(recorder.borrowed == staged)
    }

    @Test func appendingGoesOnAfterADrain() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/out.bin", fd = try Self.openFile(path)
        defer { close(fd) }
        let first = Self.pattern(3 * DirectAppender.block + 10, seed: 1), second = Self.pattern(DirectAppender.bufferSize + 99, seed: 2)
        let appender = try #require(DirectAppender(path: path, displayPath: path, bufferedFD: fd, at: 0), "no O_DIRECT here")
        try first.withUnsafeBytes { try appender.append($0) }
        try appender.drain()
        #expect(FileManager.default.contents(atPath: path) == Data(first))
        try second.withUnsafeBytes { try appender.append($0) }  // the 10 bytes of the first drain's partial block are written again, whole
        try appender.drain()
        #expect(FileManager.default.contents(atPath: path) == Data(first + second))
    }

    @Test func aFailedWriteIsReportedWithTheOutputsName() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/out.bin", fd = try Self.openFile(path)
        defer { close(fd) }
        // What cannot go direct goes through this descriptor: /dev/full refuses every byte.
        let full = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(full >= 0)
        defer { close(full) }
        let appender = try #require(DirectAppender(path: path, displayPath: "model.safetensors", bufferedFD: full, at: 0), "no O_DIRECT here")
        try Self.pattern(100, seed: 3).withUnsafeBytes { try appender.append($0) }
        #expect(throws: CheckpointError.writeFailed(path: "model.safetensors", reason: String(cString: strerror(ENOSPC)))) { try appender.drain() }
        #expect(throws: CheckpointError.self) { try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try appender.append($0) } }
    }

    /// Through `FileBytes`, as the safetensors and `.pt` rewrites use it: a committed output holds
    /// every byte, and its observer saw each of them once, in order, most lent from the staging
    /// buffers; with or without direct I/O on the filesystem.
    @Test func aDirectOutputIsCommittedWholeAndSeenOnce() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transaction = OutputTransaction()
        let bytes = Self.pattern(DirectAppender.bufferSize * (DirectAppender.bufferCount + 2) + 12_345, seed: 4)
        let recorder = RecordingSink(lateBy: 2_000)  // late: a buffer reused too early shows as wrong bytes
        do {
            let file = try FileBytes(creating: transaction.temporaryFile(for: directory + "/out.safetensors"), direct: true)
            file.observer = recorder
            try bytes.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[..<5_000])) }
            try bytes.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[5_000...])) }
            #expect(file.position == bytes.count)
            try file.finishWrites()
        }
        try transaction.commit()
        #expect(FileManager.default.contents(atPath: directory + "/out.safetensors") == Data(bytes))
        let seen = recorder.seen
        let firstDifference = seen.indices.first { $0 >= bytes.count || seen[$0] != bytes[$0] }
        #expect(seen.count == bytes.count && firstDifference == nil,
                "\(seen.count) bytes seen of \(bytes.count); first difference at byte \(firstDifference.map(String.init) ?? "none")")
        // Lent: the six full buffers, then the whole blocks of the rest (12,288 bytes); copied: the last 57.
        #expect(recorder.borrowed == DirectAppender.bufferCount + 3)
    }
}
