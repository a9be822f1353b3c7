import Checkpoint
import Engine
import Evaluation
import Forgetting

/// Finds the weakest setting of an `auto` pass setting that meets the policy: each trial applies the
/// plan (with the pass at a candidate value) to the model in memory and measures it on the data,
/// on a coarse grid from the weakest value to the strongest, then by bisection between the last
/// value that failed and the first that met it (see `search`). The search assumes that a stronger
/// setting forgets at least as much. Statistics are computed once, before it; each trial costs one evaluation, or
/// only the forget split's when the forget accuracy already fails a `forget_acc` clause; the chosen
/// trial's outputs serve for the output's own assessment when its weights are the trial's; a trial
/// that changes only later layers runs from the values below them, held from an earlier trial. When the
/// policy names `relearn`, a trial that meets every other clause is measured for relearn time too
/// (a copy fine-tuned on the forget split, up to `--relearn` steps), the costliest measurement,
/// so only trials that could still be chosen pay for it.
enum StrengthSearch {
    /// When no `--require` is given: forget the class, keep the rest.
    static let defaultPolicy = "forget_acc<=0.01,retain_drop<=0.01"

    struct Trial {
        let value: Double
        let metrics: [String: Double]
        let failures: [String]
        /// Whether it failed a `forget_acc` clause (any clause when the policy has none): a stronger
        /// setting is needed, where a trial that forgets enough but fails another clause needs a weaker one.
        let forgetsTooLittle: Bool

        var met: Bool { failures.isEmpty }
    }

    /// A trial measured on every split: its model and outputs, so that the run can take them for the
    /// chosen value's output instead of running the same model on the same data again.
    struct Measured {
        let value: Double
        let network: any ClassifierModel
        let outputs: [DataSplit: (values: [Float], labels: [Int])]
        let relearnSteps: Int?
    }

    struct Outcome {
        let plan: ForgettingPlan
        let index: Int
        let chosen: Trial?
        let trials: [Trial]
        let scale: StrengthScale
        /// The chosen trial as measured (nil when none was chosen).
        let measured: Measured?

