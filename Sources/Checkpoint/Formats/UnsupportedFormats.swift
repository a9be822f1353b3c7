/// Zip archives (`PK\x03\x04`): Keras 3 `.keras` files and PyTorch `torch.save` files. Recognised
/// so that they get a clear refusal instead of a safetensors header error; not read yet.
enum ZipArchiveFormat: CheckpointBackend {
    static let format = CheckpointFormat(name: "zip archive", outputSuffixes: [".keras", ".pt", ".pth"],
                                         outputHint: "zip archives (.keras, .pt) are not supported yet", nameSeparator: ".")

    static func recognizes(_ probe: FileProbe) -> Bool { probe.starts(with: [0x50, 0x4B, 0x03, 0x04]) }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile {
        throw CheckpointError.notSupportedYet(path: probe.path, format: kind(of: probe), hint: hint(for: kind(of: probe)))
    }

    /// What the archive is, from its first member's name (local header: name length at 26, name at 30).
    static func kind(of probe: FileProbe) -> String {
        let head = probe.head
        guard head.count >= 30 else { return "a zip archive" }
        let length = Int(head[26]) | Int(head[27]) << 8
        let name = String(decoding: head[30..<min(30 + length, head.count)], as: UTF8.self)
        if name.hasSuffix("/data.pkl") || name == "data.pkl" || name.hasSuffix("/byteorder") { return "a PyTorch zip checkpoint (torch.save)" }
        if name.hasSuffix("/constants.pkl") || name.contains("/code/") { return "a TorchScript archive" }
        if ["metadata.json", "config.json", "model.weights.h5"].contains(name) { return "a Keras .keras archive" }
        if probe.path.hasSuffix(".keras") { return "a Keras .keras archive" }
        if [".pt", ".pth", ".bin"].contains(where: probe.path.hasSuffix) { return "a PyTorch zip checkpoint (torch.save)" }
        return "a zip archive"
    }

    static func hint(for kind: String) -> String {
        switch kind {
        case "a Keras .keras archive": "meanwhile unzip it and edit its model.weights.h5, or save with model.save_weights(\"m.weights.h5\")"
        case "a TorchScript archive": "TorchScript is not a state dict; save model.state_dict() with safetensors.torch.save_file"
        default: "meanwhile save the state dict with safetensors.torch.save_file(model.state_dict(), \"model.safetensors\")"
        }
    }
}

/// PyTorch files from before 1.6 (`torch.save(..., _use_new_zipfile_serialization=False)`): a
/// pickled magic number, then more pickles and the raw storages. Recognised, not read.
enum LegacyTorchFormat: CheckpointBackend {
    static let format = CheckpointFormat(name: "legacy PyTorch pickle", outputSuffixes: [], outputHint: "not supported yet", nameSeparator: ".")

    /// Pickle protocol 2, then LONG1 of 10 bytes: torch's magic number 0x1950a86a20f9469cfc6c.
    static let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    static func recognizes(_ probe: FileProbe) -> Bool { probe.starts(with: magic) }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile {
        throw CheckpointError.notSupportedYet(path: probe.path, format: "a legacy (pre-1.6) PyTorch pickle file",
                                              hint: "load it with torch and save the state dict with safetensors.torch.save_file")
    }
}
