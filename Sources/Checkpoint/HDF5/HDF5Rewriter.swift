internal import CHDF5
#if canImport(Glibc)
import Glibc
#endif

/// Writes an edited copy of an HDF5 checkpoint into a *fresh* file.
///
/// Editing a copy in place would leave the forgotten bytes in the file (HDF5 keeps freed space and
/// relocated chunks), so: subtrees that nothing touches are copied whole with `H5Ocopy`; groups on
/// the way to an edited dataset are recreated with their creation properties and attributes; edited
/// datasets are recreated with the source's type, dataspace and creation properties (chunking,
/// filters, fill value) and written from the edited values; dropped groups are never copied.
/// Object time tracking is off everywhere, so the same edit gives byte-identical files.
struct HDF5Rewriter {
    let source: HDF5File
    let plan: RewritePlan
    let progress: RewriteProgress
    let edit: (inout Tensor) throws -> Void
    /// Whether deflated chunks are compressed on every core (`HDF5DeflatedChunks`) rather than by
    /// `H5Dwrite` on one; tests turn it off to compare the two.
    var compressesChunks = true
    /// Whether an observed output is rehearsed first so its bytes can be shown as they are
    /// written (`HDF5StreamedOutput`); tests turn it off to see the file read back instead.
    var rehearses = true
    /// Whether a file's raw data is written past the page cache (`HDF5DirectOutput`); tests turn
    /// it off to compare.
    var writesDirect = true
    /// Set in a rehearsal: the same calls, into this log, with edited datasets written as zeros
    /// (never read or edited) unless compressed ahead, and no progress reported.
    private(set) var rehearsal: HDF5WriteLog?
    private var rehearsing: Bool { rehearsal != nil }
    /// Edited datasets whose chunks were compressed before the rehearsal (`encodeAhead`), which
    /// the rehearsal and the rewrite both write as they are.
    private(set) var encodedAhead: [String: HDF5DeflatedChunks.Encoded] = [:]
    /// The most bytes the edited datasets may store now for `encodeAhead` to start, and the most
    /// compressed bytes it holds before it stops (past it, the dataset it compressed last);
    /// tests lower it.
    var encodedAheadLimit = 64 << 20

    /// Why a rewrite cannot be rehearsed.
    private struct RehearsalImpossible: Error {}

