internal import CHDF5
#if canImport(Glibc)
import Glibc
#endif

/// A byte range of an open file that libhdf5 sees as a whole HDF5 file: a stored zip member read in
/// place (the weights of a `.keras` archive), the region of an archive being written where a
/// member's HDF5 bytes go, or all of an HDF5 output. HDF5 addresses are offsets from `base`;
/// nothing is extracted to a temporary file, so a read writes nothing and a crash leaves nothing
/// behind.
final class HDF5ByteRange {
    let fd: Int32
    let base: Int
    /// Readable bytes (a member's size); grows as HDF5 writes when `writable`.
    private(set) var length: Int
    let writable: Bool
    /// HDF5's end of allocated space, as it sets it.
    fileprivate var endOfAllocation: haddr_t = 0
    /// Set when HDF5 closes the file (every object released).
    fileprivate(set) var closed = false
    /// Why a read or write failed, for the error message (HDF5 reports only that the driver failed).
    fileprivate(set) var failure: String?

    /// The `length` bytes at `base` of `fd`, read-only.
    init(reading fd: Int32, base: Int, length: Int) {
        self.fd = fd
        self.base = base
        self.length = length
        writable = false
        wholeFile = false
        rehearsal = nil
    }

    /// Whether the range is a whole file, cut to HDF5's end of allocation when it closes (as the
    /// sec2 driver does), rather than a member whose length its archive records.
    let wholeFile: Bool

    /// Told of every write, after it is made.
    var watcher: (any HDF5WriteWatcher)?
    /// Where a whole file's writes go when it is written past the page cache (until it is cut).
    var direct: HDF5DirectOutput?
    /// The log a rehearsal writes into instead of a file (writes are logged, not made).
    private let rehearsal: HDF5WriteLog?

    /// An empty range at `base` of `fd`, which HDF5 fills; `wholeFile` when it is all of a new file.
    init(writing fd: Int32, base: Int, wholeFile: Bool = false) {
        self.fd = fd
        self.base = base
        length = 0
        writable = true
        self.wholeFile = wholeFile
        rehearsal = nil
    }

    /// A file that exists only as `log`: libhdf5's metadata is kept there, its raw data only as
    /// extents (reading raw data back fails).
    init(rehearsingInto log: HDF5WriteLog) {
        fd = -1
        base = 0
        length = 0
        writable = true
        wholeFile = true
        rehearsal = log
        watcher = log
    }

    /// A file access property list that opens this range through the driver; the range must
    /// outlive every file opened with it.
    func accessList() throws(HDF5Failure) -> H5ID {
        let fapl = try H5ID(.plist, H5Pcreate(ckf_H5P_FILE_ACCESS()), "H5Pcreate(file access)")
        var info = Unmanaged.passUnretained(self).toOpaque()
        try HDF5.check(H5Pset_driver(fapl.raw, try HDF5MemberDriver.id(), &info), "H5Pset_driver(zip member)")
        return fapl
    }

