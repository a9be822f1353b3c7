import Checkpoint
import Engine
import Evaluation
import Forgetting
import Foundation
import Manifest

/// A forgetting run as one library call: the plan is built once; the statistics it needs are
/// derived from its passes' requirements and computed from data (in memory) when no `--stats` was
/// given; model passes and the streaming pipeline write the output; the edited model is measured
/// against `--require`; the records are made from the report and the digests; and the output and
/// its records are committed in one `OutputTransaction` (flushed, then renamed one by one; see there
/// for what holds on a crash). A dry run stops after the plan: it runs no model and writes nothing.
public enum ForgetJob {
    public static func run(_ request: ForgetRequest, events: ForgetEvents = ForgetEvents()) throws -> ForgetResult {
        AllocatorTuning.apply()  // slices and reads of the same sizes, over and over
        var request = request
        // What each input is before anything opens it, and (below) every file the backends found.
        var inputs = InputWatch()
        inputs.watch([request.input] + [request.pre, request.statistics].compactMap { $0 } + request.data.files)
        let checkpoint = try openCheckpoint(request.input)
        for name in request.classNames {
            guard let index = checkpoint.metadata.classLabels?.firstIndex(of: name) else {
                throw ForgetJobError.unknownClassName(path: checkpoint.path, name: name, labels: checkpoint.metadata.classLabels)
            }
            if !request.target.classes.contains(index) { request.target.classes.append(index) }
        }
        if !request.classNames.isEmpty { request.data.classes = request.target.classes }
        let pre = try request.pre.map(openCheckpoint)
        let statisticsFile = try request.statistics.map(StatisticsFile.init(path:))
        var plan = try ForgettingPlan(checkpoint: checkpoint, specs: request.passes, target: request.target,
                                      inputs: PassInputs(pre: pre, statistics: statisticsFile), statisticsFromData: !request.data.isEmpty,
                                      outputLayer: request.outputLayer, keepOptimizerState: request.keepOptimizerState)
        plan.allowNonFinite = request.allowNonFinite
        let needsFisher = plan.needsStatisticsFromData && plan.requirements.contains { if case .fisher = $0 { true } else { false } }
        if request.fisher != nil, !needsFisher { throw ForgetJobError.fisherUnused }
        if plan.hasModelPasses, request.data.isEmpty, let step = plan.steps.first(where: { $0.pass is any ModelPass }) {
            throw PassError.needsData(pass: step.pass.name)
        }
        if !request.requirements.isEmpty || request.relearnLimit != nil, request.data.isEmpty { throw ForgetJobError.requirementsNeedData }
        if request.relearnLimit == nil, request.requirements.contains(where: { $0.metric == "relearn" }) { throw ForgetJobError.relearnRequirementNeedsLimit }
        if request.dryRun {
            if request.report != nil { throw ForgetJobError.reportWithDryRun }
            return .planned(plan, checkpoint: checkpoint)
        }

        guard let output = request.output else { throw ForgetJobError.noOutput }
        let destination = OutputPath.resolve(output, input: checkpoint)
        if let problem = checkpoint.format.problem(withOutputName: destination) { throw ForgetJobError.outputName(problem) }
        if checkpoint.format == CheckpointFormats.hdf5, plan.layout.kind == .keras3Weights, !destination.hasSuffix(".weights.h5") {
            events.warning("\(destination): Keras' load_weights only reads files named *.weights.h5")
        }
        let records = try recordWriter(request, checkpoint: checkpoint, destination: destination, events: events)
        let read: [(role: String, files: [String])] = [("checkpoint", checkpoint.files), ("pre", pre?.files ?? []),
                                                       ("statistics", statisticsFile?.file.files ?? []), ("data", request.data.files)]
        // The key and the input's record are read too: never written over.
        var alsoRead: [String] = []
        if case .write(let key, _, let parent) = request.records { alsoRead = [key, parent].compactMap { $0 } }
        inputs.watch(read.flatMap(\.files) + alsoRead)
        // The input's own records (its attestation and signature) are never replaced either, whether or not they are read.
        let inputModel = checkpoint.format.model(at: checkpoint.path)
        let inputRecords = [inputModel + ".manifest.json", inputModel + ".sig"] + (records?.parent.map { [$0.path] } ?? [])
        try OutputPath.checkDistinct(outputs: checkpoint.outputFiles(for: destination) + (records?.writer.files ?? []) + [request.report].compactMap { $0 },
                                     inputs: read.flatMap(\.files) + alsoRead + inputRecords)
        let sizes = checkpoint.outputSizes
        try OutputPath.checkSpace(for: destination, bytes: sizes.reduce(0, +), largestFile: sizes.max() ?? 0)

        // The model and the data, when anything measures or runs the model.
        var network: (any ClassifierModel)?, splits: DataSplits?
        if !request.data.isEmpty {
            network = try ClassifierModels.open(checkpoint, spiking: request.spiking)
            splits = try request.data.splits(network: network!)
            if request.relearnLimit != nil, !(network is Network) { throw ForgetJobError.relearnNeedsTraining(path: checkpoint.path) }
        } else if request.spiking != nil {
            _ = try ClassifierModels.open(checkpoint, spiking: request.spiking)
        }
        var computed: ComputedStatistics?
        if plan.needsStatisticsFromData, let network, let splits {
            let measured = try MeasuredStatistics.measure(network, on: splits, fisher: needsFisher ? request.fisher ?? .exact : nil,
                                                          activity: plan.requirements.contains(.correlation), outputs: true,
                                                          logits: plan.requirements.contains(.logitsIfAvailable))
            computed = ComputedStatistics(measured, description: "statistics computed from \(request.data.files.joined(separator: ", "))")
        }
        var prepared = try plan.prepared(checkpoint: checkpoint, computed: computed)
        let forgetClasses = request.data.forgetIDs == nil ? request.target.classes : []
        var before: Assessment?
        if let network, let splits {
            before = try Assessment(of: network, on: splits, known: computed?.measured.outputs ?? [:], feature: request.miaFeature,
                                    forgetClasses: forgetClasses, detailed: request.report != nil)
        }
        // A setting given as auto: search for the weakest value that meets the policy, then run with it.
        var policy = request.requirements
        var search: StrengthSearch.Outcome?
        if let step = try StrengthSearch.autoStep(in: prepared) {
            guard let network, let splits, let before else { throw ForgetJobError.autoNeedsData(prepared.steps[step.index].spec.text) }
            if policy.isEmpty { policy = try Requirement.parse(StrengthSearch.defaultPolicy) }
            let outcome = try StrengthSearch.run(prepared, step: step, checkpoint: checkpoint, model: ModelStageInput(model: network, data: splits),
                                                 before: before, policy: policy, relearnLimit: request.relearnLimit,
                                                 feature: request.miaFeature, forgetClasses: forgetClasses)
            events.searched(step.scale.parameter, outcome.trials.map { ($0.value, $0.metrics, $0.failures.isEmpty) })
            guard outcome.chosen != nil else {
                let best = outcome.best.map { trial in
                    let value = step.scale.integral ? "\(Int(trial.value))" : "\(trial.value)"
                    return "; the best trial, \(step.scale.parameter)=\(value), failed: \(trial.failures.joined(separator: "; "))"
                } ?? ""
                throw RequirementError.notMet(["no \(step.scale.parameter) of \(prepared.steps[step.index].spec.text) met the policy in \(outcome.trials.count) trials\(best)"])
            }
            prepared = outcome.plan
            search = outcome
        }

        // Warnings once everything is checked and before the work, so a refused run prints only its error.
        var warnings = request.data.isEmpty ? logitWarning(plan).map { [$0] } ?? [] : []
        if request.data.isEmpty, !request.target.classes.isEmpty, !plan.steps.contains(where: { $0.pass is any ClassUnitPass }) {
            warnings.append("--class has no effect on \(plan.steps.map(\.spec.text).joined(separator: ", ")): no pass here edits a class's units, "
                + "and without --data no forget split is made from it")
        }
        warnings += checkpoint.leftOut.map { "\($0): not carried into the output (it holds the model's weights in another format, unedited)" }
        warnings.forEach(events.warning)
        events.writing(checkpoint.tensors.filter { info in !plan.droppedGroups.contains { info.name.hasPrefix($0 + "/") } }.count)
        let transaction = OutputTransaction()
        let digests = records == nil ? nil : RunDigests(inputs: read.flatMap(\.files), checkpoint: checkpoint, destination: destination)
        do {
            var report = try ForgettingPipeline.run(prepared, on: checkpoint, to: destination, in: transaction,
                                                    model: modelStage(network, splits),
                                                    inputSinks: digests?.inputSinks ?? [:], outputSinks: digests?.outputSinks ?? [:],
                                                    progress: events.progress)
            report.warnings.forEach(events.warning)
            report.warnings = warnings + report.warnings
            if let search { report.passes[search.index].details = Self.merging(["search": search.details], into: report.passes[search.index].details) }
            var after: Assessment?
            var editedModel: (any ClassifierModel)?
            var evaluation: JSONValue = .null
            if let before, let splits {
                let written = transaction.files.first { $0.final == destination }?.temporary ?? destination
                let edited = try ClassifierModels.open(openCheckpoint(written), spiking: request.spiking)
                editedModel = edited
                // The search's chosen trial ran this very model on this data when the weights written
                // are bit for bit the trial's: its outputs are the written model's (the engine's
                // batches do not depend on anything else), so they are taken instead of run again.
                let reused = search?.measured.flatMap { Self.sameWeights(edited, $0.network) ? $0 : nil }
                var measured = try Assessment(of: edited, on: splits, known: reused?.outputs ?? [:], feature: request.miaFeature,
                                              forgetClasses: forgetClasses, detailed: request.report != nil)
                if let limit = request.relearnLimit, let target = before.forget?.accuracy, let edited = edited as? Network {
                    measured.relearnSteps = try reused?.relearnSteps
                        ?? RelearnTime.measure(edited, forget: splits.forget, target: target, limit: limit) ?? limit + 1
                }
                let failures = Requirement.failures(policy, before: before, after: measured)
                events.assessed(before, measured, failures)
                guard failures.isEmpty else { throw RequirementError.notMet(failures) }
                after = measured
                evaluation = EvaluationRecord.json(before: before, after: measured, requirements: policy, sizes: splits.sizes,
                                                   relearnLimit: request.relearnLimit)
            }
            var outcome = RecordsOutcome.none
            var attestation: Statement?
            if let records, let digests {
                let (inputs, outputs) = try digests.finish(written: transaction.files)
                try records.parent?.check(inputFiles: inputs.filter { checkpoint.files.contains($0.key) })
                let described = read.flatMap { role, files in
                    files.map { ForgettingAttestation.Input(role: role, path: $0, sha256: inputs[$0]!.hex) }
                }
                attestation = try records.writer.write(report: report, outputs: outputs, inputs: described, parent: records.parent,
                                                       evaluation: evaluation, into: transaction)
                outcome = RecordsOutcome(signature: records.writer.signaturePath, manifest: records.writer.manifestPath,
                                         signedWith: records.writer.key?.algorithm, parent: records.parent?.path)
            }
            if let page = request.report {
                let run = RunForReport(request: request, checkpoint: checkpoint, destination: destination, report: report,
                                       attestation: attestation, evaluation: evaluation, read: read, parent: records?.parent,
                                       before: before, after: after, policy: policy, splits: splits,
                                       models: (before: network, after: editedModel))
                try transaction.write(Array(try run.page().utf8), to: page)
            }
            let changed = inputs.changed()
            guard changed.isEmpty else { throw ForgetJobError.inputChanged(changed) }
            try transaction.commit()
            return .written(report, records: outcome, before: before, after: after)
        } catch {
            transaction.abort()
            digests?.cancel()
            throw error
        }
    }