        /// The search, for the chosen pass's record.
        var details: JSONValue {
            [
                "parameter": .string(scale.parameter),
                "chosen": chosen.map { .number($0.value) } ?? .null,
                "trials": .array(trials.map { trial in
                    ["value": .number(trial.value), "met": .bool(trial.failures.isEmpty),
                     "metrics": .object(trial.metrics.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.number($0.value)) }),
                     "failures": JSONValue(trial.failures)]
                }),
            ]
        }

        /// The best trial, for the message when none met the policy (fewest failed conditions, then the strongest: the
        /// farthest along the scale, whose grid runs from the weakest value to the strongest; for
        /// `alpha` of ssd and dampen that is the smallest value, for `steps` the largest).
        var best: Trial? {
            let ascending = (scale.grid.last ?? 0) >= (scale.grid.first ?? 0)
            return trials.min { a, b in
                a.failures.count != b.failures.count ? a.failures.count < b.failures.count
                    : (ascending ? a.value > b.value : a.value < b.value)
            }
        }
    }

    /// The step to search, if one of the plan's passes has a setting given as `auto`.
    static func autoStep(in plan: ForgettingPlan) throws -> (index: Int, pass: any TunablePass, scale: StrengthScale)? {
        let found = plan.steps.indices.compactMap { index -> (Int, any TunablePass, StrengthScale)? in
            guard let pass = plan.steps[index].pass as? any TunablePass, let scale = pass.search else { return nil }
            return (index, pass, scale)
        }
        guard found.count <= 1 else { throw ForgetJobError.severalAutoPasses(found.map { plan.steps[$0.0].spec.text }) }
        return found.first
    }

    static func run(_ plan: ForgettingPlan, step: (index: Int, pass: any TunablePass, scale: StrengthScale),
                    checkpoint: any CheckpointFile, model: ModelStageInput, before: Assessment, policy: [Requirement],
                    relearnLimit: Int?, feature: MembershipInference.Feature, forgetClasses: [Int]) throws -> Outcome {
        // The passes before the searched one are the same in every trial: apply them once.
        var base = try HeldModel(model: model, checkpoint: checkpoint)
        for index in 0..<step.index {
            _ = try base.apply(plan.steps[index].pass, spec: plan.steps[index].spec, to: plan.steps[index].tensors, plan: plan)
        }
        var trials: [Trial] = []
        // The last trial that met the policy: the chosen one is always the last (see `search`), so one
        // model is kept.
        var lastMet: Measured?
        let forgetClauses = policy.filter { $0.metric == "forget_acc" }
        let measuresRelearn = policy.contains { $0.metric == "relearn" }
        let cheapClauses = policy.filter { $0.metric != "relearn" }
        // By split, the values below the first layer a trial changed, for later trials that change
        // nothing below them (`dampen` only ever changes the output layer): see `HeldActivations`.
        var activations: [DataSplit: HeldActivations] = [:]
        func trial(_ value: Double) throws -> Trial {
            let candidate = try plan.substituting(try step.pass.with(value), at: step.index, checkpoint: checkpoint)
            var held = base
            for index in step.index..<candidate.steps.count {
                let current = candidate.steps[index]
                _ = try held.apply(current.pass, spec: current.spec, to: current.tensors, plan: candidate)
            }
            let network = try held.network()
            let changed = Set(held.tensors.filter { name, tensor in tensor.values != base.tensors[name]?.values }.keys)
            let cut = (network as? Network).flatMap { HeldActivations.cut($0, changed: changed) }
            // The model's outputs on a split: from the held values when they are below the cut (held
            // now if there are none yet, or only above it, and they fit the budget), else from the input.
            func outputs(_ split: DataSplit, _ part: DataPart) throws -> Predictions {
                guard let engine = network as? Network, let cut else { return try Predictions(of: network, on: part) }
                if activations[split].map({ $0.nodes > cut }) ?? true {
                    let others = activations.filter { $0.key != split }.values.reduce(0) { $0 + $1.bytes }
                    guard let bytes = HeldActivations.bytes(engine, nodes: cut, samples: part.count),
                          others + bytes <= HeldActivations.budget else { return try Predictions(of: network, on: part) }
                    activations[split] = try HeldActivations(engine, nodes: cut, on: part)
                }
                let (values, labels) = try activations[split]!.outputs(of: engine)
                return Predictions(outputs: values, labels: labels, classes: engine.classes, kind: engine.outputKind)
            }
            // The forget split first (the smallest): a trial whose forget accuracy already fails the
            // policy fails whatever the other splits show, so they are not run. Most failing trials of
            // a search from the weakest setting fail there; the record then holds only forget_acc.
            let forget = model.data.forget.count > 0 ? try outputs(.forget, model.data.forget) : nil
            if let forget, !forgetClauses.isEmpty {
                let partial = Assessment(forget: forget, retain: nil, test: nil, feature: feature)
                let failures = Requirement.failures(forgetClauses, before: before, after: partial)
                if !failures.isEmpty {
                    let result = Trial(value: value, metrics: partial.values, failures: failures, forgetsTooLittle: true)
                    trials.append(result)
                    return result
                }
            }
            // The other splits as `Assessment(of:on:)` runs them, kept for the run (see `Measured`).
            func predictions(_ split: DataSplit) throws -> Predictions? {
                guard let part = model.data[split], part.count > 0 else { return nil }
                return try outputs(split, part)
            }
            let (retain, test) = (try predictions(.retain), try predictions(.test))
            var after = Assessment(forget: forget, retain: retain, test: test, feature: feature, forgetClasses: forgetClasses)
            var failures = Requirement.failures(cheapClauses, before: before, after: after)
            // Relearn time only where it decides: a trial that fails another clause fails anyway.
            if measuresRelearn, failures.isEmpty {
                if let limit = relearnLimit, let target = before.forget?.accuracy, let network = network as? Network {
                    after.relearnSteps = try RelearnTime.measure(network, forget: model.data.forget, target: target, limit: limit) ?? limit + 1
                }
                failures = Requirement.failures(policy, before: before, after: after)
            }
            let forgetFailures = forgetClauses.isEmpty ? failures : Requirement.failures(forgetClauses, before: before, after: after)
            let result = Trial(value: value, metrics: after.values, failures: failures, forgetsTooLittle: !forgetFailures.isEmpty)
            trials.append(result)
            if failures.isEmpty {
                var outputs: [DataSplit: (values: [Float], labels: [Int])] = [:]
                for (split, kept) in [(DataSplit.forget, forget), (.retain, retain), (.test, test)] {
                    if let kept { outputs[split] = (kept.outputs, kept.labels) }
                }
                lastMet = Measured(value: value, network: network, outputs: outputs, relearnSteps: after.relearnSteps)
            }
            return result
        }
        let met = try search(step.scale, trial: trial)
        let chosen = met.flatMap { value in trials.last { $0.value == value } }
        let plan = try plan.substituting(try step.pass.with(met ?? step.scale.grid.last!), at: step.index, checkpoint: checkpoint)
        return Outcome(plan: plan, index: step.index, chosen: chosen, trials: trials, scale: step.scale,
                       measured: lastMet.flatMap { $0.value == met ? $0 : nil })
    }

    /// The order of the trials and the value chosen (nil when none met the policy). The grid runs from
    /// the weakest value until one meets the policy; bisection then moves between the last value that
    /// failed and the weakest that met, only ever to values that meet it, so the chosen value is the
    /// last trial that met. When a grid value that forgets too little is followed by one that forgets
    /// enough but fails another clause (a `retain_drop`, say), the values that meet the policy, if any,
    /// lie between those two: bisection looks there before the grid goes on, towards the stronger end
    /// while a trial forgets too little and towards the weaker end while it fails otherwise.
    static func search(_ scale: StrengthScale, trial: (Double) throws -> Trial) rethrows -> Double? {
        // Bisection from a met value towards the failing `weaker` one, for the weakest that meets it.
        func weakest(from met: Double, above weaker: Double?) throws -> Double {
            guard var failing = weaker else { return met }
            var stronger = met
            for _ in 0..<StrengthScale.bisections {
                guard let middle = scale.between(failing, stronger) else { break }
                if try trial(middle).met { stronger = middle } else { failing = middle }
            }
            return stronger
        }
        // Bisection between a value that forgets too little and a stronger one that fails otherwise.
        func between(_ weak: Double, _ strong: Double) throws -> Double? {
            var (weak, strong) = (weak, strong)
            for _ in 0..<StrengthScale.bisections {
                guard let middle = scale.between(weak, strong) else { break }
                let result = try trial(middle)
                if result.met { return try weakest(from: middle, above: weak) }
                if result.forgetsTooLittle { weak = middle } else { strong = middle }
            }
            return nil
        }
        var last: Trial?, lookedBetween = false
        for value in scale.grid {
            let result = try trial(value)
            if result.met { return try weakest(from: value, above: last?.value) }
            if !lookedBetween, let weaker = last, weaker.forgetsTooLittle, !result.forgetsTooLittle {
                lookedBetween = true
                if let found = try between(weaker.value, value) { return found }
            }
            last = result
        }
        return nil
    }
}
