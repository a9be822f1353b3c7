import Foundation

/// What a file says about its model beyond the tensors themselves; the layouts read it.
public struct CheckpointMetadata: Sendable {
    /// The architecture: Keras' `model_config` root attribute (legacy `.h5`), or the `config.json`
    /// of a `.keras` archive (the same JSON), parsed once by the strict reader where the file is
    /// opened; everything that needs it (layouts, the engine) reads this value.
    public var modelConfig: JSONValue?
    /// The Keras version that wrote the file (`keras_version` on a legacy `.h5`'s root, or in a
    /// `.keras` archive's `metadata.json`), where it says: a few definitions changed with Keras 3.
    public var kerasVersion: String?
    /// `layer_names` of a Keras `.h5` (on `model_weights/`, or on the root of a weights-only file), in model order.
    public var layerNames: [String]?
    /// The group holding the layer groups named by `layerNames` ("model_weights" or "").
    public var layerGroup: String = ""
    /// `weight_names` of each Keras layer group, by layer name.
    public var weightNames: [String: [String]] = [:]
    /// Keras 3 `.weights.h5`: each layer's own name (the `name` attribute of `<group>/vars`) by its
    /// group path (`layers/dense_1` → `output`); Keras names the groups after the layer classes.
    public var keras3LayerNames: [String: String] = [:]
    /// safetensors `__metadata__`.
    public var stringMetadata: [String: String] = [:]
    /// Class names by index, from a Hugging Face `config.json` beside the weights (`id2label`).
    public var classLabels: [String]?
    /// Groups of optimizer state a file names itself (a torch training checkpoint's `optimizer`
    /// dictionary), as name prefixes; Keras' groups are found by the layout.
    public var optimizerGroups: [String] = []
    /// The graph of a NIR file (`/node`).
    public var nirGraph: NIRGraph?

    public init() {}
}

/// Receives a file's bytes in order while a rewrite reads or writes them, so a digest keeps pace
/// with the rewrite instead of reading the whole file again afterwards. HDF5 offers an output's
/// bytes (written through ckptforget's driver) but not an input's (libhdf5 reads it itself).
public protocol ByteSink: AnyObject, Sendable {
    func consume(_ bytes: UnsafeRawBufferPointer)
    /// Takes `bytes` without copying them: they stay valid and unchanged until the sink calls
    /// `done` (from any thread). Taken in the order of the calls, with `consume`'s.
    func consume(borrowing bytes: UnsafeRawBufferPointer, done: @escaping @Sendable () -> Void)
    /// Takes `bytes`, which the caller has just read from `source`: a sink that reads them again
    /// from there itself (a digest, on its own thread, from the page cache) spares the reader a
    /// copy and a wait for room. Taken in the order of the calls, with `consume`'s.
    func consume(_ bytes: UnsafeRawBufferPointer, readableAgainFrom source: FileRange)
    /// Forgets every byte taken so far: the writer found that what it showed was not its file and
    /// shows the whole file again from the start.
    func restart()
}

extension ByteSink {
    public func consume(borrowing bytes: UnsafeRawBufferPointer, done: @escaping @Sendable () -> Void) {
        consume(bytes)
        done()
    }

    public func consume(_ bytes: UnsafeRawBufferPointer, readableAgainFrom source: FileRange) {
        consume(bytes)
    }
}

/// Which tensors a rewrite replaces and which stored groups it leaves out.
public struct RewritePlan: Sendable {
    /// Names of the tensors handed to the edit function; every other tensor is copied through as stored.
    public var edited: Set<String>
    /// Group paths (HDF5) left out of the output entirely, e.g. `optimizer_weights`.
    public var dropped: Set<String>
    /// Sinks for the bytes of input files (by path) and output files (by final path), used by
    /// backends whose `streamsBytes` is true; each sees its whole file exactly once, in order.
    public var inputSinks: [String: any ByteSink] = [:]
    public var outputSinks: [String: any ByteSink] = [:]

    public init(edited: Set<String>, dropped: Set<String> = []) {
        self.edited = edited
        self.dropped = dropped
    }

    /// Whether `path` or anything below it is edited or dropped, so it cannot be copied whole.
    func touches(subtree path: String) -> Bool {
        let prefix = path + "/"
        return edited.contains(path) || dropped.contains(path)
            || edited.contains { $0.hasPrefix(prefix) } || dropped.contains { $0.hasPrefix(prefix) }
    }

    func isDropped(_ path: String) -> Bool {
        dropped.contains { path == $0 || path.hasPrefix($0 + "/") }
    }
}

/// Called for each tensor as a rewrite streams past it: the tensor and whether it was edited.
public typealias RewriteProgress = (TensorInfo, _ edited: Bool) -> Void

/// An opened checkpoint: its tensors, its metadata, and a streaming rewrite into a new file.
///
/// Implementations hold at most one tensor's values in memory at a time.
public protocol CheckpointFile: AnyObject {
    /// The path the user named (a file, or a shard index).
    var path: String { get }
    /// The format, as its backend declares it in `CheckpointFormats`.
    var format: CheckpointFormat { get }
    /// Every numeric tensor in file order, editable or not.
    var tensors: [TensorInfo] { get }
    var metadata: CheckpointMetadata { get }
    /// Every file this checkpoint consists of (one, or the index and its shards).
    var files: [String] { get }
    /// Whether a rewrite feeds `RewritePlan`'s byte sinks (every input and output file, whole).
    var streamsBytes: Bool { get }
    /// Whether a rewrite feeds the output sinks, if not the input ones (HDF5: libhdf5 reads the
    /// input itself, but the output's writes go through ckptforget's driver).
    var streamsOutputBytes: Bool { get }
    /// Files beside the checkpoint that a rewrite does not carry into the output although they
    /// belong to the model (weights in another format), for a warning.
    var leftOut: [String] { get }
    /// The files a rewrite to `destination` creates, in the order they are committed.
    func outputFiles(for destination: String) -> [String]
    /// About how many bytes each of those files takes, for the free-space check: by default the
    /// input files' sizes; a format whose copy can grow (a zip whose deflated members are written
    /// stored) says more.
    var outputSizes: [Int] { get }

    /// Reads and decodes one floating tensor.
    func read(_ info: TensorInfo) throws -> Tensor

    /// Whether `read(_:elements:)` reads only the bytes of the elements asked for (by default it
    /// reads the whole tensor and slices it, so a caller would read it once instead).
    var readsSlices: Bool { get }

    /// Reads and decodes the elements `elements` (flat indices, row-major) of one floating tensor.
    func read(_ info: TensorInfo, elements: Range<Int>) throws -> TensorValues

    /// Writes a copy of this checkpoint to `destination` (registered in `output`, so it is renamed into
    /// place on commit and removed on failure): tensors named in `plan.edited` are read, passed to
    /// `edit` and written back in their own dtype; everything else is copied through unchanged.
    func rewrite(to destination: String, in output: OutputTransaction, plan: RewritePlan,
                 progress: RewriteProgress, edit: (inout Tensor) throws -> Void) throws
}

extension CheckpointFile {
    public var files: [String] { [path] }
    public var streamsBytes: Bool { false }
    public var streamsOutputBytes: Bool { streamsBytes }
    public var leftOut: [String] { [] }
    public var readsSlices: Bool { false }
    public func read(_ info: TensorInfo, elements: Range<Int>) throws -> TensorValues { try read(info).values.slice(elements) }
    public func outputFiles(for destination: String) -> [String] { [destination] }
    public var outputSizes: [Int] { files.map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 } }

    public func tensor(named name: String) -> TensorInfo? {
        tensors.first { $0.name == name }
    }
}
