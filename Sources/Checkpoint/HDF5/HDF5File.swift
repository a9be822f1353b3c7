internal import CHDF5

/// An HDF5 checkpoint (Keras `.h5`, Keras 3 `.weights.h5`, NIR, or any HDF5 file): every numeric
/// dataset is a tensor named by its path. Opened read-only; rewrites go to a fresh file.
final class HDF5File: CheckpointFile, CheckpointBackend {
    static let format = CheckpointFormat(name: "HDF5", outputSuffixes: [], outputHint: "give it an .h5 name",
                                         nameSeparator: "/", mayHoldKerasOptimizerState: true)
    /// The HDF5 signature; libhdf5 also finds it after a user block (at 512, 1024, ...).
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    static func recognizes(_ probe: FileProbe) -> Bool {
        !probe.isDirectory && (probe.starts(with: signature) || isHDF5(probe.path))
    }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile { try HDF5File(path: probe.path) }

    let path: String
    var format: CheckpointFormat { Self.format }
    /// An output's writes go through ckptforget's driver, which shows them to the output's sink.
    let streamsOutputBytes = true
    let tensors: [TensorInfo]
    let metadata: CheckpointMetadata
    let file: H5ID
    let tree: [HDF5Node]
    /// Every name of each dataset that has more than one hard link, by each of its names.
    let aliases: [String: [String]]
    /// The bytes the file is read through when it is a zip member (kept open with the file).
    let range: HDF5ByteRange?
    /// The band of whole chunk rows of a chunked dataset that `read(_:elements:)` read last, kept
    /// for the slices after it (see HDF5File+Slices).
    var sliceBand: (name: String, elements: Range<Int>, values: TensorValues)?

    static func isHDF5(_ path: String) -> Bool {
        _ = HDF5.initialised
        return H5Fis_hdf5(path) > 0
    }

    /// Opens `path`, or when `range` is given the HDF5 file in that byte range of another file (a
    /// `.keras` archive's stored `model.weights.h5`; `path` then names it in messages).
    init(path: String, range: HDF5ByteRange? = nil) throws {
        _ = HDF5.initialised
        self.path = path
        self.range = range
        do {
            if let range {
                let access = try range.accessList()
                file = try H5ID(.file, H5Fopen(path, ckf_H5F_ACC_RDONLY(), access.raw), "H5Fopen")
            } else {
                file = try H5ID(.file, H5Fopen(path, ckf_H5F_ACC_RDONLY(), HDF5.defaultPlist), "H5Fopen")
            }
            let root = try H5ID(.group, H5Gopen2(file.raw, "/", HDF5.defaultPlist), "H5Gopen2(/)")
            tree = try HDF5Tree.walk(group: root.raw, path: "")
            do {
                try HDF5Validation.check(file: file.raw, nodes: tree.flatMap { [$0] + $0.descendants })
            } catch HDF5Problem.damaged(let object, let reason) {
                throw CheckpointError.damaged(path: path, object: object, reason: reason)
            }
            // A dataset with several hard links is one tensor, under its first name.
            var tensors: [TensorInfo] = []
            var links: [haddr_t: [String]] = [:]
            for node in tree.flatMap({ [$0] + $0.descendants }) where node.kind == .dataset {
                links[node.address, default: []].append(node.path)
                if links[node.address]!.count == 1, let info = try Self.tensorInfo(file: file.raw, path: node.path) { tensors.append(info) }
            }
            self.tensors = tensors
            aliases = links.values.filter { $0.count > 1 }.reduce(into: [:]) { table, names in for name in names { table[name] = names } }
            var metadata = try Self.kerasMetadata(file: file.raw, root: root.raw)
            metadata.nirGraph = try HDF5NIR.graph(file: file.raw)
            metadata.keras3LayerNames = try Self.keras3LayerNames(file: file.raw, nodes: tree.flatMap { [$0] + $0.descendants })
            self.metadata = metadata
        } catch let failure as HDF5Failure {
            let reason = range?.failure.map { "; reading the member: \($0)" } ?? ""
            throw CheckpointError.hdf5(path: path, call: failure.call, message: failure.message + reason)
        }
    }

