import Foundation
import Testing
@testable import Checkpoint

/// The write-behind thread keeps descriptors of the files being written. They must not outlive the
/// transaction: an aborted file without a name would otherwise keep its disk space, and a
/// committed one an open descriptor, for as long as the process runs.
@Suite struct WriteBehindTests {
    /// The descriptors of this process that point into `directory` (a file without a name shows as
    /// `directory/#inode (deleted)`).
    private func descriptors(into directory: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
            .filter { $0.hasPrefix(directory + "/") }
    }

    /// Waits up to 5 s for `condition`, checking every 10 ms.
    private func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test func anAbortedFileWithoutANameIsReleased() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transaction = OutputTransaction()
        let temporary = transaction.temporaryFile(for: directory + "/out.bin")
        try #require(temporary.exists, "this filesystem has no O_TMPFILE")
        do {
            let file = try FileBytes(creating: temporary)
            try [UInt8](repeating: 7, count: 1 << 20).withUnsafeBytes { try file.write($0) }
        }
        // The transaction's descriptor and the write-behind's own copy.
        #expect(eventually { descriptors(into: directory).count == 2 }, "\(descriptors(into: directory))")
        transaction.abort()
        #expect(eventually { descriptors(into: directory).isEmpty }, "\(descriptors(into: directory))")
    }

    @Test func aNamedFileIsFollowedOnceItExistsAndLetGoAtCommit() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transaction = OutputTransaction()
        let temporary = transaction.temporaryFile(for: directory + "/out.h5", named: true)
        #expect(!temporary.exists)
        usleep(120_000)  // two of the thread's turns: nothing to open yet
        #expect(descriptors(into: directory).isEmpty)
        try Data(repeating: 1, count: 1 << 20).write(to: URL(fileURLWithPath: temporary.path))
        #expect(eventually { descriptors(into: directory) == [temporary.path] }, "\(descriptors(into: directory))")
        try transaction.commit()
        #expect(eventually { descriptors(into: directory).isEmpty }, "\(descriptors(into: directory))")
        #expect(FileManager.default.contents(atPath: directory + "/out.h5") == Data(repeating: 1, count: 1 << 20))
    }
}
