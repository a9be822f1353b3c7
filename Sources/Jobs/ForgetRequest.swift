import Checkpoint
import Engine
import Evaluation
import Forgetting
import Manifest

/// A forgetting run as data: what to read, which passes to apply, what to forget, what to measure
/// with and require, and which records to write. `ForgetJob.run` carries it out.
public struct ForgetRequest {
    /// The checkpoint: a file, a shard index, or the directory of a sharded checkpoint.
    public var input: String
    /// Where to write (a directory receives the input's file name); nil only for a dry run.
    public var output: String?
    public var passes: [PassSpec]
    public var target: ForgetTarget
    /// Classes given by name: resolved through the file's own class labels and added to `target`.
    public var classNames: [String]
    /// `--pre`: the snapshot from before the forget data was learned.
    public var pre: String?
    /// `--stats`: a statistics file; without it, statistics a pass needs are computed from `data`.
    public var statistics: String?
    public var data: DataSelection
    /// How a spiking (NIR) model is simulated; nil: the defaults (and no Keras model accepts options).
    public var spiking: SpikingOptions?
    /// How Fisher diagonals are computed from data (exact unless given).
    public var fisher: FisherMode?
    public var miaFeature: MembershipInference.Feature
    /// `--require`: conditions on the metrics after the edit; none met → nothing written.
    public var requirements: [Requirement]
    /// `--relearn N`: measure the edited model's relearn time, up to N steps (a metric).
    public var relearnLimit: Int?
    public var outputLayer: String?
    public var keepOptimizerState: Bool
    /// Edit tensors that hold NaN or infinity (reported) instead of stopping.
    public var allowNonFinite: Bool
    public var records: Records
    /// Print the plan; read nothing but the inputs' headers, run no model, write nothing.
    public var dryRun: Bool
    /// The tool's version, for the records.
    public var toolVersion: String
    /// `--report`: where to write the run's report page, committed with the output.
    public var report: String?

    /// Which records to write beside the output.
    public enum Records {
        /// None (`--no-sign`).
        case none
        /// The attestation, signed with the key at `key` when given (an ECDSA key also writes the
        /// OpenSSF Model Signing `.sig`); `manifest` and `parent` override the default paths.
        case write(key: String?, manifest: String?, parent: String?)
    }

    public init(input: String, output: String?, passes: [PassSpec], target: ForgetTarget = ForgetTarget(), classNames: [String] = [],
                pre: String? = nil, statistics: String? = nil, data: DataSelection = DataSelection(), spiking: SpikingOptions? = nil,
                fisher: FisherMode? = nil,
                miaFeature: MembershipInference.Feature = .entropy, requirements: [Requirement] = [], relearnLimit: Int? = nil, outputLayer: String? = nil,
                keepOptimizerState: Bool = false, allowNonFinite: Bool = false, records: Records = .none, dryRun: Bool = false, toolVersion: String,
                report: String? = nil) {
        self.input = input
        self.output = output
        self.passes = passes
        self.target = target
        self.classNames = classNames
        self.pre = pre
        self.statistics = statistics
        self.data = data
        self.spiking = spiking
        self.fisher = fisher
        self.miaFeature = miaFeature
        self.requirements = requirements
        self.relearnLimit = relearnLimit
        self.outputLayer = outputLayer
        self.keepOptimizerState = keepOptimizerState
        self.allowNonFinite = allowNonFinite
        self.records = records
        self.dryRun = dryRun
        self.toolVersion = toolVersion
        self.report = report
    }
}

/// What a run reports while it works: progress per tensor, warnings, and the metrics before and
/// after the edit (called before `--require` decides, so they can be shown either way).
public struct ForgetEvents {
    /// Before the output is written: how many tensors it holds.
    public var writing: (_ tensors: Int) -> Void
    /// As each tensor is written (or copied), in file order.
    public var progress: RewriteProgress
    public var warning: (String) -> Void
    public var assessed: (_ before: Assessment, _ after: Assessment, _ failures: [String]) -> Void
    /// After a strength search: the setting searched and each trial's value, metrics and whether it
    /// met the policy, in the order tried.
    public var searched: (_ parameter: String, _ trials: [(value: Double, metrics: [String: Double], met: Bool)]) -> Void