    private final class State {
        /// Destination path of every object already written, by source address (hard links).
        var pathOfAddress: [haddr_t: String] = [:]
        let tensorOfPath: [String: TensorInfo]
        /// The largest edited float32 tensor's storage, for the next tensor of about its size.
        let spare = SpareStorage()
        init(tensors: [TensorInfo]) { tensorOfPath = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) }) }
    }

    /// Writes a transaction's temporary file, through the same driver as an archive's member.
    /// `observer` (the output's digest) is shown the file's bytes in order: as they are written
    /// when a rehearsal could log the file beforehand, else read back once it is closed.
    @discardableResult
    func write(to temporary: TemporaryFile, observer: (any ByteSink)? = nil) throws -> HDF5StreamedOutput.Outcome? {
        try refuseAliasedEdits()
        let file = try FileBytes(creating: temporary)
        guard observer != nil, rehearses, encodedAhead.isEmpty else { return try write(file, temporary, observer: observer) }
        var rewriter = self
        rewriter.encodedAhead = try encodeAhead(writing: temporary.path)
        return try rewriter.write(file, temporary, observer: observer)
    }

    private func write(_ file: FileBytes, _ temporary: TemporaryFile, observer: (any ByteSink)?) throws -> HDF5StreamedOutput.Outcome? {
        let range = HDF5ByteRange(writing: file.fd, base: 0, wholeFile: true)
        let streamed = observer.flatMap { observer in (rehearses ? rehearse() : nil).map { HDF5StreamedOutput(sink: observer, predicted: $0) } }
        range.watcher = streamed
        // Past the page cache unless the file must be read back for its digest (from the disk, then).
        if writesDirect, observer == nil || streamed != nil {
            range.direct = HDF5DirectOutput(path: temporary.path, displayPath: temporary.final, fd: file.fd)
        }
        try write(to: temporary.path, range: range)
        guard range.closed else { throw CheckpointError.writeFailed(path: temporary.path, reason: "libhdf5 did not close the file") }
        // Cutting the file at close wrote out what the direct output held; had libhdf5 not cut it, here.
        if let direct = range.direct, !direct.writeOut() {
            throw CheckpointError.writeFailed(path: temporary.path, reason: direct.failure ?? "the direct writes failed")
        }
        guard let observer else { return nil }
        let read = { (buffer: UnsafeMutableRawBufferPointer, offset: Int) throws in try file.readUnobserved(into: buffer, at: offset) }
        if let streamed { return try streamed.finish(size: range.length, read: read) }
        try HDF5StreamedOutput.show(observer, size: range.length, read: read)
        return .readBack
    }

    /// The file this rewrite will write, logged by making the same calls into a log; nil when it
    /// cannot be known beforehand (an edited dataset whose filters make its size depend on its
    /// values and that was not compressed ahead, found before anything is copied; or anything
    /// that fails: the rewrite itself then reports it).
    private func rehearse() -> HDF5PredictedFile? {
        for name in plan.edited where encodedAhead[name] == nil {
            guard let dataset = try? H5ID(.dataset, H5Dopen2(source.file.raw, name, HDF5.defaultPlist), "H5Dopen2(\(name))"),
                  let dcpl = try? H5ID(.plist, H5Dget_create_plist(dataset.raw), "H5Dget_create_plist(\(name))"),
                  H5Pget_nfilters(dcpl.raw) == 0 else { return nil }
        }
        let log = HDF5WriteLog()
        var rehearsal = self
        rehearsal.rehearsal = log
        let range = HDF5ByteRange(rehearsingInto: log)
        guard (try? rehearsal.write(to: "a rehearsal of \(source.path)", range: range)) != nil, range.closed else { return nil }
        return HDF5PredictedFile(log)
    }

    /// Reads, edits and compresses the edited datasets ahead of the rewrite (`path`), so that a
    /// rehearsal knows their stored sizes: when every one of them is deflated in chunks that
    /// `HDF5DeflatedChunks` writes and together they store at most `encodedAheadLimit` now.
    /// They are edited in the order the rewrite would edit them, until what is held passes the
    /// limit (an edit may compress worse than what it replaces); the rest are edited as the
    /// rewrite reaches them, and the output is then read back for its digest once written, as it
    /// is when none is compressed ahead.
    private func encodeAhead(writing path: String) throws -> [String: HDF5DeflatedChunks.Encoded] {
        guard compressesChunks, !plan.edited.isEmpty else { return [:] }
        let order = source.tree.flatMap { [$0] + $0.descendants }
            .filter { $0.kind == .dataset && plan.edited.contains($0.path) && !plan.isDropped($0.path) }
        guard order.count == plan.edited.count else { return [:] }
        let tensorOfPath = Dictionary(source.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var writers: [(info: TensorInfo, chunks: HDF5DeflatedChunks)] = [], stored = 0
        for node in order {
            guard let info = tensorOfPath[node.path], info.dtype.isEditable,
                  let dataset = try? H5ID(.dataset, H5Dopen2(source.file.raw, node.path, HDF5.defaultPlist), "H5Dopen2(\(node.path))"),
                  let chunks = try? HDF5DeflatedChunks(copying: dataset.raw, name: node.path, oneChunk: true) else { return [:] }
            let size = Int(clamping: H5Dget_storage_size(dataset.raw))  // a damaged file may claim any size
            guard size <= encodedAheadLimit - stored else { return [:] }
            stored += size
            writers.append((info, chunks))
        }
        var encoded: [String: HDF5DeflatedChunks.Encoded] = [:], held = 0
        for (info, chunks) in writers where held <= encodedAheadLimit {
            var tensor = try source.read(info)
            try edit(&tensor)
            do {
                let dataset = try H5ID(.dataset, H5Dopen2(source.file.raw, info.name, HDF5.defaultPlist), "H5Dopen2(\(info.name))")
                // A dataset of one chunk is always compressed again: libhdf5 writes those when
                // nothing is compressed ahead, and does not keep the stored chunk.
                let compressed = try FloatCodec.withEncodedBytes(tensor.values, as: info) { bytes in
                    try chunks.encode(bytes, keepingUnchangedChunksOf: chunks.chunkCount > 1 ? dataset.raw : nil, name: info.name)
                }
                encoded[info.name] = compressed
                held += compressed.byteCount
            } catch let failure as HDF5Failure {
                throw CheckpointError.writeFailed(path: path, reason: "HDF5 \(failure.call) failed: \(failure.message)")
            }
        }
        return encoded
    }

    /// Writes into the byte range `range` of an archive being written (a `.keras` archive's
    /// `model.weights.h5`), named `member` in messages.
    func write(member: String, range: HDF5ByteRange) throws {
        try write(to: member, range: range)
    }

    /// An edited dataset reachable under another name would keep the forgotten values there.
    private func refuseAliasedEdits() throws {
        for name in plan.edited.sorted() {
            if let names = source.aliases[name] {
                throw CheckpointError.unsupported(path: source.path, tensor: name,
                    reason: "the same dataset is also linked as \(names.filter { $0 != name }.joined(separator: ", ")); editing it would leave the forgotten values under that name (remove the extra link first)")
            }
        }
    }

    private func write(to destination: String, range: HDF5ByteRange) throws {
        try refuseAliasedEdits()
        do {
            let sourceRoot = try H5ID(.group, H5Gopen2(source.file.raw, "/", HDF5.defaultPlist), "H5Gopen2(/)")
            let fcpl = try H5ID(.plist, H5Fget_create_plist(source.file.raw), "H5Fget_create_plist")
            try HDF5.check(H5Pset_obj_track_times(fcpl.raw, false), "H5Pset_obj_track_times")
            // The root group's link and attribute order flags live on its gcpl, not on the fcpl.
            let rootGcpl = try H5ID(.plist, H5Gget_create_plist(sourceRoot.raw), "H5Gget_create_plist(/)")
            var linkOrder: UInt32 = 0, attributeOrder: UInt32 = 0
            try HDF5.check(H5Pget_link_creation_order(rootGcpl.raw, &linkOrder), "H5Pget_link_creation_order(/)")
            try HDF5.check(H5Pget_attr_creation_order(rootGcpl.raw, &attributeOrder), "H5Pget_attr_creation_order(/)")
            try HDF5.check(H5Pset_link_creation_order(fcpl.raw, linkOrder), "H5Pset_link_creation_order")
            try HDF5.check(H5Pset_attr_creation_order(fcpl.raw, attributeOrder), "H5Pset_attr_creation_order")

            let fapl = try outputAccess(range: range)
            let output = try withExtendedLifetime(fapl) {
                try H5ID(.file, H5Fcreate(destination, ckf_H5F_ACC_EXCL(), fcpl.raw, fapl.raw), "H5Fcreate")
            }
            let outputRoot = try H5ID(.group, H5Gopen2(output.raw, "/", HDF5.defaultPlist), "H5Gopen2(/) of the output")
            try HDF5Attributes.copyAll(from: sourceRoot.raw, to: outputRoot.raw, path: "/", file: source.path)
            // A link back to the root (a cycle) becomes a hard link to the new root, not a copy of it.
            var rootInfo = H5O_info_t()
            try HDF5.check(H5Oget_info2(sourceRoot.raw, &rootInfo, UInt32(H5O_INFO_BASIC)), "H5Oget_info2(/)")
            let state = State(tensors: source.tensors)
            state.pathOfAddress[rootInfo.addr] = "/"
            try copy(source.tree, into: output.raw, state: state)
            try HDF5.check(H5Fflush(output.raw, H5F_SCOPE_GLOBAL), "H5Fflush")
        } catch {
            guard let failure = error as? HDF5Failure else { throw error }
            let reason = range.failure.map { "; writing: \($0)" } ?? ""
            throw CheckpointError.writeFailed(path: destination, reason: "HDF5 \(failure.call) failed: \(failure.message)\(reason)")
        }
    }

    /// The output's file access properties: the lowest library version its structures may use is
    /// the one the input's superblock needs (2 and 3 come with version 2 object headers, whose
    /// dense attribute storage holds attributes over 64 KiB), so whatever the input holds fits;
    /// an input with the oldest superblock keeps the oldest, most widely readable format.
    private func outputAccess(range: HDF5ByteRange) throws(HDF5Failure) -> H5ID {
        var info = H5F_info2_t()
        try HDF5.check(H5Fget_info2(source.file.raw, &info), "H5Fget_info2")
        let fapl = try range.accessList()
        let low: H5F_libver_t? = switch info.super.version {
        case 0, 1: nil
        case 2: H5F_LIBVER_V18
        default: H5F_LIBVER_V110
        }
        if let low { try HDF5.check(H5Pset_libver_bounds(fapl.raw, low, ckf_H5F_LIBVER_LATEST()), "H5Pset_libver_bounds") }
        return fapl
    }

    private func copy(_ nodes: [HDF5Node], into output: hid_t, state: State) throws {
        let input = source.file.raw
        for node in nodes where !plan.isDropped(node.path) {
            switch node.kind {
            case .softLink, .externalLink:
                try copyLink(node, into: output)
                continue
            case .group, .dataset, .namedType, .other:
                break
            }
            if let first = state.pathOfAddress[node.address] {
                try HDF5.check(H5Lcreate_hard(output, first, output, node.path, HDF5.defaultPlist, HDF5.defaultPlist),
                               "H5Lcreate_hard(\(node.path))")
                continue
            }
            state.pathOfAddress[node.address] = node.path

            if !plan.touches(subtree: node.path) {
                let ocpypl = try H5ID(.plist, H5Pcreate(ckf_H5P_OBJECT_COPY()), "H5Pcreate(object copy)")
                try HDF5.check(H5Pset_copy_object(ocpypl.raw, ckf_H5O_COPY_MERGE_COMMITTED_DTYPE_FLAG()), "H5Pset_copy_object")
                rehearsal?.copyingObjects = true
                defer { rehearsal?.copyingObjects = false }
                try HDF5.check(H5Ocopy(input, node.path, output, node.path, ocpypl.raw, HDF5.defaultPlist), "H5Ocopy(\(node.path))")
                for inner in [node] + node.descendants {
                    if inner.address != 0, state.pathOfAddress[inner.address] == nil { state.pathOfAddress[inner.address] = inner.path }
                    if !rehearsing, let info = state.tensorOfPath[inner.path] { progress(info, false) }
                }
            } else if node.kind == .group {
                let group = try H5ID(.group, H5Gopen2(input, node.path, HDF5.defaultPlist), "H5Gopen2(\(node.path))")
                let gcpl = try H5ID(.plist, H5Gget_create_plist(group.raw), "H5Gget_create_plist(\(node.path))")
                try HDF5.check(H5Pset_obj_track_times(gcpl.raw, false), "H5Pset_obj_track_times(\(node.path))")
                let created = try H5ID(.group, H5Gcreate2(output, node.path, HDF5.defaultPlist, gcpl.raw, HDF5.defaultPlist),
                                       "H5Gcreate2(\(node.path))")
                try HDF5Attributes.copyAll(from: group.raw, to: created.raw, path: node.path, file: source.path)
                try copy(node.children, into: output, state: state)
            } else if let info = state.tensorOfPath[node.path], plan.edited.contains(node.path) {
                // Until the dataset is closed: libhdf5 writes small values when it closes them.
                rehearsal?.writingValues = true
                try writeEdited(info, into: output, state: state)
                rehearsal?.writingValues = false
                if !rehearsing { progress(info, true) }
            }
        }
    }

    /// Recreates an edited dataset with the source's type, dataspace and creation properties.
    private func writeEdited(_ info: TensorInfo, into output: hid_t, state: State) throws {
        let input = source.file.raw
        let dataset = try H5ID(.dataset, H5Dopen2(input, info.name, HDF5.defaultPlist), "H5Dopen2(\(info.name))")
        let type = try H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type(\(info.name))")
        let space = try H5ID(.dataspace, H5Dget_space(dataset.raw), "H5Dget_space(\(info.name))")
        let dcpl = try H5ID(.plist, H5Dget_create_plist(dataset.raw), "H5Dget_create_plist(\(info.name))")
        if H5Pget_external_count(dcpl.raw) > 0 || H5Pget_layout(dcpl.raw) == H5D_VIRTUAL {
            throw CheckpointError.unsupported(path: source.path, tensor: info.name,
                                              reason: "its data lives in other files (external or virtual storage); edit the files it points to instead")
        }
        try HDF5.check(H5Pset_obj_track_times(dcpl.raw, false), "H5Pset_obj_track_times(\(info.name))")
        let created = try H5ID(.dataset, H5Dcreate2(output, info.name, type.raw, space.raw, HDF5.defaultPlist, dcpl.raw, HDF5.defaultPlist),
                               "H5Dcreate2(\(info.name))")
        try HDF5Attributes.copyAll(from: dataset.raw, to: created.raw, path: info.name, file: source.path)
        if let encoded = encodedAhead[info.name] { return try encoded.write(to: created.raw, name: info.name) }
        if rehearsing { return try writeZeros(created.raw, type: type.raw, space: space.raw) }

        var tensor = try source.read(info, reusing: state.spare)
        try edit(&tensor)
        let chunks = compressesChunks ? try HDF5DeflatedChunks(copying: dataset.raw, name: info.name) : nil
        try FloatCodec.withEncodedBytes(tensor.values, as: info) { bytes in
            if let chunks {
                try chunks.write(bytes, to: created.raw, keepingUnchangedChunksOf: dataset.raw, name: info.name)
            } else {
                try HDF5.check(H5Dwrite(created.raw, type.raw, ckf_H5S_ALL(), ckf_H5S_ALL(), HDF5.defaultPlist, bytes.baseAddress),
                               "H5Dwrite(\(info.name))")
            }
        }
        if let values = tensor.takeFloat32Values() { state.spare.keep(values) }
    }

    /// A rehearsal's stand-in for an edited dataset's values (never filtered: `rehearse` sees to
    /// that): zeros, from a mapping that is never touched (the log keeps no raw bytes).
    private func writeZeros(_ dataset: hid_t, type: hid_t, space: hid_t) throws {
        let points = H5Sget_simple_extent_npoints(space), size = H5Tget_size(type)
        guard points >= 0, size > 0, case let (bytes, overflow) = Int(points).multipliedReportingOverflow(by: size), !overflow else {
            throw RehearsalImpossible()
        }
        let zeros = mmap(nil, max(bytes, 1), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let zeros, zeros != MAP_FAILED else { throw RehearsalImpossible() }
        defer { munmap(zeros, max(bytes, 1)) }
        try HDF5.check(H5Dwrite(dataset, type, ckf_H5S_ALL(), ckf_H5S_ALL(), HDF5.defaultPlist, zeros), "H5Dwrite(rehearsal)")
    }

    /// Recreates a soft or external link with the same target.
    private func copyLink(_ node: HDF5Node, into output: hid_t) throws {
        let input = source.file.raw
        var info = H5L_info_t()
        try HDF5.check(H5Lget_info(input, node.path, &info, HDF5.defaultPlist), "H5Lget_info(\(node.path))")
        var value = [UInt8](repeating: 0, count: max(1, Int(info.u.val_size)))
        try HDF5.check(H5Lget_val(input, node.path, &value, value.count, HDF5.defaultPlist), "H5Lget_val(\(node.path))")
        if node.kind == .softLink {
            let target = String(decoding: value.prefix { $0 != 0 }, as: UTF8.self)
            try HDF5.check(H5Lcreate_soft(target, output, node.path, HDF5.defaultPlist, HDF5.defaultPlist), "H5Lcreate_soft(\(node.path))")
        } else {
            var fileName: UnsafePointer<CChar>?, objectName: UnsafePointer<CChar>?
            var flags: UInt32 = 0
            try HDF5.check(H5Lunpack_elink_val(&value, value.count, &flags, &fileName, &objectName), "H5Lunpack_elink_val(\(node.path))")
            try HDF5.check(H5Lcreate_external(fileName, objectName, output, node.path, HDF5.defaultPlist, HDF5.defaultPlist),
                           "H5Lcreate_external(\(node.path))")
        }
    }
}
