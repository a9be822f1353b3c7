/// The rewrite: one pass over the input in file order (each byte read once, so the plan's input
/// sink sees the whole file in order), members written in the same order into a fresh zip with
/// 64-byte aligned data. The pickle and untouched records are copied byte for byte, their CRCs
/// checked as they stream; an edited record is the input's bytes around the edited view, with the
/// view's new bytes in place.
extension TorchFile {
    func rewrite(to destination: String, in output: OutputTransaction, plan: RewritePlan,
                 progress: RewriteProgress, edit: (inout Checkpoint.Tensor) throws -> Void) throws {
        // Refused before anything is written: an edit to one view of a shared storage edits the others.
        var editedOfMember: [String: String] = [:]
        for name in plan.edited.sorted() {
            guard let tensor = tensorOfName[name] else { continue }
            let others = sharers(of: name)
            guard others.isEmpty else {
                throw CheckpointError.unsupported(path: path, tensor: name,
                    reason: "it shares its storage (\(tensor.entry.name)) with \(others.map { "'\($0)'" }.joined(separator: ", ")); an edit to one is an edit to all, so it is refused (save them as separate tensors, e.g. with t.clone())")
            }
            guard tensor.info.dtype.isEditable else { continue }
            let view = TorchView(tensor.record)
            try requireCompact(view, tensor: name)
            guard view.isNonOverlapping else {
                throw CheckpointError.unsupported(path: path, tensor: name,
                    reason: "its view (size \(view.shape), stride \(view.stride)) reaches some storage elements more than once (an expanded tensor), so its elements cannot be edited one by one; save t.clone() instead")
            }
            editedOfMember[tensor.entry.name] = name
        }
        let out = try FileBytes(creating: output.temporaryFile(for: destination), direct: true)
        out.observer = plan.outputSinks[destination]
        archive.file.observer = plan.inputSinks[path]
        defer { archive.file.observer = nil }
        let writer = ZipWriter(out: out, alignment: Self.alignment)
        let spare = SpareStorage()
        var position = 0
        for entry in archive.entries {
            try pass(from: position, to: entry.dataOffset)
            if let name = editedOfMember[entry.name] {
                try rewriteRecord(entry, tensor: tensorOfName[name]!, writer: writer, spare: spare, edit: edit)
            } else {
                try writer.add(entry.name, size: entry.size, crc: entry.crc32) {
                    try archive.stream(entry) { try out.write($0) }
                }
            }
            position = entry.dataEnd
            for name in namesOfMember[entry.name] ?? [] { progress(tensorOfName[name]!.info, editedOfMember[entry.name] == name) }
        }
        try pass(from: position, to: archive.file.size)
        try writer.close()
        try out.finishWrites()
    }

    /// Reads the bytes between members (local headers, data descriptors, the directory) so that the
    /// input's sink sees them; nothing is read when there is no sink.
    private func pass(from start: Int, to end: Int) throws {
        guard archive.file.observer != nil, end > start else { return }
        try archive.file.forEachPiece(count: end - start, at: start, pieceSize: ZipArchive.pieceSize) { _ in }
    }

    /// One edited record: the bytes before and after the view are read once for the CRCs (the
    /// input's must match the directory's), the view is decoded, edited and encoded in memory, then
    /// the member is written with its new CRC: those bytes again (unobserved), the view's new bytes.
    /// A contiguous f32 or f64 view is read straight into its values (no second copy of its bytes),
    /// so an edit holds about one tensor's bytes, as the safetensors backend does, and into the storage
    /// of the largest one written before where it fits (`SpareStorage`).
    private func rewriteRecord(_ entry: ZipEntry, tensor: Tensor, writer: ZipWriter, spare: SpareStorage,
                               edit: (inout Checkpoint.Tensor) throws -> Void) throws {
        let view = TorchView(tensor.record)
        let range = view.byteRange, tailLength = entry.size - range.upperBound
        let file = archive.file
        try MemoryLimit.check(tensor.info, in: path)
        var before = CRC32(), after = CRC32()
        try file.forEachPiece(count: range.lowerBound, at: entry.dataOffset, pieceSize: ZipArchive.pieceSize) { before.update($0) }
        let direct = view.isContiguous && (tensor.info.dtype == .float32 || tensor.info.dtype == .float64)
        var span: [UInt8] = []
        var values: Checkpoint.Tensor
        let spanIn: UInt32
        if direct {
            values = try SafetensorsFile.readTensor(tensor.info, from: file, at: entry.dataOffset + range.lowerBound, reusing: spare)
            spanIn = FloatCodec.withEncodedBytes(values.values, as: tensor.info) { ParallelCRC.of($0) }  // the stored bytes themselves
        } else {
            span = try file.read(count: range.count, at: entry.dataOffset + range.lowerBound)
            spanIn = CRC32.of(span)
            values = span.withUnsafeBytes { bytes in
                Checkpoint.Tensor(info: tensor.info, values: view.isContiguous
                    ? FloatCodec.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<(view.count * view.itemSize)]), as: tensor.info)
                    : view.gather(bytes).withUnsafeBytes { FloatCodec.decode($0, as: tensor.info) })
            }
        }
        try file.forEachPiece(count: tailLength, at: entry.dataOffset + range.upperBound, pieceSize: ZipArchive.pieceSize) { after.update($0) }
        func joined(_ middle: UInt32) -> UInt32 {
            CRC32.combine(CRC32.combine(before.value, middle, secondLength: range.count), after.value, secondLength: tailLength)
        }
        try archive.requireCRC(joined(spanIn), of: entry)
        try edit(&values)
        let spanOut: UInt32
        if direct {
            spanOut = FloatCodec.withEncodedBytes(values.values, as: tensor.info) { ParallelCRC.of($0) }
        } else {
            FloatCodec.withEncodedBytes(values.values, as: tensor.info) { encoded in span.withUnsafeMutableBytes { view.scatter(encoded, into: $0) } }
            spanOut = CRC32.of(span)
        }
        let observer = file.observer
        file.observer = nil
        defer { file.observer = observer }
        try writer.add(entry.name, size: entry.size, crc: joined(spanOut)) {
            try writer.out.append(from: file, offset: entry.dataOffset, count: range.lowerBound)
            if direct {
                try FloatCodec.withEncodedBytes(values.values, as: tensor.info) { try writer.out.write($0) }
            } else {
                try span.withUnsafeBytes { try writer.out.write($0) }
            }
            try writer.out.append(from: file, offset: entry.dataOffset + range.upperBound, count: tailLength)
        }
        if let storage = values.takeFloat32Values() { spare.keep(storage) }
    }
}
