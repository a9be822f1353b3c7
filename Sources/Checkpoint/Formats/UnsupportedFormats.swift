/// Zip archives that are neither a Keras `.keras` archive nor a `torch.save` file, and zip files
/// whose directory is damaged: refused, with the `ZipProblem` when there is one. Recognised so
/// that they get a clear refusal instead of a safetensors header error.
enum ZipArchiveFormat: CheckpointBackend {
    static let format = CheckpointFormat(name: "zip archive", outputSuffixes: [], outputHint: "not a checkpoint", nameSeparator: ".")

    static func recognizes(_ probe: FileProbe) -> Bool { probe.starts(with: [0x50, 0x4B, 0x03, 0x04]) }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile {
        if let damage = probe.zipFailure { throw damage }
        let names = probe.zip?.entries.prefix(4).map(\.name).joined(separator: ", ") ?? ""
        throw CheckpointError.refusedFormat(path: probe.path, format: "a zip archive (\(names)) that is neither a Keras .keras archive nor a torch.save file",
                                            hint: "expected model.weights.h5 and config.json (Keras) or <name>/data.pkl and <name>/data/N (torch.save)")
    }
}

/// PyTorch files from before 1.6 (`torch.save(..., _use_new_zipfile_serialization=False)`): a
/// pickled magic number, then more pickles and the raw storages. Refused: the later pickles are
/// where scanner bypasses hide, and the zip format says the same with one pickle.
enum LegacyTorchFormat: CheckpointBackend {
    static let format = CheckpointFormat(name: "legacy PyTorch pickle", outputSuffixes: [], outputHint: "not read", nameSeparator: ".")

    /// Pickle protocol 2, then LONG1 of 10 bytes: torch's magic number 0x1950a86a20f9469cfc6c.
    static let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    static func recognizes(_ probe: FileProbe) -> Bool { probe.starts(with: magic) }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile {
        throw CheckpointError.refusedFormat(path: probe.path, format: "a legacy (pre-1.6) PyTorch pickle file, which is not read",
            hint: "re-save it in the zip format with a current torch, in a sandbox: torch.save(torch.load(\"old.pt\", weights_only=True), \"model.pt\")")
    }
}
