import Evaluation
import Manifest
@testable import Report

/// A report whose every number is derived by hand: three classes, class 2 forgotten.
///
/// Training data (forget split first, as the breakdown joins them, then retain), class-2 column in brackets:
///
///     sample  label  before            → pred   after             → pred
///     f0      2      .1 .1 [.8]        → 2      .6 .3 [.1]        → 0
///     f1      2      .2 .2 [.6]        → 2      .2 .5 [.3]        → 1
///     r0      0      .8 .1 [.1]        → 0      .7 .2 [.1]        → 0
///     r1      0      .6 .3 [.1]        → 0      .5 .4 [.1]        → 0
///     r2      1      .2 .7 [.1]        → 1      .1 .8 [.1]        → 1
///     r3      1      .5 .4 [.1]        → 0      .3 .6 [.1]        → 1
///
/// Confusion before (rows true): [2 0 0] [1 1 0] [0 0 2]; after: [2 0 0] [0 2 0] [1 1 0].
/// Forget accuracy 2/2 → 0/2; retain 3/4 → 4/4; per-class accuracy before 1, ½, 1, after 1, 1, 0.
/// After: class 0 is predicted for f0, r0, r1, two of them right: precision 2/3, recall 1, F1 0.8;
/// class 2 is never predicted: precision, recall and F1 0.
/// Class 0's AUC after: positives .7 and .5 against negatives .6 .2 .1 .3 → (4 + 3)/8 = 0.875.
/// Class 2's ROC after: positives .1 and .3, four negatives at .1 → points (0,0) (0,½) (1,1), AUC ¾;
/// before: positives .8, .6 above every negative → AUC 1.
enum KnownReport {
    static let before = assessment(forget: [0.1, 0.1, 0.8, 0.2, 0.2, 0.6],
                                   retain: [0.8, 0.1, 0.1, 0.6, 0.3, 0.1, 0.2, 0.7, 0.1, 0.5, 0.4, 0.1],
                                   test: [0.7, 0.2, 0.1, 0.3, 0.6, 0.1])
    static let after = assessment(forget: [0.6, 0.3, 0.1, 0.2, 0.5, 0.3],
                                  retain: [0.7, 0.2, 0.1, 0.5, 0.4, 0.1, 0.1, 0.8, 0.1, 0.3, 0.6, 0.1],
                                  test: [0.6, 0.3, 0.1, 0.4, 0.5, 0.1])

    static func assessment(forget: [Float], retain: [Float], test: [Float]) -> Assessment {
        Assessment(forget: Predictions(outputs: forget, labels: [2, 2], classes: 3),
                   retain: Predictions(outputs: retain, labels: [0, 0, 1, 1], classes: 3),
                   test: Predictions(outputs: test, labels: [0, 1], classes: 3),
                   feature: .entropy, forgetClasses: [2], detailed: true)
    }

    /// A forgetting attestation's payload with names that need escaping.
    static let payload = """
        {"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"out<&\\">.h5","digest":{"sha256":"\(String(repeating: "ab", count: 32))"}}],
         "predicateType":"https://ckptforget.dev/attestation/forgetting/v1",
         "predicate":{"tool":{"name":"ckptforget","version":"0.1.0"},"time":"2026-01-01T00:00:00Z",
          "inputs":[{"role":"checkpoint","path":"in.h5","sha256":"\(String(repeating: "cd", count: 32))"}],
          "parent":null,"target":{"classes":[2]},
          "passes":[{"name":"dampen","spec":"dampen:0.01","parameters":{"alpha":"0.01"},
                     "tensors":[{"tensor":"dense_1/kernel<&\\">","elements_changed":128,"l2":0.5,"max_abs":0.25},
                                {"tensor":"dense_1/bias","elements_changed":1,"l2":0.125,"max_abs":0.125},
                                {"tensor":"dense_0/kernel","elements_changed":0,"l2":0,"max_abs":0}]}],
          "optimizer_state":{"action":"dropped","groups":["optimizer_weights"]},
          "evaluation":null}}
        """

    static func provenance() throws -> Provenance {
        let statement = try Statement(payload: Array(payload.utf8), path: "out.h5.manifest.json")
        return Provenance(statement: statement, record: "out.h5.manifest.json",
                          signature: Provenance.Signature(state: .verified, summary: "Signed by p256.pub.pem."))
    }

    static func model(policy: [Requirement] = [], before: Assessment? = KnownReport.before) throws -> ReportModel {
        ReportModel(model: "models/out<&\">.h5", forgetClasses: [2], classNames: ["zero", "one<&\"", "two"],
                    metrics: .measured(.init(before: before, after: after, data: "test.h5 (2 forget, 4 retain, 2 test samples)", beforeModel: "in.h5")),
                    policy: policy.isEmpty ? nil : PolicyCheck(policy, before: before?.values ?? [:], after: after.values, source: "--require"),
                    provenance: try provenance(), toolVersion: "0.1.0")
    }
}

extension String {
    /// How many times `needle` occurs (without overlaps).
    func occurrences(of needle: String) -> Int {
        components(separatedBy: needle).count - 1
    }
}
