import Dispatch

/// Shows an HDF5 output's bytes to a sink (its digest) in file order while libhdf5 writes it.
///
/// libhdf5 writes metadata out of order and the superblock last, so a file's bytes could only be
/// hashed after it was closed: a second pass over the whole output, alone at the end of the run
/// (0.6–0.8 s for the 1 GiB bench model). Here a rehearsal has logged the file beforehand
/// (`HDF5PredictedFile`): its metadata and the zeros between are shown from that log as soon as
/// the order allows, each raw write as it is made (ahead of its turn it is kept, up to
/// `pendingLimit`). When the file is closed, its own log must equal the rehearsal's; if anything
/// differed, the sink is restarted and shown the file as written, read back.
final class HDF5StreamedOutput: HDF5WriteWatcher {
    /// The most bytes of raw writes kept while they wait for their turn.
    static let pendingLimit = 32 << 20

    let sink: any ByteSink
    let predicted: HDF5PredictedFile
    /// What the rewrite wrote, to compare with the prediction.
    let log = HDF5WriteLog()
    private let expectedSizes: [Int: Int]
    private var next = 0
    private var pending: [Int: [UInt8]] = [:]
    private var pendingBytes = 0
    private(set) var diverged = false

    enum Outcome: Equatable {
        /// The sink saw the file as it was written.
        case streamed
        /// The file was not what the rehearsal logged: the sink saw it read back.
        case readBack
    }

    init(sink: any ByteSink, predicted: HDF5PredictedFile) {
        self.sink = sink
        self.predicted = predicted
        var sizes: [Int: Int] = [:]
        for case .raw(let extent) in predicted.segments { sizes[extent.lowerBound] = extent.count }
        expectedSizes = sizes
        advance()
    }

    /// The sink, for a raw write that is the next segment to show: the writer may lend it the
    /// bytes (and say so to `wrote`) instead of this output copying them.
    func sink(forRawWriteAt address: Int, count: Int) -> (any ByteSink)? {
        isNext(address..<(address + count)) ? sink : nil
    }

    /// Whether a raw write of `extent` is the next segment to show, as the rehearsal logged it.
    private func isNext(_ extent: Range<Int>) -> Bool {
        !diverged && !extent.isEmpty && expectedSizes[extent.lowerBound] == extent.count
            && next < predicted.segments.count && predicted.segments[next] == .raw(extent)
    }

    /// Logs the write as the rehearsal did (an extent where it logged one there, else its bytes) and
    /// shows the sink what it can; `shown`, the writer showed it this write (`sink(forRawWriteAt:count:)`).
    func wrote(raw: Bool, address: Int, bytes: UnsafeRawBufferPointer, shown: Bool = false) {
        let extent = raw && expectedSizes[address] == bytes.count
        log.record(extent: extent, address: address, bytes: bytes)
        guard extent, !diverged, !bytes.isEmpty else { return }
        if isNext(address..<(address + bytes.count)) {
            if !shown { sink.consume(bytes) }
            next += 1
            advance()
        } else if shown {
            diverged = true  // cannot happen (it was lent as the next segment); if it did, the file is read back
        } else if pending[address] == nil, pendingBytes + bytes.count <= Self.pendingLimit, !isBehind(address) {
            pending[address] = Array(bytes)
            pendingBytes += bytes.count
        } else {
            diverged = true
        }
    }

    func truncated(to size: Int) { log.truncated(to: size) }

    /// After libhdf5 closed the file (`size` bytes): whether the sink saw it as written, or, when it
    /// did not, restarts the sink and shows it the file through `read` (`count` bytes at an offset).
    func finish(size: Int, read: (UnsafeMutableRawBufferPointer, Int) throws -> Void) throws -> Outcome {
        if !diverged, next == predicted.segments.count, pending.isEmpty, log.size == size, log == predicted.log { return .streamed }
        sink.restart()
        try Self.show(sink, size: size, read: read)
        return .readBack
    }

    /// Shows `sink` the `size` bytes `read` gives, in order: two 4 MiB buffers, one read while the
    /// sink takes the other without a copy.
    static func show(_ sink: any ByteSink, size: Int, read: (UnsafeMutableRawBufferPointer, Int) throws -> Void) throws {
        let part = 4 << 20
        let buffers = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * part, alignment: 4096)
        let free = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 1)]
        defer {
            for semaphore in free {  // the sink is done with both (a semaphore must end at its start value)
                semaphore.wait()
                semaphore.signal()
            }
            buffers.deallocate()
        }
        var offset = 0, index = 0
        while offset < size {
            free[index].wait()
            let buffer = UnsafeMutableRawBufferPointer(rebasing: buffers[(index * part)..<(index * part + min(part, size - offset))])
            do { try read(buffer, offset) } catch {
                free[index].signal()
                throw error
            }
            let done = free[index]
            sink.consume(borrowing: UnsafeRawBufferPointer(buffer)) { done.signal() }
            offset += buffer.count
            index = 1 - index
        }
    }

    /// Whether `address` lies in a segment already shown.
    private func isBehind(_ address: Int) -> Bool {
        guard next > 0 else { return false }
        switch predicted.segments[next - 1] {
        case .known(let range), .raw(let range): return address < range.upperBound
        }
    }

    /// Shows the known segments from the next one on, and raw ones kept for their turn, up to the
    /// first raw segment not written yet.
    private func advance() {
        while next < predicted.segments.count {
            switch predicted.segments[next] {
            case .known(let range):
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(range.count, 1 << 20), alignment: 64)
                defer { buffer.deallocate() }
                var position = range.lowerBound
                while position < range.upperBound {
                    let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, range.upperBound - position)])
                    predicted.log.metadata(position..<(position + part.count), into: part)
                    sink.consume(UnsafeRawBufferPointer(part))
                    position += part.count
                }
            case .raw(let range):
                guard let bytes = pending.removeValue(forKey: range.lowerBound) else { return }
                pendingBytes -= bytes.count
                bytes.withUnsafeBytes { sink.consume($0) }
            }
            next += 1
        }
    }
}

