import Checkpoint
import Engine
import Evaluation
import Forgetting
import Foundation
import Manifest
import Report

/// The report page of a forgetting run (`--report`), made from what the run already has: the
/// assessments before and after the edit (measured with their breakdown when a page is asked for),
/// the policy, and the attestation it just wrote; with `--no-sign`, the attestation the run would
/// have written, without digests. The page goes into the run's transaction, so it is committed with
/// the model or not at all.
struct RunForReport {
    let request: ForgetRequest
    let checkpoint: any CheckpointFile
    let destination: String
    let report: RunReport
    /// The forgetting attestation written; nil with `--no-sign`.
    let attestation: Statement?
    let evaluation: JSONValue
    let read: [(role: String, files: [String])]
    let parent: ParentRecord?
    let before: Assessment?
    let after: Assessment?
    let policy: [Requirement]
    let splits: DataSplits?
    /// The model as read and as written, when the run measured them: a spiking network's page
    /// shows each spiking layer's firing rates before and after.
    let models: (before: (any ClassifierModel)?, after: (any ClassifierModel)?)

    func page() throws -> String {
        let forgetClasses = request.data.forgetIDs == nil ? request.target.classes : []
        let metrics: ReportModel.Metrics
        var check: PolicyCheck?
        if let after, let splits {
            let spikeRates = try models.after.map { try ReportJob.spikeRates(after: $0, before: models.before, on: splits) } ?? []
            metrics = .measured(ReportModel.Measurement(before: before, after: after, data: ReportJob.describe(request.data, splits),
                                                        beforeModel: request.input, spikeRates: spikeRates))
            if !policy.isEmpty {
                check = PolicyCheck(policy, before: before?.values ?? [:], after: after.values,
                                    source: request.requirements.isEmpty ? "the strength search's default policy" : "--require")
            }
        } else {
            metrics = .notMeasured("the run was given no data: --data (with --class or --forget-ids), or --forget-data and --retain-data, measures the model before and after the edit.")
        }
        let model = checkpoint.format.model(at: destination)
        let provenance = Provenance(statement: statement(), record: recordPath(model: model), signature: signature(model: model),
                                    lineage: parent.map { ReportRecord.lineage(before: $0.statement, at: $0.path) + [Provenance.Link(record: $0.path, statement: $0.statement)] } ?? [])
        return ReportRenderer.render(ReportModel(model: model, forgetClasses: forgetClasses, classNames: checkpoint.metadata.classLabels,
                                                 metrics: metrics, policy: check, provenance: provenance, toolVersion: request.toolVersion))
    }

    /// The attestation written, or the one `--no-sign` leaves out (its digests not computed).
    private func statement() -> Statement {
        if let attestation { return attestation }
        var context = ForgettingAttestation.Context(
            version: request.toolVersion, time: "",
            inputs: read.flatMap { role, files in files.map { ForgettingAttestation.Input(role: role, path: $0, sha256: "") } },
            parent: nil, modelSigningRoot: "", signatureFile: nil)
        context.evaluation = evaluation
        return ForgettingAttestation.statement(report, subjects: [], context: context)
    }

    private func recordPath(model: String) -> String {
        guard case .write(_, let manifest, _) = request.records else { return "none written (--no-sign)" }
        return manifest ?? model + RecordBinding.attestationSuffix
    }

    private func signature(model: String) -> Provenance.Signature {
        guard case .write(let key, _, _) = request.records else {
            return Provenance.Signature(state: .unchecked, summary: "No records were written (--no-sign): what follows is the run's own account of its passes.")
        }
        guard let key else {
            return Provenance.Signature(state: .unchecked, summary: "The record was written unsigned (no --sign-key).")
        }
        return Provenance.Signature(state: .unchecked, summary: "Signed by this run with \(key); check it with ckptforget verify \(recordPath(model: model)) --key PUB.pem.")
    }
}

extension ReportJob {
    /// The data a page was measured on, in words: its files and the samples of each split.
    static func describe(_ data: DataSelection, _ splits: DataSplits) -> String {
        let sizes = [("forget", splits.forget.count), ("retain", splits.retain.count), ("test", splits.test?.count ?? 0)]
            .filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        return "\(data.files.joined(separator: ", ")) (\(sizes) samples)"
    }
}