    fileprivate func read(_ address: haddr_t, _ size: Int, into buffer: UnsafeMutableRawPointer) -> Bool {
        guard let start = Int(exactly: address), start <= Int.max - size else { failure = "address \(address) out of range"; return false }
        if let rehearsal {
            guard rehearsal.read(start, into: UnsafeMutableRawBufferPointer(start: buffer, count: size)) else {
                failure = "a rehearsal read raw data back"
                return false
            }
            return true
        }
        if let direct {
            guard direct.read(start, into: UnsafeMutableRawBufferPointer(start: buffer, count: size)) else {
                failure = direct.failure
                return false
            }
            return true
        }
        // Past the end reads as zeros, as past the end of a file does; never the archive's next bytes.
        let available = max(0, min(size, length - start))
        if available < size { buffer.advanced(by: available).initializeMemory(as: UInt8.self, repeating: 0, count: size - available) }
        var done = 0
        while done < available {
            let n = pread(fd, buffer + done, available - done, off_t(base + start + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { failure = n == 0 ? "unexpected end of file" : String(cString: strerror(errno)); return false }
            done += n
        }
        return true
    }

    fileprivate func write(_ address: haddr_t, _ size: Int, from buffer: UnsafeRawPointer, raw: Bool) -> Bool {
        guard writable else { failure = "the member is opened read-only"; return false }
        guard let start = Int(exactly: address), start <= Int.max - size else { failure = "address \(address) out of range"; return false }
        var shown = false
        if let direct {
            let sink = raw ? watcher?.sink(forRawWriteAt: start, count: size) : nil
            guard direct.write(start, UnsafeRawBufferPointer(start: buffer, count: size), raw: raw, showing: sink, shown: &shown) else {
                failure = direct.failure
                return false
            }
        }
        var done = 0
        while rehearsal == nil, direct == nil, done < size {
            let n = pwrite(fd, buffer + done, size - done, off_t(base + start + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { failure = String(cString: strerror(errno)); return false }
            done += n
        }
        length = max(length, start + size)
        watcher?.wrote(raw: raw, address: start, bytes: UnsafeRawBufferPointer(start: buffer, count: size), shown: shown)
        return true
    }

    /// HDF5 truncates to its end of allocation when it closes a file it wrote.
    fileprivate func truncate() -> Bool {
        guard writable, let end = Int(exactly: endOfAllocation) else { return true }
        if let direct {
            guard direct.writeOut() else {
                failure = direct.failure
                return false
            }
            self.direct = nil
        }
        if wholeFile, rehearsal == nil, end != length, ftruncate(fd, off_t(base + end)) != 0 {
            failure = String(cString: strerror(errno))
            return false
        }
        length = end
        watcher?.truncated(to: end)
        return true
    }

    fileprivate func close() { closed = true }
}

/// The virtual file driver over `HDF5ByteRange`s, registered once. It mirrors the sec2 driver's
/// feature flags and free-list map, so a file written through it has the bytes sec2 would write.
enum HDF5MemberDriver {
    private static let registered: Result<hid_t, HDF5Failure> = {
        _ = HDF5.initialised
        var driver = H5FD_class_t()
        driver.name = UnsafePointer(strdup("ckptforget-zip-member"))
        driver.maxaddr = haddr_t(Int64.max)
        driver.fc_degree = H5F_CLOSE_WEAK
        driver.fapl_size = MemoryLayout<UnsafeMutableRawPointer>.size
        driver.open = { _, flags, fapl, _ in
            guard let info = H5Pget_driver_info(fapl) else { return nil }
            let range = Unmanaged<HDF5ByteRange>.fromOpaque(info.load(as: UnsafeMutableRawPointer.self)).takeUnretainedValue()
            if flags & ckf_H5F_ACC_RDWR() != 0, !range.writable { return nil }
            let file = calloc(1, HDF5MemberDriver.rangeOffset + MemoryLayout<UnsafeMutableRawPointer>.size)!
            file.storeBytes(of: Unmanaged.passUnretained(range).toOpaque(), toByteOffset: HDF5MemberDriver.rangeOffset, as: UnsafeMutableRawPointer.self)
            return file.assumingMemoryBound(to: H5FD_t.self)
        }
        driver.close = { file in
            HDF5MemberDriver.range(file)?.close()
            free(file)
            return 0
        }
        driver.query = { _, flags in
            flags?.pointee = UInt(H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA_WRITE | H5FD_FEAT_ACCUMULATE_METADATA_READ
                                  | H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA)
            return 0
        }
        driver.get_eoa = { file, _ in HDF5MemberDriver.range(file)?.endOfAllocation ?? haddr_t.max }
        driver.set_eoa = { file, _, address in
            guard let range = HDF5MemberDriver.range(file) else { return -1 }
            range.endOfAllocation = address
            return 0
        }
        driver.get_eof = { file, _ in HDF5MemberDriver.range(file).map { haddr_t($0.length) } ?? haddr_t.max }
        driver.read = { file, _, _, address, size, buffer in
            guard let range = HDF5MemberDriver.range(file), let buffer else { return -1 }
            return range.read(address, size, into: buffer) ? 0 : -1
        }
        driver.write = { file, type, _, address, size, buffer in
            guard let range = HDF5MemberDriver.range(file), let buffer else { return -1 }
            return range.write(address, size, from: buffer, raw: type == H5FD_MEM_DRAW) ? 0 : -1
        }
        driver.truncate = { file, _, _ in
            HDF5MemberDriver.range(file)?.truncate() == false ? -1 : 0
        }
        // H5FD_FLMAP_DICHOTOMY, as sec2: metadata and raw data in separate free lists.
        driver.fl_map = (H5FD_MEM_SUPER, H5FD_MEM_SUPER, H5FD_MEM_SUPER, H5FD_MEM_DRAW, H5FD_MEM_DRAW, H5FD_MEM_SUPER, H5FD_MEM_SUPER)
        let id = H5FDregister(&driver)
        return id >= 0 ? .success(id) : .failure(HDF5Failure(call: "H5FDregister(zip member)"))
    }()

    static func id() throws(HDF5Failure) -> hid_t { try registered.get() }

    /// Where the range's pointer sits after the public `H5FD_t` fields HDF5 fills.
    fileprivate static let rangeOffset = (MemoryLayout<H5FD_t>.stride + 15) & ~15

    fileprivate static func range(_ file: UnsafePointer<H5FD_t>?) -> HDF5ByteRange? {
        guard let file else { return nil }
        let pointer = UnsafeRawPointer(file).load(fromByteOffset: rangeOffset, as: UnsafeMutableRawPointer.self)
        return Unmanaged<HDF5ByteRange>.fromOpaque(pointer).takeUnretainedValue()
    }

    fileprivate static func range(_ file: UnsafeMutablePointer<H5FD_t>?) -> HDF5ByteRange? {
        range(UnsafePointer(file))
    }
}
