import Foundation
import Testing
@testable import Evaluation

/// The attack against a case solved independently (Fixtures/engine/mia_case.json: numpy Newton
/// iterations, checked against scikit-learn 1.5.2).
@Suite struct MembershipInferenceTests {
    @Test func matchesTheIndependentFit() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/engine/mia_case.json")
        let case_ = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let members = case_["member_entropies"] as! [Double], nonMembers = case_["nonmember_entropies"] as! [Double]
        let targets = case_["target_entropies"] as! [Double]
        let expected = case_["expected"] as! [String: Any]
        // The binary fit with penalty ½w² (sklearn's one-vs-rest), and the multinomial one (¼w²) the SSD code uses.
        let binary = MembershipInference(feature: .entropy, members: members, nonMembers: nonMembers, targets: targets, penalty: 0.5)
        #expect(abs(binary.weight - (expected["weight"] as! Double)) < 1e-9)
        #expect(abs(binary.intercept - (expected["intercept"] as! Double)) < 1e-9)
        let multinomial = expected["sklearn_multinomial_equivalent"] as! [String: Any]
        let official = MembershipInference(feature: .entropy, members: members, nonMembers: nonMembers, targets: targets)
        #expect(abs(official.weight - (multinomial["weight"] as! Double)) < 1e-9)
        #expect(abs(official.intercept - (multinomial["intercept"] as! Double)) < 1e-9)
        #expect(official.memberShare == 0.7 && binary.memberShare == 0.7)
    }

    @Test func featuresAreEntropyOrConfidence() {
        let row: ArraySlice<Float> = [0.5, 0.25, 0.25]
        #expect(abs(MembershipInference.value(.entropy, probabilities: row, label: 0) - (0.5 * log(2) + 0.5 * log(4))) < 1e-12)
        #expect(MembershipInference.value(.confidence, probabilities: row, label: 1) == 0.25)
        // A certain prediction has zero entropy (0·log 0 counts as 0).
        #expect(MembershipInference.value(.entropy, probabilities: [1, 0, 0], label: 0) == 0)
    }
}

@Suite struct RequirementTests {
    @Test func grammarAndChecks() throws {
        let parsed = try Requirement.parse("forget_acc<=0.01, retain_drop<0.005,mia>=0")
        #expect(parsed == [Requirement(metric: "forget_acc", comparison: "<=", bound: 0.01),
                           Requirement(metric: "retain_drop", comparison: "<", bound: 0.005),
                           Requirement(metric: "mia", comparison: ">=", bound: 0)])
        #expect(throws: RequirementError.unknownMetric("accuracy")) { try Requirement.parse("accuracy<1") }
        #expect(throws: RequirementError.malformed("forget_acc=0")) { try Requirement.parse("forget_acc=0") }
        #expect(throws: RequirementError.malformed("mia<=x")) { try Requirement.parse("mia<=x") }
    }
}