    public init(writing: @escaping (Int) -> Void = { _ in }, progress: @escaping RewriteProgress = { _, _ in },
                warning: @escaping (String) -> Void = { _ in },
                assessed: @escaping (Assessment, Assessment, [String]) -> Void = { _, _, _ in },
                searched: @escaping (String, [(value: Double, metrics: [String: Double], met: Bool)]) -> Void = { _, _ in }) {
        self.writing = writing
        self.progress = progress
        self.warning = warning
        self.assessed = assessed
        self.searched = searched
    }
}

/// What a run did.
public enum ForgetResult {
    /// A dry run: the plan, and the checkpoint it was made for.
    case planned(ForgettingPlan, checkpoint: any CheckpointFile)
    /// The output and its records were written.
    case written(RunReport, records: RecordsOutcome, before: Assessment?, after: Assessment?)
}

/// Which records a run wrote.
public struct RecordsOutcome: Sendable {
    public let signature: String?
    public let manifest: String?
    public let signedWith: KeyAlgorithm?
    /// The input's own attestation, recorded as the parent.
    public let parent: String?

    static let none = RecordsOutcome(signature: nil, manifest: nil, signedWith: nil, parent: nil)
}

/// A request that cannot be carried out as given (exit 2).
public enum ForgetJobError: Error, Equatable, CustomStringConvertible {
    case noOutput
    case outputName(String)
    case fisherUnused
    case requirementsNeedData
    case emptyManifestPath
    /// A --manifest path whose record verify would refuse (see `RecordWriter.problem(withManifest:model:)`).
    case unverifiableManifestPath(String, String)
    case unknownClassName(path: String, name: String, labels: [String]?)
    case severalAutoPasses([String])
    case autoNeedsData(String)
    case classNamesNeedLabels
    case relearnNeedsTraining(path: String)
    /// `--require relearn…` without `--relearn N`, which says how many steps to try.
    case relearnRequirementNeedsLimit
    case reportWithDryRun
    /// Inputs replaced or written to while the run read them: nothing is committed.
    case inputChanged([String])

    public var description: String {
        switch self {
        case .noOutput: "no output given: -o OUTPUT (the input is never modified)"
        case .outputName(let problem): problem
        case .fisherUnused: "--fisher applies when a pass computes Fisher diagonals from --data"
        case .requirementsNeedData: "--require needs data to measure: --data (with --class or --forget-ids) or --forget-data and --retain-data"
        case .emptyManifestPath: "--manifest needs a path"
        case .unverifiableManifestPath(let path, let problem): "--manifest \(path): \(problem)"
        case .unknownClassName(let path, let name, nil):
            "--class \(name): \(path) gives no class names (a Hugging Face config.json with id2label beside it); give the class index"
        case .unknownClassName(let path, let name, let labels?):
            "--class \(name): not one of the classes of \(path): \(labels.prefix(20).joined(separator: ", "))\(labels.count > 20 ? ", ..." : "")"
        case .classNamesNeedLabels: "class names need the checkpoint's own labels; give class indices here"
        case .reportWithDryRun: "--report writes a page with the output, and --dry-run writes nothing: give one of them"
        case .relearnRequirementNeedsLimit:
            "--require relearn needs --relearn N: the most steps of fine-tuning to try (N+1 then means not within N)"
        case .relearnNeedsTraining(let path): "--relearn fine-tunes the model, which the engine does for Keras models only; \(path) is a spiking graph"
        case .inputChanged(let paths):
            "\(paths.joined(separator: ", ")) changed while the run read \(paths.count == 1 ? "it" : "them") (replaced or written to); "
                + "nothing was written: run again once the input no longer changes"
        case .severalAutoPasses(let specs): "only one setting per run can be searched for; \(specs.joined(separator: " and ")) both ask (give a value to all but one)"
        case .autoNeedsData(let spec): "--pass \(spec): a setting given as auto is searched for on data: give --data (with --class or --forget-ids)"
        }
    }
}
