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
