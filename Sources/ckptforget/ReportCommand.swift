import Evaluation
import Jobs
import Manifest

/// `ckptforget report MODEL [--before ORIGINAL] [--data D --class C...] -o REPORT.html`: words to a
/// `ReportRequest`, the `ReportJob`'s outcome to a line on stderr.
enum ReportCommand: Subcommand {
    static var help: String { Help.report }
    static let options: [Arguments.Option] = DataOptions.options + [
        .value("--class", "-c", repeatable: true), .value("--before"), .value("--require"), .value("--record"),
        .value("--key", "-k", repeatable: true), .value("--keys"), .value("--output", "-o"), .flag("--quiet", "-q"),
    ]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 1 else {
            throw UsageError.invalid("report takes one model (usage: ckptforget report MODEL [--before ORIGINAL] [--data D --class C] -o REPORT.html)")
        }
        guard let output = arguments.value("--output") else { throw UsageError.invalid("no output given: -o REPORT.html") }
        let classes = try SharedOptions.classes(arguments.all("--class"))
        let data = try DataOptions.selection(arguments, classes: classes)
        let keys = arguments.value("--keys") != nil || !arguments.all("--key").isEmpty ? try SharedOptions.trustedKeys(arguments) : []
        let outcome = try ReportJob.run(ReportRequest(
            model: arguments.operands[0], before: arguments.value("--before"), data: data, spiking: try DataOptions.spiking(arguments, data: data),
            miaFeature: try DataOptions.miaFeature(arguments), requirements: try arguments.value("--require").map(Requirement.parse),
            record: arguments.value("--record"), keys: keys, output: output, toolVersion: CommandLineTool.version))
        if !arguments.has("--quiet") {
            var notes: [String] = []
            if let reason = outcome.noMetricsReason { notes.append("no metrics: \(reason)") }
            if let met = outcome.policyMet { notes.append(met ? "policy met" : "policy NOT met") }
            switch outcome.signature {
            case .verified?: notes.append("record verified")
            case .failed?: notes.append("record does NOT verify")
            case .unchecked?: notes.append("record read, not verified (give --key to check it)")
            case nil: notes.append("no record read")
            }
            Console.error("wrote \(outcome.path) (\(notes.joined(separator: "; ")))")
        }
        return .success
    }
}