    /// Keras 3 names each layer's group after its class (`layers/dense_1`) and keeps the layer's own
    /// name in the `name` attribute of the group's `vars`: the map from one to the other.
    static func keras3LayerNames(file: hid_t, nodes: [HDF5Node]) throws(HDF5Failure) -> [String: String] {
        var names: [String: String] = [:]
        for node in nodes where node.kind == .group && node.path.hasPrefix("layers/") && node.path.hasSuffix("/vars") {
            let group = try H5ID(.group, H5Gopen2(file, node.path, HDF5.defaultPlist), "H5Gopen2(\(node.path))")
            if let name = try HDF5Attributes.strings("name", of: group.raw)?.first {
                names[String(node.path.dropLast("/vars".count))] = name
            }
        }
        return names
    }

    /// The dataset's dtype and shape if it is numeric (IEEE floats and integers), else nil.
    static func tensorInfo(file: hid_t, path: String) throws(HDF5Failure) -> TensorInfo? {
        let dataset = try H5ID(.dataset, H5Dopen2(file, path, HDF5.defaultPlist), "H5Dopen2(\(path))")
        let type = try H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type(\(path))")
        guard let dtype = dtype(of: type.raw) else { return nil }
        let space = try H5ID(.dataspace, H5Dget_space(dataset.raw), "H5Dget_space(\(path))")
        guard H5Sget_simple_extent_type(space.raw) != H5S_NULL else { return nil }
        let rank = Int(try HDF5.check(H5Sget_simple_extent_ndims(space.raw), "H5Sget_simple_extent_ndims(\(path))"))
        var dims = [hsize_t](repeating: 0, count: rank)
        try HDF5.check(H5Sget_simple_extent_dims(space.raw, &dims, nil), "H5Sget_simple_extent_dims(\(path))")
        let order: ByteOrder = H5Tget_order(type.raw) == H5T_ORDER_BE ? .big : .little
        // Refuse shapes whose element or byte count does not fit (a corrupt or hostile header).
        var bytes = dtype.bits / 8  // HDF5 types here are whole bytes
        for dim in dims {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: Int(clamping: dim))
            guard !overflow, dim <= hsize_t(Int.max) else { throw HDF5Failure(call: "dataset \(path) of shape \(dims)", message: "too large to address") }
            bytes = product
        }
        return TensorInfo(name: path, dtype: dtype, shape: dims.map { Int($0) }, byteOrder: order)
    }

    /// Maps an HDF5 atomic type to a DType: IEEE binary16/32/64 and bfloat16 layouts, and integers.
    static func dtype(of type: hid_t) -> DType? {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            var signPosition = 0, exponentPosition = 0, exponentSize = 0, mantissaPosition = 0, mantissaSize = 0
            guard H5Tget_fields(type, &signPosition, &exponentPosition, &exponentSize, &mantissaPosition, &mantissaSize) >= 0 else { return nil }
            switch (size, exponentSize, mantissaSize) {
            case (2, 5, 10): return .float16
            case (2, 8, 7): return .bfloat16
            case (4, 8, 23): return .float32
            case (8, 11, 52): return .float64
            default: return nil
            }
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch size {
            case 1: return signed ? .int8 : .uint8
            case 2: return signed ? .int16 : .uint16
            case 4: return signed ? .int32 : .uint32
            case 8: return signed ? .int64 : .uint64
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Keras' model description: `model_config` on the root, `layer_names` on `model_weights`
    /// (full model) or on the root (weights-only `.h5`), `weight_names` on each layer group.
    static func kerasMetadata(file: hid_t, root: hid_t) throws(HDF5Failure) -> CheckpointMetadata {
        var metadata = CheckpointMetadata()
        // A model_config that is not JSON leaves the model undescribed (the layouts and engine say so).
        metadata.modelConfig = try HDF5Attributes.strings("model_config", of: root)?.first.flatMap { try? JSONValue(strict: Array($0.utf8)) }
        metadata.kerasVersion = try HDF5Attributes.strings("keras_version", of: root)?.first
        var layerGroup = ""
        if try HDF5.check(H5Lexists(root, "model_weights", HDF5.defaultPlist), "H5Lexists(model_weights)") > 0 {
            layerGroup = "model_weights"
        }
        let group = try H5ID(.group, H5Gopen2(root, layerGroup.isEmpty ? "." : layerGroup, HDF5.defaultPlist), "H5Gopen2(\(layerGroup))")
        guard let layers = try HDF5Attributes.strings("layer_names", of: group.raw) else { return metadata }
        metadata.layerNames = layers
        metadata.layerGroup = layerGroup
        for layer in layers where try HDF5.check(H5Lexists(group.raw, layer, HDF5.defaultPlist), "H5Lexists(\(layer))") > 0 {
            let layerGroupID = try H5ID(.group, H5Gopen2(group.raw, layer, HDF5.defaultPlist), "H5Gopen2(\(layer))")
            metadata.weightNames[layer] = try HDF5Attributes.strings("weight_names", of: layerGroupID.raw) ?? []
        }
        return metadata
    }

    func read(_ info: TensorInfo) throws -> Tensor { try read(info, reusing: nil) }

    /// `read(_:)`, a float32 tensor into the storage `spare` holds where it is large enough (a
    /// rewrite reads tensor after tensor of the same sizes).
    func read(_ info: TensorInfo, reusing spare: SpareStorage?) throws -> Tensor {
        guard info.dtype.isEditable else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "\(info.dtype.rawValue) tensors are never edited")
        }
        try MemoryLimit.check(info, in: path)
        do {
            let dataset = try H5ID(.dataset, H5Dopen2(file.raw, info.name, HDF5.defaultPlist), "H5Dopen2(\(info.name))")
            let type = try H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type(\(info.name))")
            // Read with the stored type as memory type: bytes arrive exactly as stored, decoded by FloatCodec.
            switch (info.dtype, info.byteOrder) {
            case (.float32, .little):
                var values = spare?.zeros(count: info.count) ?? [Float](repeating: 0, count: info.count)
                try HDF5.check(H5Dread(dataset.raw, type.raw, ckf_H5S_ALL(), ckf_H5S_ALL(), HDF5.defaultPlist, &values), "H5Dread(\(info.name))")
                return Tensor(info: info, values: .float32(values))
            case (.float64, .little):
                var values = [Double](repeating: 0, count: info.count)
                try HDF5.check(H5Dread(dataset.raw, type.raw, ckf_H5S_ALL(), ckf_H5S_ALL(), HDF5.defaultPlist, &values), "H5Dread(\(info.name))")
                return Tensor(info: info, values: .float64(values))
            default:
                var bytes = [UInt8](repeating: 0, count: max(info.byteCount, 1))
                try HDF5.check(H5Dread(dataset.raw, type.raw, ckf_H5S_ALL(), ckf_H5S_ALL(), HDF5.defaultPlist, &bytes), "H5Dread(\(info.name))")
                return Tensor(info: info, values: bytes.withUnsafeBytes { FloatCodec.decode(UnsafeRawBufferPointer(rebasing: $0[0..<info.byteCount]), as: info) })
            }
        } catch {
            throw CheckpointError.hdf5(path: path, call: error.call, message: error.message)
        }
    }

    func rewrite(to destination: String, in output: OutputTransaction, plan: RewritePlan,
                 progress: RewriteProgress, edit: (inout Tensor) throws -> Void) throws {
        let temporary = output.temporaryFile(for: destination, named: true)
        do {
            try withoutActuallyEscaping(progress) { progress in
                try withoutActuallyEscaping(edit) { edit in
                    _ = try HDF5Rewriter(source: self, plan: plan, progress: progress, edit: edit).write(to: temporary, observer: plan.outputSinks[destination])
                }
            }
        } catch CheckpointError.writeFailed(let failed, let reason) where failed == temporary.path {
            // The temporary file is removed with the transaction: name what the user asked for.
            throw CheckpointError.writeFailed(path: destination, reason: "\(reason) (while copying from \(path))")
        }
    }
}
