import Glibc
@testable import Checkpoint

/// A file on tmpfs, unlinked as soon as it is made, that each input is written to; the archive is
/// opened by its `/proc/self/fd` name as any path is, so the readers run unchanged.
let memory: Int32 = {
    var template = Array("/dev/shm/ckptforget-fuzz-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(fd >= 0, "cannot create a file in /dev/shm")
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    return fd
}()
let path = "/proc/self/fd/\(memory)"

/// Where rewrites go (each aborted, so it stays empty); removed at exit.
let scratch: String = {
    var template = Array("/dev/shm/ckptforget-fuzz-out-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "cannot create a directory in /dev/shm")
    let directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    atexit { _ = rmdir(scratch) }
    return directory
}()

/// The bytes as a whole `torch.save` file, opened as `openCheckpoint` opens one (the zip's
/// directory, then `TorchFile`: one prefix, version, byteorder, the pickle, each storage's record
/// stored and numel × itemsize long); every editable tensor read (CRC checked, views gathered);
/// then a rewrite that hands every tensor not sharing its storage to the edit (refusals for sparse
/// and expanded views, records re-encoded and scattered, CRCs joined), whose output must open as
/// a `torch.save` file with the same tensors. The rewrite is aborted, so nothing is left behind.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    precondition(ftruncate(memory, 0) == 0 && pwrite(memory, data, size, 0) == size)
    guard let archive = try? ZipArchive(path: path) else { return 0 }
    let probe = FileProbe(path: path, isDirectory: false, head: [], zip: archive, zipFailure: nil)
    guard TorchFile.recognizes(probe), let file = try? TorchFile.open(probe) as? TorchFile,
          (try? CheckpointFormats.checkDistinctNames(file)) != nil else { return 0 }
    for info in file.tensors where info.dtype.isEditable {
        guard let tensor = try? file.read(info) else { continue }
        precondition(tensor.values.count == info.count)
    }
    let edited = Set(file.tensors.filter { info in
        info.dtype.isEditable && file.namesOfMember[file.tensorOfName[info.name]!.entry.name]?.count == 1
    }.map(\.name))
    let transaction = OutputTransaction()
    defer { transaction.abort() }
    let destination = scratch + "/out.pt"
    guard (try? file.rewrite(to: destination, in: transaction, plan: RewritePlan(edited: edited), progress: { _, _ in }) { _ in }) != nil
    else { return 0 }
    let written = transaction.files[0].temporary
    guard let again = try? TorchFile(path: written, archive: ZipArchive(path: written)) else { fatalError("the rewrite of a torch.save file that opened does not open") }
    precondition(again.tensors == file.tensors)
    return 0
}
