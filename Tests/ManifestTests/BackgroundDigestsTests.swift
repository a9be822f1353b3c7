import Foundation
import Testing
@testable import Manifest

/// Files hashed in the background: the same digest whether the background thread or the waiter
/// did the hashing, failures named, and a cancelled run's digests refused.
@Suite struct BackgroundDigestsTests {
    /// One million "a" (FIPS 180-2's long SHA-256 example) and the empty string's digest.
    private static let millionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    private static let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    private func files() throws -> (directory: String, a: String, empty: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckf-background-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (a, empty) = (directory + "/a.bin", directory + "/empty.bin")
        try Data(repeating: UInt8(ascii: "a"), count: 1_000_000).write(to: URL(fileURLWithPath: a))
        try Data().write(to: URL(fileURLWithPath: empty))
        return (directory, a, empty)
    }

    /// Waited for at once (the waiter hashes nearly all of it) and after the background thread
    /// had time to finish: the same digests, each file once.
    @Test(arguments: [false, true])
    func digestsDoNotDependOnWhoHashed(waitingLate: Bool) throws {
        let (directory, a, empty) = try files()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let digests = BackgroundDigests([a, empty, a])
        if waitingLate { Thread.sleep(forTimeInterval: 0.2) }
        let result = try digests.wait()
        #expect(result.mapValues(\.hex) == [a: Self.millionA, empty: Self.empty])
    }

    /// A file no larger than the limit is hashed on a thread in Linux's `SCHED_IDLE` class
    /// (policy 5: field 41 of `/proc/self/task/T/stat`). A FIFO holds the thread in `open` until
    /// the test writes "abc" to it, whose digest the wait then gives.
    @Test func smallFilesAreHashedAtIdlePriority() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckf-idle-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (fifo, reference) = (directory + "/fifo", directory + "/reference.bin")
        #expect(mkfifo(fifo, 0o600) == 0)
        try Data(count: 10).write(to: URL(fileURLWithPath: reference))
        let digests = BackgroundDigests([fifo], idleUpTo: 1, timesTheSizeOf: [reference])
        var idle = false
        for _ in 0..<500 where !idle {
            idle = Self.threadPolicies().contains(5)
            if !idle { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(idle)
        let writer = open(fifo, O_WRONLY)
        #expect(writer >= 0)
        #expect(write(writer, "abc", 3) == 3)
        close(writer)
        #expect(try digests.wait()[fifo]?.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// The scheduling policy of each of the process's threads.
    private static func threadPolicies() -> [Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { task in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                  let end = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: end)...].split(separator: " ")  // from field 3, the state
            return fields.count > 38 ? Int(fields[38]) : nil
        }
    }

    @Test func aFileThatCannotBeOpenedIsNamed() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("ckf-missing-\(UUID().uuidString)").path
        #expect(throws: SigningError.unreadable(path: missing, reason: "cannot open")) { try BackgroundDigests([missing]).wait() }
    }

    /// After `cancel` no digest is given out: none of them is of the whole file for certain.
    @Test func cancelledDigestsAreNotGivenOut() throws {
        let (directory, a, _) = try files()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let digests = BackgroundDigests([a])
        digests.cancel()
        #expect(throws: CancellationError.self) { try digests.wait() }
    }
}
