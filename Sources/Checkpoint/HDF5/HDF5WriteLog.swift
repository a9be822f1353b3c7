/// Told of every write libhdf5 makes through `HDF5ByteRange`, and of the size the file is cut to
/// when it closes.
protocol HDF5WriteWatcher: AnyObject {
    /// `raw` for raw data (a dataset's values), false for metadata, which libhdf5 may write again.
    /// `shown`: the sink `sink(forRawWriteAt:count:)` gave for this write was shown its bytes.
    func wrote(raw: Bool, address: Int, bytes: UnsafeRawBufferPointer, shown: Bool)
    func truncated(to size: Int)
    /// A sink that the writer may show the bytes of a raw write of `count` bytes at `address`
    /// itself, from a copy it makes anyway (`HDF5DirectOutput`'s staging), before `wrote`.
    func sink(forRawWriteAt address: Int, count: Int) -> (any ByteSink)?
}

extension HDF5WriteWatcher {
    func sink(forRawWriteAt address: Int, count: Int) -> (any ByteSink)? { nil }
}

/// What libhdf5 wrote into a file: the final bytes of its metadata and of small raw data (by 4 KiB
/// page, with which bytes were written) and the extents of the other raw data writes, in the order
/// they came. A rehearsal of a rewrite (the same calls, with the edited values left as zeros) logs
/// the file the rewrite will write; the rewrite's own log then shows whether it did.
final class HDF5WriteLog: HDF5WriteWatcher, Equatable {
    static let pageSize = 4096
    /// The most pages a log keeps (16 MiB of bytes); past that it keeps none and says so.
    static let pageLimit = 4_096

    struct Page: Equatable {
        var bytes = [UInt8](repeating: 0, count: HDF5WriteLog.pageSize)
        var written = [Bool](repeating: false, count: HDF5WriteLog.pageSize)
    }

    private(set) var pages: [Int: Page] = [:]
    /// The writes logged as extents (raw data whose bytes are not kept), in order.
    private(set) var raw: [Range<Int>] = []
    /// The file's size: the furthest write's end, then what libhdf5 cut it to at close.
    private(set) var size = 0
    /// Whether the metadata outgrew `pageLimit` (the log then predicts nothing).
    private(set) var overflowed = false

    /// The same file: size, kept bytes and extents (in any order: the file is the same).
    static func == (a: HDF5WriteLog, b: HDF5WriteLog) -> Bool {
        let byStart = { (x: Range<Int>, y: Range<Int>) in (x.lowerBound, x.upperBound) < (y.lowerBound, y.upperBound) }
        return a.size == b.size && a.overflowed == b.overflowed && a.raw.sorted(by: byStart) == b.raw.sorted(by: byStart) && a.pages == b.pages
    }

    /// Raw data writes smaller than this are kept whole unless they hold edited values: libhdf5
    /// writes global heap collections (variable-length attributes) as raw data, and late, at low
    /// addresses; a dataset's values come in blocks of 1 MiB.
    static let keptRawLimit = 64 << 10
    /// Set by a rehearsal while it writes (and closes) an edited dataset: the raw data written
    /// meanwhile is values, whose bytes the rewrite will make.
    var writingValues = false
    /// Set by a rehearsal while libhdf5 copies an object whole (`H5Ocopy`): the raw data written
    /// meanwhile is the copied datasets' values (a compressed dataset's chunks, many under
    /// `keptRawLimit`), written then and in order, which the rewrite writes the same.
    var copyingObjects = false

    /// A rehearsal's write: metadata is kept whole, and so is raw data that is not values and is
    /// a global heap collection or, unless an object is being copied whole, small; other raw data
    /// as its extent.
    func wrote(raw: Bool, address: Int, bytes: UnsafeRawBufferPointer, shown: Bool = false) {
        let heap = bytes.count >= 5 && bytes.prefix(5).elementsEqual([0x47, 0x43, 0x4F, 0x4C, 0x01])  // "GCOL", version 1
        record(extent: raw && (writingValues || ((copyingObjects || bytes.count >= Self.keptRawLimit) && !heap)), address: address, bytes: bytes)
    }