    /// Without data nothing shows what a class pass did to the class's probability: the passes that
    /// leave its logit near 0 (not below the others) get one warning, printed and recorded.
    static func logitWarning(_ plan: ForgettingPlan) -> String? {
        let passes = plan.steps.filter { ($0.pass as? any ClassUnitPass)?.setsBiasFloor == false }.map(\.spec.text)
        guard !passes.isEmpty else { return nil }
        return "\(passes.joined(separator: ", ")): the forget classes' logit was moved to about 0, not below the other classes'; "
            + "on a softmax head whose other logits are negative that makes the class more likely (see CLASS PASSES in man ckptforget). "
            + "Use suppress (or bias=floor) to keep it below them, or give --data to measure what the edit did"
    }

    /// Whether two Keras networks hold the same weights, bit for bit (a spiking model is never taken
    /// as the same: it is simulated again).
    static func sameWeights(_ a: any ClassifierModel, _ b: any ClassifierModel) -> Bool {
        guard let a = a as? Network, let b = b as? Network else { return false }
        let (x, y) = (a.weights, b.weights)
        return x.count == y.count && x.allSatisfy { name, values in
            guard let other = y[name], other.count == values.count else { return false }
            return zip(values, other).allSatisfy { $0.bitPattern == $1.bitPattern }
        }
    }

