import Checkpoint
import Evaluation
import Forgetting
import Foundation
import Jobs

/// `ckptforget INPUT --pass SPEC... [--class C...] -o OUTPUT`: words to a `ForgetRequest`, the
/// `ForgetJob`'s result to text and an exit code.
enum ForgetCommand: Subcommand {
    static var help: String { Help.main }

    static let options: [Arguments.Option] = DataOptions.options + [
        .value("--pass", "-p", repeatable: true),
        .value("--class", "-c", repeatable: true),
        .value("--output", "-o"),
        .value("--output-layer"),
        .value("--pre"),
        .value("--stats"),
        .value("--fisher"),
        .value("--require"),
        .value("--relearn"),
        .flag("--keep-optimizer-state"),
        .flag("--allow-nonfinite"),
        .value("--sign-key"),
        .value("--manifest"),
        .value("--parent"),
        .value("--report"),
        .flag("--no-sign"),
        .flag("--dry-run", "-n"),
        .flag("--json"),
        .flag("--quiet", "-q"),
    ]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        let request = try self.request(arguments)
        let quiet = arguments.has("--quiet"), json = arguments.has("--json")
        let progress = ProgressLine(enabled: !quiet)
        var searchFailed = false
        let events = ForgetEvents(writing: progress.start, progress: progress.advance, warning: { Console.warning($0) },
                                  assessed: { before, after, failures in
            if !quiet || !failures.isEmpty { Console.error(Summary.assessment(before: before, after: after, classes: request.target.classes)) }
        }, searched: { parameter, trials in
            searchFailed = !trials.contains { $0.met }
            if !quiet || searchFailed { Console.error(Summary.search(parameter, trials)) }
        })
        let result: ForgetResult
        do {
            result = try ForgetJob.run(request, events: events)
            progress.finish()
        } catch {
            progress.finish()
            throw error
        }
        switch result {
        case .planned(let plan, let checkpoint):
            Console.output(json ? Summary.json(plan, checkpoint: checkpoint).pretty : Summary.plan(plan, checkpoint: checkpoint))
        case .written(let report, let records, _, _):
            if !quiet { Console.error(Summary.run(report) + Summary.records(records) + (request.report.map { "\nwrote \($0) (report page)" } ?? "")) }
            if json { Console.output(Summary.json(report).pretty) }
        }
        return .success
    }

    /// The request the words describe (checked for what can be checked without opening a file).
    static func request(_ arguments: Arguments) throws -> ForgetRequest {
        guard arguments.operands.count == 1 else {
            throw UsageError.invalid(arguments.operands.isEmpty
                ? "no input checkpoint given (usage: ckptforget INPUT --pass SPEC -o OUTPUT)"
                : "one input checkpoint at a time; got \(arguments.operands.joined(separator: " ")) (unknown subcommand?)")
        }
        let specs = try arguments.all("--pass").map(PassSpec.init(parsing:))
        guard !specs.isEmpty else { throw UsageError.invalid("no --pass given; passes: \(PassRegistry.all.map { $0.name }.joined(separator: ", "))") }
        let dryRun = arguments.has("--dry-run")
        guard dryRun || arguments.value("--output") != nil else {
            throw UsageError.invalid("no output given: -o OUTPUT (the input is never modified)")
        }
        let (classes, classNames) = try SharedOptions.classesOrNames(arguments.all("--class"))
        let data = try DataOptions.selection(arguments, classes: classes)
        return ForgetRequest(
            input: arguments.operands[0], output: arguments.value("--output"), passes: specs, target: ForgetTarget(classes: classes),
            classNames: classNames,
            pre: arguments.value("--pre"), statistics: arguments.value("--stats"),
            data: data, spiking: try DataOptions.spiking(arguments, data: data),
            fisher: try arguments.value("--fisher").map(SharedOptions.fisherMode), miaFeature: try DataOptions.miaFeature(arguments),
            requirements: try arguments.value("--require").map(Requirement.parse) ?? [],
            relearnLimit: try arguments.value("--relearn").map(SharedOptions.relearnLimit), outputLayer: arguments.value("--output-layer"),
            keepOptimizerState: arguments.has("--keep-optimizer-state"), allowNonFinite: arguments.has("--allow-nonfinite"), records: try records(arguments), dryRun: dryRun,
            toolVersion: CommandLineTool.version, report: arguments.value("--report"))
    }

    /// None with --no-sign; signed with --sign-key or $CKPTFORGET_SIGNING_KEY; else unsigned.
    static func records(_ arguments: Arguments) throws(UsageError) -> ForgetRequest.Records {
        guard !arguments.has("--no-sign") else {
            if let conflicting = ["--sign-key", "--manifest", "--parent"].first(where: { arguments.value($0) != nil }) {
                throw .invalid("\(conflicting) has no effect with --no-sign, which writes no records")
            }
            return .none
        }
        let key = arguments.value("--sign-key") ?? ProcessInfo.processInfo.environment["CKPTFORGET_SIGNING_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        return .write(key: key, manifest: arguments.value("--manifest"), parent: arguments.value("--parent"))
    }
}
