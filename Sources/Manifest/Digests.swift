import Checkpoint
import Dispatch
import Foundation
import Synchronization

/// SHA-256 of several files, hashed on background threads while the caller goes on working
/// (the input is hashed while the output is being written); the small ones at idle priority
/// until they are waited for (`BackgroundFileDigest`).
public final class BackgroundDigests: Sendable {
    private let files: [BackgroundFileDigest]

    /// Starts hashing `paths` (duplicates once), each on a thread of its own, at normal priority.
    public init(_ paths: [String]) {
        files = Array(Set(paths)).map { BackgroundFileDigest(path: $0, idle: false) }
    }

    /// Starts hashing `paths` as `init(_:)` does, those no larger than `factor` times the files
    /// `reference` together at idle priority: a file hashed in less time than the run spends on
    /// `reference` can wait for the run's gaps.
    public init(_ paths: [String], idleUpTo factor: Int, timesTheSizeOf reference: [String]) {
        let limit = factor * reference.reduce(0) { $0 + (Self.size(of: $1) ?? 0) }
        files = Array(Set(paths)).map { path in
            BackgroundFileDigest(path: path, idle: Self.size(of: path).map { $0 <= limit } ?? false)
        }
    }

    private static func size(of path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    /// Hashes what is left of every file, on this thread where a background thread has not got
    /// to it; rethrows the first failure.
    public func wait() throws -> [String: [UInt8]] {
        var digests: [String: [UInt8]] = [:]
        for file in files { digests[file.path] = try file.finish() }
        return digests
    }

    /// Stops every background thread once it is out of the piece it is hashing (a failed run).
    public func cancel() {
        for file in files { file.stop() }
    }
}

/// Paths as records name them: relative to the record's directory where possible.
public enum RecordPaths {
    public static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `path` relative to `directory` ("a/b.h5", "../x/b.h5"; through the root if need be).
    public static func relative(_ path: String, to directory: String) -> String {
        let target = absolute(path).split(separator: "/")
        let base = absolute(directory).split(separator: "/")
        let common = zip(target, base).prefix { $0 == $1 }.count
        return (Array(repeating: "..", count: base.count - common) + target[common...].map(String.init)).joined(separator: "/")
    }

    /// The time for records: SOURCE_DATE_EPOCH (seconds) when set, else now; RFC 3339 in UTC.
    public static func timestamp(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let seconds = environment["SOURCE_DATE_EPOCH"].flatMap { Int64($0) }.map(TimeInterval.init) ?? Date().timeIntervalSince1970.rounded(.down)
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

/// A SHA-256 fed with a file's bytes as a rewrite reads or writes them, hashing on its own thread
/// so the rewrite does not wait for it. At most 16 MiB of copies are in flight; bytes just read
/// from a file are read again from it on the digest's thread instead (no copy, no wait).
public final class StreamingDigest: ByteSink, @unchecked Sendable {  // hasher, buffer and failure are only touched on `queue`
    private var hasher = SHA256()
    private let queue = DispatchQueue(label: "ckptforget.streaming-digest")
    private let slots = DispatchSemaphore(value: 16)
    /// For bytes read again, allocated when first needed.
    private var buffer: UnsafeMutableRawBufferPointer?
    /// The first failure to read bytes again; `finish` throws it.
    private var failure: (any Error)?
    /// Set by `cancel`: bytes still to be read again are skipped.
    private let cancelled = Atomic<Bool>(false)

    public init() {}

    deinit { buffer?.deallocate() }

    public func consume(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let chunk = Data(bytes[offset..<min(offset + (1 << 20), bytes.count)])
            offset += chunk.count
            slots.wait()
            queue.async { [self] in
                chunk.withUnsafeBytes(hasher.update)
                slots.signal()
            }
        }
    }

    /// Hashes `bytes` on the digest's thread, then calls `done`: no copy, for a writer that keeps
    /// the bytes until then anyway (`DirectAppender`'s staging buffers).
    public func consume(borrowing bytes: UnsafeRawBufferPointer, done: @escaping @Sendable () -> Void) {
        let borrowed = Borrowed(bytes: bytes)
        queue.async { [self] in
            hasher.update(borrowed.bytes)
            done()
        }
    }

    /// Reads the bytes again from `source` on the digest's thread, a MiB at a time: the reader
    /// has just read them, so they come from the page cache, and the reader goes on at once. A
    /// change to the file in between is the run's to catch (`InputWatch`): the digest is of what
    /// the file held when read again.
    public func consume(_ bytes: UnsafeRawBufferPointer, readableAgainFrom source: FileRange) {
        queue.async { [self] in
            guard failure == nil, !cancelled.load(ordering: .relaxed) else { return }
            let buffer = self.buffer ?? .allocate(byteCount: 1 << 20, alignment: 4096)
            self.buffer = buffer
            var done = 0
            while done < source.count {
                let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, source.count - done)])
                do {
                    try source.read(into: part, from: done)
                } catch {
                    failure = error
                    return
                }
                hasher.update(UnsafeRawBufferPointer(part))
                done += part.count
            }
        }
    }

    /// Bytes its lender keeps valid until `done` is called.
    private struct Borrowed: @unchecked Sendable { let bytes: UnsafeRawBufferPointer }

    public func restart() {
        queue.async { [self] in hasher = SHA256() }
    }

    /// Skips the bytes not read again yet (a failed run), and waits until the digest's thread is
    /// out of libcrypto.
    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
        queue.sync {}
    }

    /// Waits for the bytes consumed so far and returns their digest; throws when some could not
    /// be read again.
    public func finish() throws -> [UInt8] {
        try queue.sync {
            if let failure { throw failure }
            return hasher.finish()
        }
    }
}
