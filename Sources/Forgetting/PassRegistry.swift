/// Every pass ckptforget knows, tensor passes and model passes, in the order `--help` lists them.
/// One line per pass.
public enum PassRegistry {
    public static let all: [any Pass.Type] = [
        SuppressPass.self,
        DampenPass.self,
        ZeroPass.self,
        RandomizePass.self,
        PrunePass.self,
        NegatePass.self,
        RevertPass.self,
        SSDPass.self,
        FisherNoisePass.self,
        AscentPass.self,
        FinetunePass.self,
        ThresholdPass.self,
    ]

    /// Parses `--pass` text into a configured pass.
    public static func make(_ spec: PassSpec) throws -> any Pass {
        guard let type = all.first(where: { $0.name == spec.name }) else {
            throw PassError.unknownPass(name: spec.name, known: all.map { $0.name })
        }
        return try type.configured(by: PassArguments(spec))
    }
}

extension Pass {
    /// Builds the pass and checks that every argument was understood.
    static func configured(by arguments: PassArguments) throws -> any Pass {
        let pass = try Self(arguments)
        try arguments.finish(accepted: parameterNames)
        return pass
    }
}