    /// Logs a write: as its extent alone, or its bytes kept.
    func record(extent: Bool, address: Int, bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        size = max(size, address + bytes.count)
        if extent {
            raw.append(address..<(address + bytes.count))
            return
        }
        guard !overflowed else { return }
        var done = 0
        while done < bytes.count {
            let position = address + done, index = position / Self.pageSize, within = position % Self.pageSize
            let count = min(bytes.count - done, Self.pageSize - within)
            if pages[index] == nil {
                guard pages.count < Self.pageLimit else {
                    overflowed = true
                    pages = [:]
                    return
                }
                pages[index] = Page()
            }
            pages[index]!.bytes.withUnsafeMutableBytes { page in
                page.baseAddress!.advanced(by: within).copyMemory(from: bytes.baseAddress!.advanced(by: done), byteCount: count)
            }
            pages[index]!.written.withUnsafeMutableBufferPointer { $0[within..<(within + count)].update(repeating: true) }
            done += count
        }
    }

    func truncated(to size: Int) { self.size = size }

    /// Copies the metadata bytes at `address` into `buffer` (zeros where nothing was written), as a
    /// rehearsal's reads need them; false when the range holds raw data, whose bytes are not kept.
    func read(_ address: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        let range = address..<(address + buffer.count)
        guard !raw.contains(where: { $0.overlaps(range) }) else { return false }
        metadata(range, into: buffer)
        return true
    }

    /// The final kept bytes of `range`, zeros where nothing was kept.
    func metadata(_ range: Range<Int>, into buffer: UnsafeMutableRawBufferPointer) {
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        overlay(range, onto: buffer)
    }

    /// Whether the bytes of `count` more at `address` fit under `pageLimit`.
    func fits(_ address: Int, _ count: Int) -> Bool {
        guard count > 0 else { return true }
        var added = 0
        for index in (address / Self.pageSize)...((address + count - 1) / Self.pageSize) where pages[index] == nil { added += 1 }
        return pages.count + added <= Self.pageLimit
    }

    /// Copies the kept bytes of `range` over `buffer` (which holds the range), leaving the rest.
    func overlay(_ range: Range<Int>, onto buffer: UnsafeMutableRawBufferPointer) {
        forEachWrittenRun(in: range) { address, bytes in
            buffer.baseAddress!.advanced(by: address - range.lowerBound).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
    }

    /// Calls `body` with each run of kept bytes (its address and bytes), in address order, within
    /// `range` (all of them by default).
    func forEachWrittenRun(in range: Range<Int> = 0..<Int.max, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard !range.isEmpty, !pages.isEmpty else { return }
        let first = range.lowerBound / Self.pageSize, last = (range.upperBound - 1) / Self.pageSize
        // The range's pages where it spans fewer than are kept, else the kept ones in it.
        let indices = last - first < pages.count ? Array(first...last) : pages.keys.filter { (first...last).contains($0) }.sorted()
        for index in indices {
            guard let page = pages[index] else { continue }
            let base = index * Self.pageSize
            let low = max(range.lowerBound - base, 0), high = min(range.upperBound - base, Self.pageSize)
            var start = low
            while start < high {
                guard page.written[start] else { start += 1; continue }
                var end = start
                while end < high, page.written[end] { end += 1 }
                try page.bytes.withUnsafeBytes { try body(base + start, UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                start = end
            }
        }
    }

    /// Whether any byte of `range` was written as metadata.
    func holdsMetadata(in range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return false }
        for index in (range.lowerBound / Self.pageSize)...((range.upperBound - 1) / Self.pageSize) {
            guard let page = pages[index] else { continue }
            let start = max(range.lowerBound - index * Self.pageSize, 0), end = min(range.upperBound - index * Self.pageSize, Self.pageSize)
            if page.written[start..<end].contains(true) { return true }
        }
        return false
    }
}

/// The file a rehearsal logged, in order: stretches whose bytes are known now (metadata, and the
/// zeros between) and the raw data writes that will fill the rest.
struct HDF5PredictedFile {
    enum Segment: Equatable {
        case known(Range<Int>)
        case raw(Range<Int>)
    }

    let log: HDF5WriteLog
    let segments: [Segment]

    /// Nil when the log cannot predict the file: too much metadata, or raw writes that overlap
    /// each other or metadata (space written twice).
    init?(_ log: HDF5WriteLog) {
        guard !log.overflowed else { return nil }
        var segments: [Segment] = []
        var position = 0
        for extent in log.raw.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            guard extent.lowerBound >= position, extent.upperBound <= log.size, !log.holdsMetadata(in: extent) else { return nil }
            if extent.lowerBound > position { segments.append(.known(position..<extent.lowerBound)) }
            segments.append(.raw(extent))
            position = extent.upperBound
        }
        if position < log.size { segments.append(.known(position..<log.size)) }
        self.log = log
        self.segments = segments
    }
}
