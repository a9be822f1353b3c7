@testable import Checkpoint
import Foundation
import Testing
@testable import Manifest

/// A digest fed as a rewrite feeds it: bytes copied, lent, and read again from the file they
/// were read from, in any mix, hash as the file does; a range that cannot be read again is an
/// error of `finish`, naming the file.
@Suite struct StreamingDigestTests {
    /// One million "a": FIPS 180-2's long SHA-256 example.
    private static let millionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

    private func millionAFile() throws -> (directory: String, path: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckf-digest-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/a.bin"
        try Data(repeating: UInt8(ascii: "a"), count: 1_000_000).write(to: URL(fileURLWithPath: path))
        return (directory, path)
    }

    /// Pieces of every size from 1 byte to 572,441, taken in all three ways.
    @Test func copiedLentAndReadAgainBytesHashAsTheFile() throws {
        let (directory, path) = try millionAFile()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try FileBytes(reading: path)
        let digest = StreamingDigest()
        file.observer = digest
        let lent = UnsafeMutableRawBufferPointer.allocate(byteCount: 1_000_000, alignment: 16)
        defer { lent.deallocate() }
        let done = DispatchSemaphore(value: 0)
        var offset = 0
        for (k, size) in [1, 4095, 300_000, 7, 123_456, 572_441].enumerated() {
            let piece = UnsafeMutableRawBufferPointer(rebasing: lent[offset..<(offset + size)])
            switch k % 3 {
            case 0:
                try file.read(into: piece, at: offset)  // read again by the digest
            case 1:
                try file.readUnobserved(into: piece, at: offset)
                digest.consume(UnsafeRawBufferPointer(piece))
            default:
                try file.readUnobserved(into: piece, at: offset)
                digest.consume(borrowing: UnsafeRawBufferPointer(piece)) { done.signal() }
                done.wait()
            }
            offset += size
        }
        #expect(offset == 1_000_000)
        #expect(try digest.finish().hex == Self.millionA)
    }

    /// One range over three of the digest's 1 MiB reads and a few bytes more, read again whole:
    /// the same digest as the file hashed on its own.
    @Test func aRangeLargerThanTheReadBufferIsReadAgainWhole() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckf-digest-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/b.bin"
        try Data((0..<(3 << 20) + 5).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }).write(to: URL(fileURLWithPath: path))
        let file = try FileBytes(reading: path)
        let digest = StreamingDigest()
        digest.consume(UnsafeRawBufferPointer(start: nil, count: 0), readableAgainFrom: FileRange(file: file, offset: 0, count: (3 << 20) + 5))
        #expect(try digest.finish() == SHA256.digest(ofFile: path))
    }

    /// The file cut short before the digest read its bytes again: `finish` throws, naming it.
    @Test func bytesThatCannotBeReadAgainFailTheDigest() throws {
        let (directory, path) = try millionAFile()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try FileBytes(reading: path)
        let range = FileRange(file: file, offset: 500_000, count: 500_000)
        #expect(truncate(path, 600_000) == 0)
        let digest = StreamingDigest()
        digest.consume(UnsafeRawBufferPointer(start: nil, count: 0), readableAgainFrom: range)
        #expect {
            _ = try digest.finish()
        } throws: { error in
            guard case CheckpointError.unreadable(let named, let reason) = error else { return false }
            return named == path && reason.contains("end of file")
        }
    }
}