    /// `extra`'s members added to an object (or replacing null).
    static func merging(_ extra: JSONValue, into details: JSONValue) -> JSONValue {
        guard case .object(let added) = extra else { return details }
        if case .object(let members) = details { return .object(added + members) }
        return extra
    }

    private static func modelStage(_ network: (any ClassifierModel)?, _ splits: DataSplits?) -> ModelStageInput? {
        guard let network, let splits else { return nil }
        return ModelStageInput(model: network, data: splits)
    }

    /// The records to write and the input's own record (its parent), read before any work: none
    /// with `Records.none`; the key, when given, is loaded and checked now.
    static func recordWriter(_ request: ForgetRequest, checkpoint: any CheckpointFile, destination: String,
                             events: ForgetEvents) throws -> (writer: RecordWriter, parent: ParentRecord?)? {
        guard case .write(let keyPath, let manifest, let parentPath) = request.records else { return nil }
        if manifest?.isEmpty == true { throw ForgetJobError.emptyManifestPath }
        let key = try keyPath.map { path in
            let key = try PrivateKey(pemFile: path)
            if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
                events.warning("\(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
            }
            return key
        }
        if let key, let keyPath, !key.algorithm.isECDSA {
            events.warning("OpenSSF Model Signing needs an ECDSA key (P-256, P-384, P-521); \(keyPath) is Ed25519, so only the attestation is written and signed")
        }
        let model = checkpoint.format.model(at: destination)
        if let manifest, let problem = RecordWriter.problem(withManifest: manifest, model: model) {
            throw ForgetJobError.unverifiableManifestPath(manifest, problem)
        }
        let writer = RecordWriter(model: model, manifestPath: manifest, key: key, version: request.toolVersion)
        let parent = try ParentRecord.find(for: checkpoint.format.model(at: checkpoint.path), explicit: parentPath)
        return (writer, parent)
    }
}
