#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// Appends to an output file with `O_DIRECT`: the bytes are copied into aligned staging buffers,
/// and a background thread writes each full buffer straight to the disk, past the page cache.
/// A written checkpoint must reach the disk before commit renames it anyway (its fsync); through
/// the page cache it is copied there first, and on the bench machine that copy cost more than the
/// disk: `dd` of 1 GiB took 2.5–3.0 s of kernel CPU buffered, then 0.4–0.5 s to sync, against
/// 0.6–0.8 s and 0.2 s of CPU direct. Bytes that cannot go direct (a tail shorter than a block,
/// a filesystem that refuses) are written through the file's ordinary descriptor instead, so the
/// file ends the same either way.
final class DirectAppender {
    /// Offsets, lengths and buffer addresses of direct writes are multiples of this (the largest
    /// logical block size in common use).
    static let block = 4096
    static let bufferSize = 4 << 20
    static let bufferCount = 4

    private struct Buffer: @unchecked Sendable { let bytes: UnsafeMutableRawBufferPointer }  // owned by the writer queue between hand-off and its slot's signal

    /// What the writer thread shares with the appender.
    private final class Writer: Sendable {
        let path: String
        let directFD: Int32, bufferedFD: Int32
        let queue = DispatchQueue(label: "ckptforget.direct-writes")
        let slots = DispatchSemaphore(value: DirectAppender.bufferCount)
        /// The first failure; later writes are skipped. `direct` turns false when the filesystem
        /// refuses a direct write, and every later write goes through the buffered descriptor.
        let state = Mutex<(failure: CheckpointError?, direct: Bool)>((nil, true))

        init(path: String, directFD: Int32, bufferedFD: Int32) {
            self.path = path
            self.directFD = directFD
            self.bufferedFD = bufferedFD
        }

        /// Writes `bytes` at `offset`: directly when `direct` (both aligned) and the filesystem
        /// has not refused a direct write yet, else, and for the rest of a write that came back
        /// short of a block, through the buffered descriptor.
        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int, direct: Bool) {
            guard state.withLock({ $0.failure == nil }) else { return }
            var done = 0
            while done < bytes.count {
                let useDirect = direct && state.withLock { $0.direct } && done % DirectAppender.block == 0
                let n = pwrite(useDirect ? directFD : bufferedFD, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                if n < 0 && useDirect && errno == EINVAL {
                    state.withLock { $0.direct = false }
                    continue
                }
                guard n > 0 else {
                    let reason = n == 0 ? "no bytes written" : String(cString: strerror(errno))
                    state.withLock { $0.failure = $0.failure ?? .writeFailed(path: path, reason: reason) }
                    return
                }
                done += n
            }
        }

        func failure() -> CheckpointError? { state.withLock { $0.failure } }
    }

    private let writer: Writer
    private let buffers: [UnsafeMutableRawBufferPointer]
    /// One per buffer: the loans of its bytes to sinks not returned yet. A buffer is written to
    /// again only after its loans are back.
    private let loans: [DispatchGroup]
    /// The buffer being filled, how much of it is, and the file offset of its first byte (aligned).
    private var current = 0, filled = 0, start: Int
    /// Sees every byte appended, in order, lent from the staging buffers (no copy) as each is
    /// handed off; `shown` bytes of the current buffer were shown already (a drain's partial block).
    var observer: (any ByteSink)?
    private var shown = 0

