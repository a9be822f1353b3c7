import Foundation

/// A PyTorch state dict saved by `torch.save` (`.pt`, `.pth`, `pytorch_model.bin`): a zip whose
/// members sit under one archive prefix — `data.pkl` (the pickle), `data/<key>` (one stored record
/// per storage), `byteorder`, `version`. The pickle is interpreted by `PickleReader`, never run;
/// each tensor is a view into a storage record whose length is checked against numel × itemsize
/// and whose CRC is checked before its bytes are used (torch itself checks neither).
///
/// A rewrite copies the pickle and every untouched member byte for byte, rewrites only the
/// records of edited tensors, and aligns every member's data to 64 bytes as torch does. A tensor
/// that shares its storage with another name cannot be edited alone and is refused.
final class TorchFile: CheckpointFile, CheckpointBackend {
    static let format = CheckpointFormat(name: "PyTorch", outputSuffixes: [".pt", ".pth", ".bin"],
                                         outputHint: "give it a .pt, .pth or .bin name", nameSeparator: ".")
    /// torch aligns every record to this (its `.storage_alignment`).
    static let alignment = 64
    static let maximumPickle = 256 << 20

    /// What a zip holds, as far as torch goes: a `torch.save` state dict (a `<prefix>/data.pkl`
    /// member), a TorchScript archive (the same layout with `code/` or `constants.pkl`), or neither.
    /// The one place that tells them apart: a single file and a shard are told apart the same way.
    enum ArchiveKind { case stateDict, torchScript, neither }

    static func kind(of archive: ZipArchive) -> ArchiveKind {
        let parts = archive.entries.map { $0.name.split(separator: "/") }
        if parts.contains(where: { $0.count >= 2 && ($0[1] == "constants.pkl" || $0[1] == "code") }) { return .torchScript }
        return parts.contains { $0.count == 2 && $0[1] == "data.pkl" } ? .stateDict : .neither
    }

    static func recognizes(_ probe: FileProbe) -> Bool { probe.zip.map { kind(of: $0) == .stateDict } ?? false }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile { try TorchFile(path: probe.path, archive: probe.zip!) }

    /// Reads a shard of a sharded checkpoint from `file` (opened by the caller), which must be a `torch.save` zip.
    convenience init(file: FileBytes) throws {
        let path = file.path
        let archive = try ZipArchive(path: path, file: file)
        switch Self.kind(of: archive) {
        case .stateDict: try self.init(path: path, archive: archive)
        case .torchScript: throw TorchScriptFormat.refusal(path)
        case .neither: throw CheckpointError.torch(path: path, .missingMember("<name>/data.pkl"))
        }
    }

    struct Tensor {
        let info: TensorInfo
        let record: TorchTensorRecord
        let entry: ZipEntry
    }

    let path: String
    var format: CheckpointFormat { Self.format }
    let streamsBytes = true
    let tensors: [TensorInfo]
    let metadata: CheckpointMetadata
    let archive: ZipArchive
    let prefix: String
    let storages: [TorchStorage]
    /// Every tensor by name, and the names of each storage (by its member name) in pickle order.
    let tensorOfName: [String: Tensor]
    let namesOfMember: [String: [String]]
    /// Members whose CRC has been checked (each whole member once, before its bytes are used).
    private var verified = Set<String>()
    /// Whether every tensor is one run of elements in its storage (as `state_dict` parameters
    /// are): then `read(_:elements:)` reads the elements' bytes alone.
    let readsSlices: Bool

    init(path: String, archive: ZipArchive) throws {
        self.path = path
        self.archive = archive
        let prefixes = Set(archive.entries.map { String($0.name.split(separator: "/").first ?? "") })
        guard prefixes.count == 1, let prefix = prefixes.first, archive.entries.allSatisfy({ $0.name.hasPrefix(prefix + "/") }) else {
            throw CheckpointError.torch(path: path, .prefixes(prefixes.sorted()))
        }
        self.prefix = prefix
        func member(_ name: String) -> ZipEntry? { archive.entry(named: "\(prefix)/\(name)") }
        guard let pickle = member("data.pkl") else { throw CheckpointError.torch(path: path, .missingMember("\(prefix)/data.pkl")) }
        guard pickle.size <= Self.maximumPickle else { throw CheckpointError.torch(path: path, .pickleTooLarge(size: pickle.size, limit: Self.maximumPickle)) }
        guard let version = member("version") ?? member(".data/version") else { throw CheckpointError.torch(path: path, .missingMember("\(prefix)/version")) }
        let versionText = String(decoding: try archive.contents(of: version, limit: 64), as: UTF8.self)
        guard let number = Int(versionText.trimmingCharacters(in: .whitespacesAndNewlines)), number > 0 else {
            throw CheckpointError.torch(path: path, .badVersion(String(versionText.prefix(20))))
        }
        if let order = member("byteorder") {
            let text = String(decoding: try archive.contents(of: order, limit: 64), as: UTF8.self)
            guard text == "little" else { throw CheckpointError.torch(path: path, .byteOrder(String(text.prefix(20)))) }
        }
        let result: PickleReader.Result
        do {
            result = try PickleReader.read(try archive.contents(of: pickle, limit: Self.maximumPickle))
        } catch let problem as PickleProblem {
            throw CheckpointError.pickle(path: path, member: pickle.name, problem)
        }
        storages = result.storages
        var entries: [ZipEntry] = []
        for storage in result.storages {
            let name = "\(prefix)/data/\(storage.key)"
            guard let entry = archive.entry(named: name) else { throw CheckpointError.torch(path: path, .storageMissing(key: storage.key, member: name)) }
            guard entry.isStored else { throw CheckpointError.torch(path: path, .storageCompressed(member: name)) }
            guard entry.size == storage.byteCount else {
                throw CheckpointError.torch(path: path, .storageLength(member: name, expected: storage.byteCount, actual: entry.size))
            }
            entries.append(entry)
        }
        var tensorOfName: [String: Tensor] = [:], namesOfMember: [String: [String]] = [:]
        var infos: [TensorInfo] = []
        for (name, record) in result.tensors {
            let info = TensorInfo(name: name, dtype: record.dtype, shape: record.shape)
            let entry = entries[record.storage]
            tensorOfName[name] = Tensor(info: info, record: record, entry: entry)
            namesOfMember[entry.name, default: []].append(name)
            infos.append(info)
        }
        // A record no named tensor reads (a value replaced by a later duplicate key, or a member the
        // pickle never names) would be copied into the output with its old bytes intact.
        for entry in archive.entries where entry.name.hasPrefix("\(prefix)/data/") && namesOfMember[entry.name] == nil {
            throw CheckpointError.torch(path: path, .unreferencedStorage(member: entry.name))
        }
        tensors = infos
        readsSlices = tensorOfName.values.allSatisfy { TorchView($0.record).isContiguous }
        self.tensorOfName = tensorOfName
        self.namesOfMember = namesOfMember
        var metadata = CheckpointMetadata()
        metadata.classLabels = HuggingFaceConfig.classLabels(besides: (path as NSString).deletingLastPathComponent)
        metadata.optimizerGroups = result.optimizerGroups
        self.metadata = metadata
    }

