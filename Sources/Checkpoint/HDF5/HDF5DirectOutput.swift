#if canImport(Glibc)
import Glibc
#endif

/// An HDF5 output written past the page cache, as `DirectAppender` writes safetensors: raw data
/// that continues the file (after a gap of at most `largestGap`, appended as zeros) goes to the
/// disk with `O_DIRECT`; everything else (metadata, which libhdf5 writes again and again and last
/// of all, and raw data written anywhere else or over kept bytes) is kept in memory, the latest
/// write of each byte, and written through the ordinary descriptor over the appended bytes when
/// libhdf5 cuts the file at close. Past `HDF5WriteLog.pageLimit` of kept bytes it writes what it
/// holds and goes on through the ordinary descriptor alone.
final class HDF5DirectOutput {
    static let largestGap = 1 << 20
    private static let zeros = [UInt8](repeating: 0, count: largestGap)

    private var appender: DirectAppender?
    private let fd: Int32
    private var kept = HDF5WriteLog()
    /// Where the appended bytes end.
    private var frontier = 0
    private(set) var failure: String?

    /// Nil when the file cannot be written directly (its filesystem refuses `O_DIRECT`).
    init?(path: String, displayPath: String, fd: Int32) {
        guard let appender = DirectAppender(path: path, displayPath: displayPath, bufferedFD: fd, at: 0) else { return nil }
        self.appender = appender
        self.fd = fd
    }

    /// Writes (or keeps) `bytes` at `address`; false, and `failure` said, when a write failed.
    /// `sink`, when given, wants to see raw bytes that are appended: it is lent the staged copy,
    /// and `shown` says whether it was (else it has not seen them).
    func write(_ address: Int, _ bytes: UnsafeRawBufferPointer, raw: Bool, showing sink: (any ByteSink)? = nil, shown: inout Bool) -> Bool {
        shown = false
        do {
            let end = address + bytes.count
            if let appender, raw, address >= frontier, address - frontier <= Self.largestGap, !kept.holdsMetadata(in: address..<end) {
                if address > frontier { try Self.zeros.withUnsafeBytes { try appender.append(UnsafeRawBufferPointer(rebasing: $0[0..<(address - frontier)])) } }
                try appender.append(bytes, showing: sink)
                shown = sink != nil
                frontier = end
                return true
            }
            if appender != nil, kept.fits(address, bytes.count) {
                kept.record(extent: false, address: address, bytes: bytes)
                return true
            }
            return writeOut() && pwriteAll(bytes, at: address)
        } catch {
            return failed(error)
        }
    }

    /// Reads `buffer.count` bytes at `address` as the file will hold them.
    func read(_ address: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        do {
            try appender?.drain()
            var done = 0
            while done < buffer.count {
                let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(address + done))
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { failure = String(cString: strerror(errno)); return false }
                if n == 0 {  // past the end: zeros, as a file reads
                    UnsafeMutableRawBufferPointer(rebasing: buffer[done...]).initializeMemory(as: UInt8.self, repeating: 0)
                    break
                }
                done += n
            }
            kept.overlay(address..<(address + buffer.count), onto: buffer)
            return true
        } catch {
            return failed(error)
        }
    }

    /// Writes what is appended and what is kept; from then on every write goes through the
    /// ordinary descriptor. False (and `failure` said) when a write failed.
    func writeOut() -> Bool {
        guard let appender else { return failure == nil }
        do { try appender.drain() } catch { return failed(error) }
        self.appender = nil  // waits for its writes
        var written = true
        kept.forEachWrittenRun { address, bytes in
            if written { written = pwriteAll(bytes, at: address) }
        }
        kept = HDF5WriteLog()
        return written
    }

    private func failed(_ error: any Error) -> Bool {
        if case CheckpointError.writeFailed(_, let reason) = error { failure = reason } else { failure = "\(error)" }
        return false
    }

    private func pwriteAll(_ bytes: UnsafeRawBufferPointer, at address: Int) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(address + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { failure = String(cString: strerror(errno)); return false }
            done += n
        }
        return true
    }
}