    /// Opens `path` again with `O_DIRECT` for appending from `offset`; nil when `offset` is not
    /// aligned or the filesystem refuses direct I/O.
    /// `bufferedFD` is the file's ordinary descriptor, used for what cannot go direct.
    init?(path: String, displayPath: String, bufferedFD: Int32, at offset: Int) {
        guard offset % Self.block == 0 else { return nil }
        let directFD = open(path, O_WRONLY | __O_DIRECT | O_CLOEXEC)
        guard directFD >= 0 else { return nil }
        // Mapped, not allocated: the process keeps freed heap memory (AllocatorTuning), and a
        // sharded checkpoint's outputs, each with buffers of its own, grew the peak RSS of an 8 GiB
        // run by 89 MiB; a mapping goes back to the kernel when the file is done.
        guard let memory = mmap(nil, Self.bufferCount * Self.bufferSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED else {
            close(directFD)
            return nil
        }
        writer = Writer(path: displayPath, directFD: directFD, bufferedFD: bufferedFD)
        buffers = (0..<Self.bufferCount).map { UnsafeMutableRawBufferPointer(start: memory + $0 * Self.bufferSize, count: Self.bufferSize) }
        loans = (0..<Self.bufferCount).map { _ in DispatchGroup() }
        start = offset
        writer.slots.wait()  // the first buffer is the appender's
    }

    deinit {
        writer.queue.sync {}  // no write still reads a buffer
        for loan in loans { loan.wait() }  // nor a sink (the current buffer's loans are not the writer's to wait for)
        writer.slots.signal()  // the current buffer's slot: libdispatch traps on a semaphore freed below its start value
        munmap(buffers[0].baseAddress, Self.bufferCount * Self.bufferSize)
        close(writer.directFD)
    }

    /// Copies `bytes` into the staging buffers, handing each full one to the writer thread; `sink`,
    /// when given, is lent each staged piece as it is copied (the only copy made). Not for an
    /// appender with an `observer`, which is shown every byte anyway. Throws the first failure
    /// of an earlier write.
    func append(_ bytes: UnsafeRawBufferPointer, showing sink: (any ByteSink)? = nil) throws {
        precondition(sink == nil || observer == nil, "an appender's bytes shown twice")
        if let failure = writer.failure() { throw failure }
        var done = 0
        while done < bytes.count {
            let count = min(Self.bufferSize - filled, bytes.count - done)
            let staged = UnsafeMutableRawBufferPointer(rebasing: buffers[current][filled..<(filled + count)])
            staged.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[done..<(done + count)]))
            if let sink { lend(UnsafeRawBufferPointer(staged), to: sink) }
            filled += count
            done += count
            if filled == Self.bufferSize { handOff(filled) }
        }
    }

    /// Writes everything appended so far and waits for it: the whole blocks directly, the last
    /// partial block through the buffered descriptor. Appending may go on after it.
    func drain() throws {
        let staged = filled, whole = filled / Self.block * Self.block
        if whole > 0 {
            let previous = current
            handOff(whole)
            // The partial block starts the next buffer: it stays staged, so later direct writes
            // stay aligned (it is written again, whole, when that buffer is handed off).
            UnsafeMutableRawBufferPointer(rebasing: buffers[current][0..<(staged - whole)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: buffers[previous][whole..<staged]))
            filled = staged - whole
        }
        writer.queue.sync {}
        if filled > 0 { writer.write(UnsafeRawBufferPointer(rebasing: buffers[current][0..<filled]), at: start, direct: false) }
        if let observer, shown < filled {
            observer.consume(UnsafeRawBufferPointer(rebasing: buffers[current][shown..<filled]))  // copied: the buffer fills on
            shown = filled
        }
        if let failure = writer.failure() { throw failure }
    }

    /// Lends `bytes`, in the current buffer, to `sink`: the buffer is not reused until it is done.
    private func lend(_ bytes: UnsafeRawBufferPointer, to sink: any ByteSink) {
        let loan = loans[current]
        loan.enter()
        sink.consume(borrowing: bytes) { loan.leave() }
    }

    /// Gives the first `count` bytes (whole blocks) of the current buffer to the writer thread and
    /// moves on to the next buffer, once the writer is done with it.
    /// The observer reads the buffer while it is written; the slot is free when both are done.
    private func handOff(_ count: Int) {
        let buffer = Buffer(bytes: buffers[current]), offset = start, writer = writer, loan = loans[current]
        if let observer, shown < count { lend(UnsafeRawBufferPointer(rebasing: buffers[current][shown..<count]), to: observer) }
        writer.queue.async {
            writer.write(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count]), at: offset, direct: true)
            loan.wait()
            writer.slots.signal()
        }
        current = (current + 1) % Self.bufferCount
        start += count
        filled = 0
        shown = 0
        writer.slots.wait()
    }
}