    /// Every member is written stored and 64-byte aligned: a deflated one takes its inflated size.
    var outputSizes: [Int] { [archive.storedCopySize(alignment: Self.alignment)] }

    func read(_ info: TensorInfo) throws -> Checkpoint.Tensor {
        guard let tensor = tensorOfName[info.name] else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "no such tensor")
        }
        guard info.dtype.isEditable else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "\(info.dtype.rawValue) tensors are never edited")
        }
        try MemoryLimit.check(info, in: path)
        let view = TorchView(tensor.record)
        try requireCompact(view, tensor: info.name)
        try verify(tensor.entry)
        if view.isContiguous {
            return try SafetensorsFile.readTensor(info, from: archive.file, at: tensor.entry.dataOffset + view.byteRange.lowerBound)
        }
        let span = try archive.file.read(count: view.byteRange.count, at: tensor.entry.dataOffset + view.byteRange.lowerBound)
        let elements = span.withUnsafeBytes { view.gather($0) }
        return Checkpoint.Tensor(info: info, values: elements.withUnsafeBytes { FloatCodec.decode($0, as: info) })
    }

    /// The elements' bytes alone where the tensor is one run in its storage (the whole tensor,
    /// sliced, where it is not), once the member's CRC has been checked.
    func read(_ info: TensorInfo, elements range: Range<Int>) throws -> TensorValues {
        guard let tensor = tensorOfName[info.name] else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "no such tensor")
        }
        let view = TorchView(tensor.record)
        guard view.isContiguous else { return try read(info).values.slice(range) }
        guard info.dtype.isEditable else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "\(info.dtype.rawValue) tensors are never edited")
        }
        guard range.lowerBound >= 0, range.upperBound <= view.count else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "elements \(range) asked of a tensor of \(view.count) (shape \(view.shape))")
        }
        try verify(tensor.entry)
        let slab = TensorInfo(name: info.name, dtype: info.dtype, shape: [range.count])
        let offset = tensor.entry.dataOffset + view.byteRange.lowerBound + range.lowerBound * view.itemSize
        return try SafetensorsFile.readTensor(slab, from: archive.file, at: offset).values
    }

    /// Reads the whole member once, checking its CRC, before any of its bytes are used.
    private func verify(_ entry: ZipEntry) throws {
        guard !verified.contains(entry.name) else { return }
        try archive.checkCRC(entry)
        verified.insert(entry.name)
    }

    func requireCompact(_ view: TorchView, tensor name: String) throws {
        guard view.spanIsCompact else {
            throw CheckpointError.unsupported(path: path, tensor: name,
                reason: "it is a sparse view (size \(view.shape), stride \(view.stride)) spanning \(view.spanCount) elements of its storage for \(view.count) of its own; save t.clone() instead")
        }
    }

    /// Names sharing each member's storage with `name`, other than `name`.
    func sharers(of name: String) -> [String] {
        guard let tensor = tensorOfName[name] else { return [] }
        return (namesOfMember[tensor.entry.name] ?? []).filter { $0 != name }
    }
}

/// TorchScript archives (`torch.jit.save`): the same zip layout with code (`code/`, `constants.pkl`).
/// Not a state dict; refused with how to get one.
enum TorchScriptFormat: CheckpointBackend {
    static let format = CheckpointFormat(name: "TorchScript archive", outputSuffixes: [], outputHint: "not a state dict", nameSeparator: ".")

    static func recognizes(_ probe: FileProbe) -> Bool { probe.zip.map { TorchFile.kind(of: $0) == .torchScript } ?? false }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile { throw refusal(probe.path) }

    /// What the file is and how to get a state dict from it (whether it was given alone or as a shard).
    static func refusal(_ path: String) -> CheckpointError {
        let name = (path as NSString).lastPathComponent
        return CheckpointError.refusedFormat(path: path, format: "a TorchScript archive (torch.jit.save), not a state dict saved with torch.save",
            hint: "its code is never run here; in a sandbox, load it with model = torch.jit.load(\"\(name)\") and save its weights with torch.save(model.state_dict(), \"\(name)\")")
    }
}
