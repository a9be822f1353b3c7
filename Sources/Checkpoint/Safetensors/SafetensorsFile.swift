import Foundation

/// A single safetensors file: validated header, tensors read on demand, rewritten by copying the
/// header verbatim and each tensor's bytes through (or its edited values, same dtype and size).
final class SafetensorsFile: CheckpointFile, CheckpointBackend {
    static let format = CheckpointFormat(name: "safetensors", outputSuffixes: [".safetensors"], outputHint: "give it a .safetensors name",
                                         nameSeparator: ".")

    /// The last resort of the table: anything of 8 bytes or more is parsed as a safetensors header
    /// (whose errors then say what is wrong), as is a short file named `.safetensors`.
    static func recognizes(_ probe: FileProbe) -> Bool {
        !probe.isDirectory && (probe.head.count >= 8 || probe.path.hasSuffix(".safetensors"))
    }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile { try SafetensorsFile(path: probe.path) }

    let path: String
    var format: CheckpointFormat { Self.format }
    let streamsBytes = true
    let tensors: [TensorInfo]
    let metadata: CheckpointMetadata
    private let header: SafetensorsHeader
    private let file: FileBytes
    private let entryByName: [String: SafetensorsHeader.Entry]

    convenience init(path: String) throws {
        try self.init(file: try FileBytes(reading: path))
    }

    /// Reads the header of `file`, opened by the caller (a shard of a sharded checkpoint).
    init(file: FileBytes) throws {
        path = file.path
        self.file = file
        let size = file.size
        let prefix = try file.read(count: min(8, size), at: 0)
        do {
            let length = try SafetensorsHeader.length(fromPrefix: prefix, fileSize: size)
            header = try SafetensorsHeader(json: try file.read(count: length, at: 8), fileSize: size)
        } catch let problem as SafetensorsProblem {
            throw CheckpointError.safetensors(path: path, problem)
        }
        tensors = header.entries.map(\.info)
        entryByName = try header.entriesByName(path: path)
        var metadata = CheckpointMetadata()
        metadata.stringMetadata = header.metadata
        metadata.classLabels = HuggingFaceConfig.classLabels(besides: (path as NSString).deletingLastPathComponent)
        self.metadata = metadata
    }

    func read(_ info: TensorInfo) throws -> Tensor { try read(info, reusing: nil) }

    private func read(_ info: TensorInfo, reusing spare: SpareStorage?) throws -> Tensor {
        guard let entry = entryByName[info.name] else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "no such tensor")
        }
        guard info.dtype.isEditable else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "\(info.dtype.rawValue) tensors are never edited")
        }
        return try Self.readTensor(entry.info, from: file, at: header.dataStart + entry.begin, reusing: spare)
    }

    let readsSlices = true

    /// The elements' bytes alone: safetensors stores a tensor contiguous and row-major.
    func read(_ info: TensorInfo, elements range: Range<Int>) throws -> TensorValues {
        guard let entry = entryByName[info.name] else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "no such tensor")
        }
        guard info.dtype.isEditable else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "\(info.dtype.rawValue) tensors are never edited")
        }
        precondition(range.lowerBound >= 0 && range.upperBound <= entry.info.count, "elements \(range) of \(info.name) of shape \(entry.info.shape)")
        let slab = TensorInfo(name: info.name, dtype: entry.info.dtype, shape: [range.count], byteOrder: entry.info.byteOrder)
        return try Self.readTensor(slab, from: file, at: header.dataStart + entry.begin + range.lowerBound * (entry.info.dtype.bits / 8)).values
    }

    /// Reads `info.byteCount` bytes at `offset` straight into the decoded array where the stored
    /// layout already is the in-memory one (little-endian f32/f64), else through one raw buffer;
    /// float32 values into the storage `spare` holds where it is large enough.
    static func readTensor(_ info: TensorInfo, from file: FileBytes, at offset: Int, reusing spare: SpareStorage? = nil) throws -> Tensor {
        let n = info.count
        switch info.dtype {
        case .float32:
            if var values = spare?.zeros(count: n) {
                try values.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
                return Tensor(info: info, values: .float32(values))
            }
            return Tensor(info: info, values: .float32(try [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
                try file.read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
                initialized = n
            }))
        case .float64:
            return Tensor(info: info, values: .float64(try [Double](unsafeUninitializedCapacity: n) { buffer, initialized in
                try file.read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
                initialized = n
            }))
        default:
            let bytes = try file.read(count: info.byteCount, at: offset)
            return Tensor(info: info, values: bytes.withUnsafeBytes { FloatCodec.decode($0, as: info) })
        }
    }

    func rewrite(to destination: String, in output: OutputTransaction, plan: RewritePlan,
                 progress: RewriteProgress, edit: (inout Tensor) throws -> Void) throws {
        let out = try FileBytes(creating: output.temporaryFile(for: destination), direct: true)
        out.observer = plan.outputSinks[destination]
        file.observer = plan.inputSinks[path]
        defer { file.observer = nil }
        try out.append(from: file, offset: 0, count: header.dataStart)
        let spare = SpareStorage()
        for entry in header.entries {
            if plan.edited.contains(entry.info.name) {
                var tensor = try read(entry.info, reusing: spare)
                try edit(&tensor)
                try FloatCodec.withEncodedBytes(tensor.values, as: entry.info) { bytes in
                    try out.write(bytes)
                }
                if let values = tensor.takeFloat32Values() { spare.keep(values) }
            } else {
                try out.append(from: file, offset: header.dataStart + entry.begin, count: entry.end - entry.begin)
            }
            progress(entry.info, plan.edited.contains(entry.info.name))
        }
        try out.finishWrites()
    }
}
