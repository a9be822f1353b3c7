import Foundation

/// What a backend looks at to recognise a file: its path, whether it is a directory, its first
/// bytes, and for a zip (`PK\x03\x04`) its validated directory, read once for every backend.
public struct FileProbe {
    public let path: String
    public let isDirectory: Bool
    /// Up to the first 512 bytes (none for a directory).
    public let head: [UInt8]
    /// The zip archive, when the file starts as one and its directory is sound.
    let zip: ZipArchive?
    /// Why a file that starts as a zip could not be read as one.
    let zipFailure: (any Error)?

    public func starts(with magic: [UInt8]) -> Bool { head.starts(with: magic) }
}

/// A format backend: how it recognises a file and opens it. Formats recognised and not read open
/// by throwing `CheckpointError.refusedFormat` (what the file is and how to re-save it).
protocol CheckpointBackend: SendableMetatype {  // the table below is shared by every thread
    static var format: CheckpointFormat { get }
    static func recognizes(_ probe: FileProbe) -> Bool
    static func open(_ probe: FileProbe) throws -> any CheckpointFile
}

/// The one table of formats: every backend, in the order they are asked to recognise a file.
public enum CheckpointFormats {
    static let backends: [any CheckpointBackend.Type] = [
        ShardedSafetensorsFormat.self,
        ShardedTorchFormat.self,
        KerasArchiveFile.self,
        TorchScriptFormat.self,
        TorchFile.self,
        ZipArchiveFormat.self,
        HDF5File.self,
        LegacyTorchFormat.self,
        SafetensorsFile.self,
    ]

    /// Every format, in table order.
    public static var all: [CheckpointFormat] { backends.map { $0.format } }

    /// HDF5, the format statistics files are written in.
    public static var hdf5: CheckpointFormat { HDF5File.format }

    /// Opens a checkpoint with the first backend that recognises it.
    public static func open(_ path: String) throws -> any CheckpointFile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: path)
        }
        let head = isDirectory.boolValue ? [] : try FileBytes.prefix(of: path, count: 512)
        var zip: ZipArchive?, zipFailure: (any Error)?
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            do { zip = try ZipArchive(path: path) } catch { zipFailure = error }
        }
        let probe = FileProbe(path: path, isDirectory: isDirectory.boolValue, head: head, zip: zip, zipFailure: zipFailure)
        guard let backend = backends.first(where: { $0.recognizes(probe) }) else {
            let detail = probe.isDirectory ? "a directory without model.safetensors.index.json or pytorch_model.bin.index.json"
                : "\(probe.head.count) bytes long; neither HDF5, a zip (.keras, torch.save) nor safetensors"
            throw CheckpointError.unrecognizedFormat(path: path, detail: detail)
        }
        let file = try backend.open(probe)
        try checkDistinctNames(file)
        return file
    }

    /// Swift compares strings by Unicode canonical equivalence, so two tensor names that differ only
    /// in normalization (`café` as U+00E9 and as e + U+0301) would be one key in every table the
    /// run keeps by name. Such a file is refused before anything else reads it.
    static func checkDistinctNames(_ file: any CheckpointFile) throws {
        var seen: [String: String] = [:]
        for info in file.tensors {
            if let other = seen[info.name], Array(other.utf8) != Array(info.name.utf8) {
                throw CheckpointError.ambiguousNames(path: file.path, first: other, second: info.name)
            }
            seen[info.name] = info.name
        }
    }
}

/// Opens a checkpoint, choosing the backend from `CheckpointFormats`.
public func openCheckpoint(_ path: String) throws -> any CheckpointFile {
    try CheckpointFormats.open(path)
}
