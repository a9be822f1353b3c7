import Dispatch
import Foundation

/// CRC-32 off the critical path: a range of a file checked in parts on every core (the parts'
/// CRCs joined with `crc32_combine`), and a CRC computed on a second thread while the caller writes
/// the bytes it was handed. zlib does ~2.4 GB/s on one core here, so one thread would cost a
/// gigabyte member 0.45 s on top of copying it.
enum ParallelCRC {
    /// Parts smaller than this are not worth a thread.
    static let minimumPart = 8 << 20

    /// The CRC-32 of `count` bytes of `file` at `offset`, read in parallel parts (not observed).
    static func of(_ file: FileBytes, count: Int, at offset: Int) throws -> UInt32 {
        let (parts, size) = partition(count)
        if parts == 1 { return try serial(file, count: count, at: offset) }
        let results = Results(count: parts)
        let shared = SharedFile(file: file)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let start = part * size, length = min(size, count - start)
            results.set(part, Result { try serial(shared.file, count: length, at: offset + start) })
        }
        return try joined(parts: parts, size: size, count: count) { try results.get($0) }
    }

    /// The CRC-32 of `bytes` in memory, in parts on every core: a `.pt` rewrite checks an edited
    /// storage's CRC on its way in and computes it on its way out, on the thread that reads and
    /// writes the file.
    static func of(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let (parts, size) = partition(bytes.count)
        let crcs = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: parts)
        defer { crcs.deallocate() }
        let shared = SharedParts(bytes: bytes, crcs: crcs)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            var crc = CRC32()
            crc.update(UnsafeRawBufferPointer(rebasing: shared.bytes[(part * size)..<min(shared.bytes.count, (part + 1) * size)]))
            shared.crcs[part] = crc.value
        }
        return joined(parts: parts, size: size, count: bytes.count) { crcs[$0] }
    }

    /// How `count` bytes are cut: as many parts as cores (at most 8), none under `minimumPart`,
    /// each `size` bytes but the last.
    private static func partition(_ count: Int) -> (parts: Int, size: Int) {
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, count / minimumPart, 8))
        return (parts, (count + parts - 1) / parts)
    }

    /// The parts' CRCs (`crc(part)`) joined into the CRC of the whole `count` bytes.
    private static func joined(parts: Int, size: Int, count: Int, _ crc: (Int) throws -> UInt32) rethrows -> UInt32 {
        var whole = try crc(0)
        for part in 1..<parts { whole = CRC32.combine(whole, try crc(part), secondLength: min(size, count - part * size)) }
        return whole
    }

    private static func serial(_ file: FileBytes, count: Int, at offset: Int) throws -> UInt32 {
        var crc = CRC32()
        guard count > 0 else { return crc.value }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(count, 1 << 20), alignment: 4096)
        defer { buffer.deallocate() }
        var done = 0
        while done < count {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, count - done)])
            try file.readUnobserved(into: piece, at: offset + done)
            crc.update(UnsafeRawBufferPointer(piece))
            done += piece.count
        }
        return crc.value
    }

    /// `readUnobserved` is a `pread` on the descriptor and touches no state of the object.
    private final class SharedFile: @unchecked Sendable {
        let file: FileBytes
        init(file: FileBytes) { self.file = file }
    }

    /// The bytes, read by every part, and one CRC slot per part, each written by its part alone.
    private struct SharedParts: @unchecked Sendable { let bytes: UnsafeRawBufferPointer, crcs: UnsafeMutableBufferPointer<UInt32> }

    private final class Results: @unchecked Sendable {  // each slot written by one thread, read after all finish
        private var slots: [Result<UInt32, any Error>?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ result: Result<UInt32, any Error>) { slots[index] = result }
        func get(_ index: Int) throws -> UInt32 { try slots[index]!.get() }
    }
}

/// Reads `count` bytes at `offset` in 1 MiB pieces into two alternating buffers and hands each to
/// `body` while the CRC of the previous one is computed on a second thread; returns the CRC.
/// The bytes are read through `file` (so its observer sees them, once, in order).
final class OverlappedCRCReader {
    private struct Piece: @unchecked Sendable { let bytes: UnsafeRawBufferPointer }  // owned by the reader until its semaphore is signalled
    private final class Box: @unchecked Sendable { var crc = CRC32() }  // touched only on `queue`

    static func stream(_ file: FileBytes, count: Int, at offset: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> UInt32 {
        let pieceSize = min(max(count, 1), 1 << 20)
        let buffers = (0..<2).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: pieceSize, alignment: 4096) }
        let free = (0..<2).map { _ in DispatchSemaphore(value: 1) }
        let queue = DispatchQueue(label: "ckptforget.crc")
        let box = Box()
        defer {
            queue.sync {}  // every piece handed over is done before its buffer goes
            buffers.forEach { $0.deallocate() }
        }
        var done = 0, index = 0
        while done < count {
            let slot = index % 2
            free[slot].wait()
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffers[slot][0..<min(pieceSize, count - done)])
            do {
                try file.read(into: piece, at: offset + done)
                try body(UnsafeRawBufferPointer(piece))
            } catch {
                free[slot].signal()
                throw error
            }
            let handed = Piece(bytes: UnsafeRawBufferPointer(piece))
            let semaphore = free[slot]
            queue.async {
                box.crc.update(handed.bytes)
                semaphore.signal()
            }
            done += piece.count
            index += 1
        }
        return queue.sync { box.crc.value }
    }
}
