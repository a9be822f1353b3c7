import Checkpoint
import Engine
import Evaluation
import Foundation
import Forgetting
import Manifest

/// `ckptforget INPUT --pass SPEC... [--class C...] -o OUTPUT`: plan, check, run, commit.
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
        .flag("--keep-optimizer-state"),
        .value("--sign-key"),
        .value("--manifest"),
        .value("--parent"),
        .flag("--no-sign"),
        .flag("--dry-run", "-n"),
        .flag("--json"),
        .flag("--quiet", "-q"),
    ]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 1 else {
            throw UsageError.invalid(arguments.operands.isEmpty
                ? "no input checkpoint given (usage: ckptforget INPUT --pass SPEC -o OUTPUT)"
                : "one input checkpoint at a time; got \(arguments.operands.joined(separator: " ")) (unknown subcommand?)")
        }
        let specs = try arguments.all("--pass").map(PassSpec.init(parsing:))
        guard !specs.isEmpty else { throw UsageError.invalid("no --pass given; passes: \(PassRegistry.all.map { $0.name }.joined(separator: ", "))") }
        let target = ForgetTarget(classes: try parseClasses(arguments.all("--class")))
        let dryRun = arguments.has("--dry-run"), quiet = arguments.has("--quiet")
        guard dryRun || arguments.value("--output") != nil else {
            throw UsageError.invalid("no output given: -o OUTPUT (the input is never modified)")
        }

        let checkpoint = try openCheckpoint(arguments.operands[0])
        let data = try DataOptions.parse(arguments, classes: target.classes)
        // With data, the model is rebuilt and the data split once, when statistics or measurements
        // first need them (a dry run that needs neither does not).
        var engine: (network: Network, splits: StatisticsFileWriter.Splits)?
        func measurable() throws -> (network: Network, splits: StatisticsFileWriter.Splits)? {
            guard !data.isEmpty else { return nil }
            if engine == nil {
                let network = try Network(checkpoint: checkpoint)
                engine = (network, try data.splits(network: network))
            }
            return engine
        }
        let computed = try computedStatistics(arguments, specs: specs, checkpoint: checkpoint, hasData: !data.isEmpty, engine: measurable)
        defer { if let computed { try? FileManager.default.removeItem(atPath: (computed.file.path as NSString).deletingLastPathComponent) } }
        let inputs = PassInputs(pre: try arguments.value("--pre").map(openCheckpoint),
                                statistics: try computed?.file ?? arguments.value("--stats").map(StatisticsFile.init(path:)))
        let plan = try ForgettingPlan(checkpoint: checkpoint, specs: specs, target: target, inputs: inputs,
                                      outputLayer: arguments.value("--output-layer"),
                                      keepOptimizerState: arguments.has("--keep-optimizer-state"))
        if dryRun {
            Console.output(arguments.has("--json") ? Summary.json(plan, checkpoint: checkpoint) : Summary.plan(plan, checkpoint: checkpoint))
            return .success
        }
        let destination = OutputPath.resolve(arguments.value("--output")!, input: checkpoint)
        try checkOutputFormat(destination, checkpoint: checkpoint, layout: plan.layout)
        let records = try recordWriter(arguments, checkpoint: checkpoint, destination: destination)
        let read: [(role: String, files: [String])] = [("checkpoint", checkpoint.files), ("pre", inputs.pre?.files ?? []),
                                                       ("statistics", computed == nil ? inputs.statistics?.file.files ?? [] : []),
                                                       ("data", data.files)]
        // The key and the input's record are read too: never written over.
        let alsoRead = [arguments.value("--sign-key"), arguments.value("--parent")].compactMap { $0 }
        try OutputPath.checkDistinct(outputs: checkpoint.outputFiles(for: destination) + (records?.files ?? []),
                                     inputs: read.flatMap(\.files) + alsoRead)

        let requirements = try arguments.value("--require").map(Requirement.parse) ?? []
        let check = try evaluation(data: data, engine: try measurable(), known: computed?.outputs ?? [:], requirements: requirements, quiet: quiet)

        let written = checkpoint.tensors.filter { info in !plan.droppedGroups.contains { info.name.hasPrefix($0 + "/") } }
        let progress = ProgressLine(total: written.count, enabled: !quiet)
        let (report, outcome): (RunReport, RecordedRun.Outcome)
        do {
            (report, outcome) = try RecordedRun.run(plan, on: checkpoint, to: destination, inputs: read.filter { !$0.files.isEmpty },
                                                    records: records, parentPath: arguments.value("--parent"), check: check) { info, edited in
                progress.advance(info.name, bytes: info.byteCount, edited: edited)
            }
            progress.finish()
        } catch {
            progress.finish()
            throw error
        }
        if !quiet { Console.error(Summary.run(report) + Summary.records(outcome)) }
        if arguments.has("--json") { Console.output(Summary.json(report)) }
        return .success
    }

    /// With data, the model is measured before the edit (from the statistics passes' outputs where
    /// there were any, `known`), and the edited model before it is published: the metrics go into
    /// the attestation, and `--require` can stop the run (exit 4).
    static func evaluation(data: EvaluationData, engine: (network: Network, splits: StatisticsFileWriter.Splits)?,
                           known: [String: (values: [Float], labels: [Int])],
                           requirements: [Requirement], quiet: Bool) throws -> ((String) throws -> JSONValue?)? {
        guard let (network, splits) = engine else {
            if !requirements.isEmpty { throw UsageError.invalid("--require needs data to measure: --data (with --class or --forget-ids) or --forget-data and --retain-data") }
            return nil
        }
        let before = try data.assess(network, splits: splits, known: known)
        return { temporary in
            let after = try data.assess(try Network(checkpoint: openCheckpoint(temporary)), splits: splits)
            let failures = Requirement.failures(requirements, before: before, after: after)
            if !quiet || !failures.isEmpty { Console.error(Summary.assessment(before: before, after: after)) }
            guard failures.isEmpty else { throw RequirementError.notMet(failures) }
            return Summary.evaluationRecord(before: before, after: after, requirements: requirements, sizes: splits.sizes)
        }
    }

    /// With data and a pass that needs Fisher diagonals or correlations but no --stats: the engine
    /// computes them (as `ckptforget stats` would) into a temporary statistics file, removed after,
    /// and keeps the model's outputs on the forget and retain splits for measuring it.
    static func computedStatistics(_ arguments: Arguments, specs: [PassSpec], checkpoint: any CheckpointFile, hasData: Bool,
                                   engine: () throws -> (network: Network, splits: StatisticsFileWriter.Splits)?) throws
        -> (file: StatisticsFile, outputs: [String: (values: [Float], labels: [Int])])? {
        let requirements = try specs.flatMap { try PassRegistry.make($0).requirements }
        let needsFisher = requirements.contains { if case .fisher = $0 { true } else { false } }
        let needsCorrelation = requirements.contains(.correlation)
        guard needsFisher || needsCorrelation, arguments.value("--stats") == nil, let (network, splits) = try engine() else {
            if arguments.value("--fisher") != nil, !needsFisher || !hasData {
                throw UsageError.invalid("--fisher applies when a pass computes Fisher diagonals from --data")
            }
            return nil
        }
        let mode = try StatsCommand.fisherMode(arguments.value("--fisher") ?? "exact")
        let statistics = try StatisticsFileWriter.measure(splits, fisher: needsFisher ? mode : nil, activity: needsCorrelation, outputs: true)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckptforget-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let path = directory + "/statistics.h5"
        let transaction = OutputTransaction()
        do {
            try StatisticsFileWriter.write(statistics, network: network, mode: mode, sizes: splits.sizes,
                                           provenance: ["model": (checkpoint.path as NSString).lastPathComponent],
                                           to: path, in: transaction)
            try transaction.commit()
        } catch {
            transaction.abort()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        return (try StatisticsFile(path: path), statistics.outputs)
    }

    /// The records to write: none with --no-sign; signed with --sign-key or $CKPTFORGET_SIGNING_KEY.
    static func recordWriter(_ arguments: Arguments, checkpoint: any CheckpointFile, destination: String) throws -> RecordWriter? {
        guard !arguments.has("--no-sign") else {
            if let conflicting = ["--sign-key", "--manifest", "--parent"].first(where: { arguments.value($0) != nil }) {
                throw UsageError.invalid("\(conflicting) has no effect with --no-sign, which writes no records")
            }
            return nil
        }
        let keyPath = arguments.value("--sign-key") ?? ProcessInfo.processInfo.environment["CKPTFORGET_SIGNING_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let key = try keyPath.map { path in
            let key = try PrivateKey(pemFile: path)
            if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
                Console.error("ckptforget: warning: \(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
            }
            return key
        }
        if let key, !key.algorithm.isECDSA {
            Console.error("ckptforget: note: OpenSSF Model Signing needs an ECDSA key (P-256, P-384, P-521); \(keyPath!) is Ed25519, so only the attestation is written and signed")
        }
        let model = checkpoint.format == .shardedSafetensors ? (destination as NSString).deletingLastPathComponent : destination
        return RecordWriter(model: model.isEmpty ? "." : model, manifestPath: arguments.value("--manifest"), key: key, version: CommandLineTool.version)
    }

    /// `--class 2 --class 5` or `--class 2,5`: non-negative integers.
    static func parseClasses(_ values: [String]) throws(UsageError) -> [Int] {
        var classes: [Int] = []
        for value in values {
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                guard let c = Int(part), c >= 0 else {
                    throw .invalid("--class \(value): expected a class index (a non-negative integer)")
                }
                if !classes.contains(c) { classes.append(c) }
            }
        }
        return classes
    }

    /// The output is written in the input's format; a name that says otherwise is a mistake.
    static func checkOutputFormat(_ destination: String, checkpoint: any CheckpointFile, layout: Layout) throws {
        let isSafetensorsName = destination.hasSuffix(".safetensors")
        switch checkpoint.format {
        case .hdf5 where isSafetensorsName:
            throw UsageError.invalid("\(destination): the output is written in the input's format (HDF5); give it an .h5 name")
        case .safetensors where !isSafetensorsName:
            throw UsageError.invalid("\(destination): the output is written in the input's format (safetensors); give it a .safetensors name")
        case .shardedSafetensors where !destination.hasSuffix(".index.json"):
            throw UsageError.invalid("\(destination): a sharded checkpoint is written as an index and shards; give -o a directory or a *.safetensors.index.json path")
        default:
            break
        }
        if layout.kind == .keras3Weights, !destination.hasSuffix(".weights.h5") {
            Console.error("ckptforget: warning: \(destination): Keras' load_weights only reads files named *.weights.h5")
        }
    }
}
