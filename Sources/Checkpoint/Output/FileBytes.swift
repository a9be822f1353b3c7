#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file descriptor opened for reading or writing raw bytes, closed on deinit. Used by the
/// safetensors backend and the atomic-output code; HDF5 does its own I/O.
final class FileBytes {
    /// The file's path; for a temporary output, the final path it will have.
    let path: String
    let fd: Int32
    /// Sees every byte read (input) or written (output) while set, in the order of the calls.
    var observer: (any ByteSink)? {
        didSet { appender?.observer = observer }
    }
    /// Where the next `write` goes (files being written).
    private(set) var position = 0

    /// Opens `path` read-only; it must be a regular file (`RegularFile.openForReading`), so that no
    /// input can block the run.
    init(reading path: String) throws {
        self.path = path
        fd = try RegularFile.openForReading(path)
    }

    /// Opens a transaction's temporary file for writing, creating it (mode 0666 & ~umask) when it
    /// does not exist yet; opened for reading too, so what was written can be read back (a zip
    /// member's CRC).
    ///
    /// With `direct`, what `write` appends goes to the disk past the page cache
    /// (`DirectAppender`) where the filesystem allows, and `finishWrites` must be called once the
    /// last byte is appended, before anything reads the file back; for files written from start to
    /// end (safetensors, `.pt`).
    init(creating temporary: TemporaryFile, direct: Bool = false) throws {
        path = temporary.final  // what messages name: the temporary file's name means nothing to a user
        fd = temporary.exists ? open(temporary.path, O_RDWR | O_CLOEXEC)
            : OutputTransaction.creatingFile { open(temporary.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o666) }
        guard fd >= 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        if direct { appender = DirectAppender(path: temporary.path, displayPath: path, bufferedFD: fd, at: 0) }
    }

    deinit {
        appender = nil  // its writes finish before the descriptor closes
        close(fd)
        if let buffer = allocatedCopyBuffer { buffer.deallocate() }
    }

    var size: Int {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    /// Reads exactly `buffer.count` bytes at `offset`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        try readUnobserved(into: buffer, at: offset)
        observer?.consume(UnsafeRawBufferPointer(buffer), readableAgainFrom: FileRange(file: self, offset: offset, count: buffer.count))
    }

    /// Reads exactly `buffer.count` bytes at `offset` without showing them to the observer (a check
    /// that reads some bytes a second time). Safe from several threads at once.
    func readUnobserved(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw CheckpointError.unreadable(path: path, reason: n == 0 ? "unexpected end of file at byte \(offset + done)" : String(cString: strerror(errno)))
            }
            done += n
        }
    }

    func read(count: Int, at offset: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        return bytes
    }

    /// Appends `bytes` at the current position.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let appender {
            try appender.append(bytes)  // which shows the observer the bytes
            position += bytes.count
            return
        }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
            done += n
        }
        position += bytes.count
        observer?.consume(bytes)
    }

    /// Writes what `write` appended, when it went through a `DirectAppender`, and waits for it; a
    /// direct writer must call this after its last byte. Later calls to anything but `write` use
    /// the ordinary descriptor alone.
    func finishWrites() throws {
        guard let appender else { return }
        self.appender = nil
        try appender.drain()
    }

    /// Appends directly when made so, until `finishWrites`.
    private var appender: DirectAppender?

    /// Writes `bytes` at `offset` without moving `position` (a header filled in afterwards); not observed.
    func write(_ bytes: [UInt8], at offset: Int) throws {
        try finishWrites()
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
            done += n
        }
    }

    /// Cuts the file at `length` (bytes someone else wrote past the end are dropped).
    func truncate(at length: Int) throws {
        try finishWrites()
        guard ftruncate(fd, off_t(length)) == 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Moves `position` (bytes written at offsets by someone else, such as libhdf5, are skipped).
    func seek(to offset: Int) throws {
        try finishWrites()
        guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
            throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        position = offset
    }

    /// Appends `count` bytes of `source` starting at `offset`, through a 1 MiB buffer (measured
    /// faster here than `sendfile` or `copy_file_range` for page-cached files, and it leaves the
    /// bytes in hand for whoever needs to see them).
    func append(from source: FileBytes, offset: Int, count: Int) throws {
        var remaining = count, position = offset
        while remaining > 0 {
            let part = UnsafeMutableRawBufferPointer(rebasing: copyBuffer[0..<min(copyBuffer.count, remaining)])
            try source.read(into: part, at: position)
            try write(UnsafeRawBufferPointer(part))
            position += part.count
            remaining -= part.count
        }
    }

    /// Allocated on first use and kept for the file's lifetime.
    private var copyBuffer: UnsafeMutableRawBufferPointer {
        if let allocatedCopyBuffer { return allocatedCopyBuffer }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        allocatedCopyBuffer = buffer
        return buffer
    }

    private var allocatedCopyBuffer: UnsafeMutableRawBufferPointer?

    /// The first `count` bytes of `path` (fewer if the file is shorter).
    static func prefix(of path: String, count: Int) throws -> [UInt8] {
        let file = try FileBytes(reading: path)
        let n = min(count, file.size)
        return try file.read(count: n, at: 0)
    }
}
