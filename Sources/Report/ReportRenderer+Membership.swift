import Evaluation

/// The membership-inference section: the attack's feature for members (retain samples), non-members
/// (held-out samples) and forget samples, before and after the edit, over one shared range, with the
/// threshold the attack fitted each time.
extension ReportRenderer {
    static func membership(_ measurement: ReportModel.Measurement) -> String {
        guard let after = measurement.after.membership else {
            return section("Membership inference", id: "mia", Markup.text("div", [("class", "banner note")],
                "Not measured: the attack needs held-out samples as non-members (give --test-data) besides the forget and retain splits."))
        }
        let attacks = [("Before the edit", measurement.before?.membership), ("After the edit", after)].compactMap { title, attack in
            attack.map { (title, $0) }
        }
        let range = SVGHistogram.range(of: attacks.flatMap { [$0.1.memberFeatures, $0.1.nonMemberFeatures, $0.1.targetFeatures] })
        let feature = after.feature == .entropy ? "Softmax entropy" : "Probability of the true label"
        let figures = attacks.map { title, attack in
            let chart = SVGHistogram(groups: [
                .init(name: "members (retain)", cssClass: "hist-members", color: ReportStyle.members, values: attack.memberFeatures),
                .init(name: "non-members (test)", cssClass: "hist-nonmembers", color: ReportStyle.nonMembers, values: attack.nonMemberFeatures),
                .init(name: "forget samples", cssClass: "hist-forget", color: ReportStyle.forgetSamples, values: attack.targetFeatures),
            ], range: range, threshold: attack.threshold, xLabel: feature, label: "Membership-inference feature \(title.lowercased())").render()
            return figure("\(title) · \(ReportNumber.percent(attack.memberShare)) of forget samples judged members", chart)
        }
        let counts = "\(ReportNumber.count(after.members)) members, \(ReportNumber.count(after.nonMembers)) non-members, \(ReportNumber.count(after.targets)) forget samples"
        return section("Membership inference", id: "mia",
                       lead: "The attack learns, from one feature of the model's output (\(feature.lowercased())), to tell the retain samples (members) from held-out ones (non-members), then judges the forget samples (\(counts)). Forgotten samples should look like non-members.",
                       legend([("members (retain)", ReportStyle.members), ("non-members (test)", ReportStyle.nonMembers),
                               ("forget samples", ReportStyle.forgetSamples)])
                           + Markup.element("div", [("class", "figures pair")], figures.joined()))
    }
}
