import Checkpoint
import Engine
import Evaluation
import Foundation
import Manifest
import Report

/// `ckptforget report` as one library call: the model (and the one before the edit) measured on
/// the data, its record read (and checked with the trusted keys, when given), the policy measured,
/// and the page written in one `OutputTransaction` (whole, or not at all). A model the engine cannot
/// run still gets a page: what was done, and why no metrics are shown.
public enum ReportJob {
    public static func run(_ request: ReportRequest) throws -> ReportOutcome {
        var request = request
        let checkpoint = try openCheckpoint(request.model)
        let before = try request.before.map(openCheckpoint)
        if request.spiking != nil, checkpoint.metadata.nirGraph == nil { throw SpikingGraphError.notSpiking(path: checkpoint.path) }
        if request.before != nil, request.data.isEmpty { throw ReportJobError.beforeNeedsData }
        if request.requirements != nil, request.data.isEmpty { throw ForgetJobError.requirementsNeedData }

        let model = checkpoint.format.model(at: checkpoint.path)
        let recordPath = request.record ?? model + RecordBinding.attestationSuffix
        var provenance: Provenance?, note: String?
        if request.record != nil || FileManager.default.fileExists(atPath: recordPath) {
            (provenance, note) = try ReportRecord.read(recordPath, keys: request.keys, explicit: request.record != nil)
        } else {
            note = "No forgetting attestation beside the model (\(recordPath)), so what was done is not known here; name one with --record."
        }
        let inputs: [(role: String, files: [String])] = [("model", checkpoint.files), ("before", before?.files ?? []), ("data", request.data.files),
                                                         ("record", provenance == nil ? [] : [recordPath])]
        try OutputPath.checkDistinct(outputs: [request.output], inputs: inputs.flatMap(\.files) + request.keys.map(\.name))
        try OutputPath.checkSpace(for: request.output, bytes: 0, largestFile: 0)
        // Without --class or --forget-ids, the classes the record says were forgotten.
        if request.data.classes.isEmpty, request.data.forgetIDs == nil, let classes = provenance?.classes {
            request.data.classes = classes.filter { $0 >= 0 }
        }
        let digests = BackgroundDigests(inputs.flatMap(\.files))

        let metrics: ReportModel.Metrics
        do {
            metrics = try measure(request, checkpoint: checkpoint, before: before, recorded: provenance?.recordedBefore ?? [:])
        } catch {
            _ = try? digests.wait()  // no exit while a hashing thread is inside libcrypto (see RunDigests.cancel)
            throw error
        }
        var policy: PolicyCheck?
        if case .measured(let measurement) = metrics {
            let beforeValues = measurement.before?.values ?? measurement.recordedBefore
            if let requirements = request.requirements {
                policy = PolicyCheck(requirements, before: beforeValues, after: measurement.after.values, source: "--require")
            } else if let kept = provenance?.recordedPolicy, !kept.isEmpty, let requirements = try? Requirement.parse(kept.joined(separator: ",")) {
                policy = PolicyCheck(requirements, before: beforeValues, after: measurement.after.values, source: "the policy the record kept")
            }
        }
        let sha = try digests.wait()
        let page = ReportRenderer.render(ReportModel(
            model: request.model, forgetClasses: request.data.forgetIDs == nil ? request.data.classes : [],
            classNames: checkpoint.metadata.classLabels, metrics: metrics, policy: policy, provenance: provenance, provenanceNote: note,
            sources: inputs.flatMap { role, files in files.map { ReportModel.SourceFile(role: role, path: $0, sha256: sha[$0]?.hex ?? "") } },
            toolVersion: request.toolVersion))
        let transaction = OutputTransaction()
        do {
            try transaction.write(Array(page.utf8), to: request.output)
            try transaction.commit()
        } catch {
            transaction.abort()
            throw error
        }
        let reason: String? = if case .notMeasured(let reason) = metrics { reason } else { nil }
        return ReportOutcome(path: request.output, noMetricsReason: reason, signature: provenance?.signature.state, policyMet: policy?.met)
    }

    /// The model after (and before) the edit on the data's splits; `.notMeasured` with the reason
    /// when there is no data or the engine cannot run the model. Bad data is an error.
    static func measure(_ request: ReportRequest, checkpoint: any CheckpointFile, before: (any CheckpointFile)?,
                        recorded: [String: Double]) throws -> ReportModel.Metrics {
        guard !request.data.isEmpty else {
            return .notMeasured("no data was given: --data (with --class or --forget-ids), or --forget-data and --retain-data, measures the model.")
        }
        let network: any ClassifierModel
        do {
            network = try ClassifierModels.open(checkpoint, spiking: request.spiking)
        } catch {
            return .notMeasured("the engine cannot run the model: \(error)")
        }
        let splits = try request.data.splits(network: network)
        let forgetClasses = request.data.forgetIDs == nil ? request.data.classes : []
        let after = try Assessment(of: network, on: splits, feature: request.miaFeature, forgetClasses: forgetClasses, detailed: true)
        var measuredBefore: Assessment?, previous: (any ClassifierModel)?
        if let before {
            let model = try ClassifierModels.open(before, spiking: request.spiking)
            guard model.classes == network.classes else {
                throw ReportJobError.classesDiffer(before: before.path, beforeClasses: model.classes, after: checkpoint.path, afterClasses: network.classes)
            }
            measuredBefore = try Assessment(of: model, on: splits, feature: request.miaFeature, forgetClasses: forgetClasses, detailed: true)
            previous = model
        }
        return .measured(ReportModel.Measurement(before: measuredBefore, after: after, recordedBefore: measuredBefore == nil ? recorded : [:],
                                                 data: describe(request.data, splits), beforeModel: request.before,
                                                 spikeRates: try spikeRates(after: network, before: previous, on: splits)))
    }
}
