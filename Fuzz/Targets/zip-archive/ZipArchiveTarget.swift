import Glibc
@testable import Checkpoint

/// A file on tmpfs, unlinked as soon as it is made, that each input is written to: `ZipArchive`
/// reads a file at offsets through a descriptor, and opens this one by its `/proc/self/fd` name as
/// it opens any path, so the parser runs unchanged.
let memory: Int32 = {
    var template = Array("/dev/shm/ckptforget-fuzz-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(fd >= 0, "cannot create a file in /dev/shm")
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    return fd
}()
let path = "/proc/self/fd/\(memory)"

/// The bytes as a whole zip archive (a `.keras` or `torch.save` file): the end records and zip64
/// locator, the central directory, every local header; then every member's content up to 1 MiB
/// (inflated, CRC checked), the CRC check the torch reader makes before using a record, and what
/// it makes of the archive (state dict, TorchScript or neither).
/// What the reader promises the backends is checked too: members in file order, each inside the
/// archive before the directory, none overlapping the next.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    precondition(ftruncate(memory, 0) == 0 && pwrite(memory, data, size, 0) == size)
    guard let archive = try? ZipArchive(path: path) else { return 0 }
    var end = 0
    for entry in archive.entries {
        precondition(entry.localHeaderOffset >= end && entry.dataOffset >= entry.localHeaderOffset + 30
                     && entry.dataEnd <= archive.directoryOffset && archive.directoryOffset <= size)
        precondition(archive.entry(named: entry.name) == entry)
        end = entry.dataEnd
        if let bytes = try? archive.contents(of: entry, limit: 1 << 20) {
            precondition(bytes.count == entry.size && CRC32.of(bytes) == entry.crc32)
        }
        _ = try? archive.checkCRC(entry)
    }
    _ = TorchFile.kind(of: archive)
    return 0
}
