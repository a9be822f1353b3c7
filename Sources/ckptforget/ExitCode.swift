import Checkpoint
import Engine
import Evaluation
import Forgetting
import Jobs
import Manifest

/// ckptforget's exit codes, in one table (documented in `man/ckptforget.1`, EXIT STATUS).
enum ExitCode: Int32 {
    case success = 0
    /// Something failed while working (writing the output, an unexpected I/O error).
    case failure = 1
    /// Bad usage or bad input: the arguments, the passes, or the input files (checked before any
    /// work where they can be; found while streaming otherwise). No output is left either way.
    case badInput = 2
    /// `verify` or `audit` found a record that does not hold (bad signature, changed file, broken lineage).
    case verificationFailed = 3
    /// A `--require` policy was not met: the metrics are printed, nothing is written.
    case policyNotMet = 4

    /// Bad input (the files, the passes, the arguments) is 2; anything else is a failure.
    init(for error: any Error) {
        switch error {
        case let error as CheckpointError: self = error.isBadInput ? .badInput : .failure
        case SigningError.failed: self = .failure
        case RequirementError.notMet: self = .policyNotMet
        case is RequirementError: self = .badInput
        case is UsageError, is PassError, is LayoutError, is StatisticsError, is SigningError, is LineageError, is EngineError,
             is SpikingGraphError, is NumericsError, is DataSelectionError, is ForgetJobError, is ReportJobError: self = .badInput
        default: self = .failure
        }
    }
}
