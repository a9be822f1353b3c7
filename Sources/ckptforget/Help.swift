import Forgetting

/// `--help` texts; `man/ckptforget.1` says the same at more length.
enum Help {
    static var main: String {
        let passes = PassRegistry.all.map { "  \($0.usage)\n      \($0.summary)" }.joined(separator: "\n")
        return """
        usage: ckptforget INPUT --pass SPEC [--pass SPEC...] [--class C...] -o OUTPUT [options]
               ckptforget inspect FILE [--json] [--output-layer NAME]
               ckptforget diff A B [--json] [--all]
               ckptforget help [inspect | diff] | --help | --version

        Makes a trained model checkpoint forget: applies forgetting passes in the order given and
        writes a new checkpoint in the input's format. The input is never modified; a failed or
        interrupted run leaves no output file.

        Inputs: Keras .h5 (full model or weights), Keras 3 .weights.h5, NIR and other HDF5 files;
        safetensors; sharded safetensors (model.safetensors.index.json or its directory).

        passes (SPEC is NAME[:ARG][,KEY=VALUE...][@GLOB]; @GLOB limits a pass to matching tensor or layer names):
        \(passes)

        options:
          -p, --pass SPEC            a forgetting pass; repeatable, applied in order
          -c, --class C              a class to forget (output unit index); repeatable, or C,C,...
          -o, --output PATH          output file (a directory receives the input's file name;
                                     for sharded input: a directory or a *.index.json path)
              --output-layer NAME    the layer whose units are the classes (when the file does not say)
              --pre PRE              the snapshot from before the forget data was learned (for ΔW = W − W_pre:
                                     prune, negate, revert); tensors matched by name and shape
              --stats STATS          a statistics file: Fisher diagonals, activity, correlation (ssd,
                                     fisher-noise, revert); schema in man ckptforget, STATISTICS FILES
              --keep-optimizer-state keep Keras optimizer state (dropped by default: it was computed
                                     from the data being forgotten)
          -n, --dry-run              print what would be edited (with --json: as JSON); write nothing
              --json                 print the run's report as JSON on stdout
          -q, --quiet                no progress and no summary on stderr (warnings and errors remain)
          -h, --help                 this text
              --version              the version

        exit status: 0 success, 1 failure while working, 2 bad usage or bad input, 128+N interrupted by
        signal N; on any failure no output file is left.
        See man ckptforget for details and examples.
        """
    }

    static let inspect = """
        usage: ckptforget inspect FILE [--json] [--output-layer NAME]

        Lists every tensor of a checkpoint with its dtype, shape, layer and role, and marks with *
        the output layer's tensors (the ones class passes edit).

          --json                 the same as JSON on stdout
          --output-layer NAME    the layer whose units are the classes (when the file does not say)
          -h, --help             this text
        """

    static let diff = """
        usage: ckptforget diff A B [--json] [--all]

        Compares two checkpoints tensor by tensor (matched by name): elements changed, L2 norm and
        largest absolute value of the change, and the share of zeros before and after. The numbers
        are measured as a run's per-tensor records measure them. Integer tensors are not compared.
        Exit 0 whatever the differences.

          --json                 the same as JSON on stdout
          -a, --all              list unchanged tensors too
          -h, --help             this text
        """

    static func text(for subcommand: String) -> String {
        switch subcommand {
        case "inspect": inspect
        case "diff": diff
        default: main
        }
    }
}
