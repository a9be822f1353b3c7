import Forgetting

/// `--help` texts; `man/ckptforget.1` says the same at more length.
enum Help {
    static var main: String {
        let passes = PassRegistry.all.map { "  \($0.usage)\n      \($0.summary)" }.joined(separator: "\n")
        return """
        usage: ckptforget INPUT --pass SPEC [--pass SPEC...] [--class C...] -o OUTPUT [options]
               ckptforget inspect FILE [--json] [--output-layer NAME]
               ckptforget diff A B [--json] [--all]
               ckptforget stats MODEL --data D (--class C | --forget-ids F) [--fisher exact|batch:B] -o STATS.h5
               ckptforget eval MODEL --data D [--class C | --forget-ids F] [--relearn N] [--json]
               ckptforget report MODEL [--before ORIGINAL] [--data D --class C...] [--key PUB] -o REPORT.html
               ckptforget keygen -o KEY.pem [--type p256|p384|p521|ed25519]
               ckptforget verify RECORD (--key PUB | --keys DIR) [--files PATH] [--allow-unsigned] [--json]
               ckptforget show RECORD [--json]
               ckptforget audit PATH... (--key PUB | --keys DIR) [--json]
               ckptforget help [SUBCOMMAND] | --help | --version

        Makes a trained model checkpoint forget: applies forgetting passes in the order given and
        writes a new checkpoint in the input's format. The input is never modified; a failed or
        interrupted run leaves no output file.

        Inputs: Keras .h5 (full model or weights), Keras 3 .weights.h5 and .keras archives, NIR and
        other HDF5 files; PyTorch state dicts saved by torch.save (.pt, .pth, pytorch_model.bin; the
        pickle is interpreted, never run); safetensors; sharded checkpoints (model.safetensors.index.json,
        pytorch_model.bin.index.json, or their directory). Legacy pre-1.6 .pt files and TorchScript
        archives are refused (exit 2) with how to re-save them.

        Tensor passes edit one tensor at a time as the file streams; model passes (ascent, finetune,
        threshold) run the model on data before anything is written and hold the model's tensors in
        memory. Keras models run in the engine; NIR graphs (spiking networks) are simulated.

        passes (SPEC is NAME[:ARG][,KEY=VALUE...][@GLOB]; @GLOB limits a pass to matching tensor or layer names):
        \(passes)

        options:
          -p, --pass SPEC            a forgetting pass; repeatable, applied in order
          -c, --class C              a class to forget (output unit index); repeatable, or C,C,...
          -o, --output PATH          output file (a directory receives the input's file name;
                                     for sharded input: a directory or a *.index.json path;
                                     the output keeps the input's format and suffix)
              --output-layer NAME    the layer whose units are the classes (when the file does not say)
              --data D, --forget-data F, --retain-data R, --forget-ids F, --scale S, --fisher MODE
                                     compute Fisher diagonals (ssd, fisher-noise) or correlations (revert)
                                     from data when there is no --stats (as `ckptforget stats` does, in
                                     memory), and train model passes (ascent) on its splits
              --test-data T          held-out samples for test accuracy and membership inference
              --steps T, --dt S, --reset RULE, --encoding E
                                     how a spiking (NIR) model is simulated (see ckptforget eval --help)
              --require POLICY       e.g. 'forget_acc<=0.01,retain_drop<=0.005,mia<=0.1': measured on the
                                     data before and after the edit; when not met, print the metrics,
                                     write nothing and exit 4 (metrics: forget_acc, retain_acc, test_acc,
                                     mia, forget_share, forget_prob, relearn, retain_drop, test_drop;
                                     operators <=, <, >=, >); an 'auto' setting (ssd:alpha=auto,
                                     dampen:auto, ascent:steps=auto) is searched to meet it
              --relearn N            also measure the edited model's relearn time (steps, up to N);
                                     needed by a relearn clause in --require
              --pre PRE              the snapshot from before the forget data was learned (for ΔW = W − W_pre:
                                     prune, negate, revert); tensors matched by name and shape
              --stats STATS          a statistics file: Fisher diagonals, activity, correlation (ssd,
                                     fisher-noise, revert); schema in man ckptforget, STATISTICS FILES
              --keep-optimizer-state keep optimizer state (computed from the data being forgotten): Keras'
                                     is dropped by default, a .pt holding it is refused without this
              --allow-nonfinite      edit tensors holding NaN or infinity (counted in the records)
                                     instead of stopping with exit 2
          -n, --dry-run              print what would be edited (with --json: as JSON); write nothing
              --sign-key KEY         sign the records with KEY (PEM; default $CKPTFORGET_SIGNING_KEY): an ECDSA
                                     key also writes OUTPUT.sig (OpenSSF Model Signing); Ed25519 signs the
                                     attestation only; without a key the attestation is written unsigned
              --manifest PATH        write the forgetting attestation here (default OUTPUT.manifest.json;
                                     in OUTPUT's directory or above, not another model's *.manifest.json)
              --parent RECORD        the input's attestation (default INPUT.manifest.json when it exists)
              --no-sign              write no records at all
              --report PATH          also write a report page (HTML: metrics before and after with --data,
                                     what was done), committed with the output or not at all
              --json                 print the run's report as JSON on stdout
          -q, --quiet                no progress and no summary on stderr (warnings and errors remain)
          -h, --help                 this text
              --version              the version

        Records: every run (unless --no-sign) writes OUTPUT.manifest.json, an in-toto attestation of what was forgotten,
        from which inputs, after which earlier edits (lineage); with an ECDSA key also OUTPUT.sig, an
        OpenSSF Model Signing signature that `model_signing verify key` accepts. A sharded output's
        records sit beside its directory.

        exit status: 0 success, 1 failure while working, 2 bad usage or bad input, 3 verify or audit
        found a record that does not hold, 4 a --require policy was not met (nothing written), 128+N interrupted by signal N; on any failure no output
        file is left.
        See man ckptforget for details and examples.
        """
    }

    static let inspect = """
        usage: ckptforget inspect FILE [--json] [--output-layer NAME]

        Lists every tensor of a checkpoint with its dtype, shape, layer and role, and marks with *
        the output layer's tensors (the ones class passes edit). For a NIR graph, also its nodes in
        the order they run, with their types, shapes and the nodes feeding them.

          --json                 the same as JSON on stdout
          --output-layer NAME    the layer whose units are the classes (when the file does not say)
          -h, --help             this text
        """

    static let diff = """
        usage: ckptforget diff A B [--json] [--all]

        Compares two checkpoints tensor by tensor (matched by name): elements changed, L2 norm and
        largest absolute value of the change, and the share of zeros before and after. The numbers
        are measured as a run's per-tensor records measure them. Tensors of the dtypes never edited
        (integer, boolean, complex, 8-bit and smaller floats) are not compared.
        Exit 0 whatever the differences.

          --json                 the same as JSON on stdout
          -a, --all              list unchanged tensors too
          -h, --help             this text
        """

    static let stats = """
        usage: ckptforget stats MODEL --data D (--class C... | --forget-ids F) [--fisher exact|batch:B] [--scale S] -o STATS.h5
               ckptforget stats MODEL --forget-data F --retain-data R [--data FULL] ... -o STATS.h5

        Runs the model (a Keras .h5 with its model_config) on the data and writes the Fisher diagonals
        of its cross-entropy loss on the forget, retain and full splits, in the statistics-file schema
        (man ckptforget, STATISTICS FILES), ready for --stats. For a NIR graph (a spiking network), it
        simulates it and writes each neuron's spike counts and rates per split and their share on the
        forget data (eq. 6), instead of Fisher diagonals.

          --data D            HDF5 FILE[:X,Y] (datasets, default x and y), X.npy:Y.npy, or
                              IMAGES.idx3-ubyte[.gz]:LABELS.idx1-ubyte[.gz]
          -c, --class C       forget the samples of class C (repeatable)
          --forget-ids F      forget the samples at these 0-based indices of D (whitespace or commas)
          --forget-data F     the forget set as its own file, with --retain-data R for the rest
          --fisher MODE       exact (default): mean of squared per-sample gradients, independent of
                              batching and order; batch:B: mean over mini-batches of B, in file order,
                              of the squared gradient of the batch-mean loss (the SSD paper's code)
          --scale S           multiply inputs by S, e.g. 1/255 for bytes (default 1)
          --steps T, --dt S, --reset RULE, --encoding E
                              how a spiking model is simulated (see ckptforget eval --help)
          -o, --output PATH   the statistics file
          -q, --quiet         no summary on stderr
        """

    static let spiking = """
          --steps T              spiking (NIR) models: time steps simulated (default 25; with
                                 --encoding spikes, the trains' length)
          --dt S                 the time step in seconds (default 1e-4, the exporters' convention)
          --reset RULE           subtract-delayed (snnTorch's Leaky, the default) or nir (NIR's
                                 equations: reset to v_reset, no delay)
          --encoding E           rate[:SEED] (pixels in [0, 1] as spike probabilities per step; seed 0
                                 by default), current (the value is the input current at every step),
                                 or spikes (HDF5 samples shaped [steps, samples, ...])
        """

    static let eval = """
        usage: ckptforget eval MODEL --data D [--class C... | --forget-ids F] [--scale S] [--json]
                                [--relearn N [--relearn-to ACC | --before ORIGINAL]]

        Runs the model on the data and reports accuracy, macro precision, recall, F1 and one-vs-rest
        ROC AUC, per-class sensitivity and specificity, and the confusion matrix, for all of D and,
        with --class or --forget-ids, for its forget and retain splits. --json states the exact
        definitions used. A NIR graph is simulated: its scores are the output neurons' spike counts
        (the prediction is the arg-max, ties to the lowest class).

          --test-data T          held-out samples: a "test" row (less the forgotten classes), and
                                 membership inference (the SSD code's recipe), which trains
                                 on the retain split as members against T (less the forgotten classes)
                                 as non-members and reports the share of forget samples judged members
          --mia-feature F        entropy (default) or confidence (the true-label probability)
          --relearn N            steps of fine-tuning on the forget split (Adam 1e-3, batches of 32)
                                 until its accuracy is back to --relearn-to ACC, to the --before
                                 model's, or to the one the model's record kept; or "not within N"
                                 (Keras models)
        \(spiking)
        """

    static let report = """
        usage: ckptforget report MODEL [--before ORIGINAL] [--data D (--class C... | --forget-ids F)] [--test-data T]
                                  [--scale S] [--require POLICY] [--record RECORD] [--key PUB... | --keys DIR] -o REPORT.html

        Writes one self-contained HTML page about a forgetting edit (inline CSS and SVG, no script,
        nothing fetched; it opens from disk and prints): accuracy on the forget, retain and test data
        and membership inference, before -> after, against the policy; confusion matrices before and
        after with the forgotten classes marked; per-class accuracy bars; precision, recall, F1 and
        ROC AUC per class; ROC curves of the forgotten classes; for a spiking (NIR) network, each
        spiking layer's firing rate on the forget and retain data; the membership-inference histograms;
        and what was done, from the model's forgetting attestation: passes and parameters, each
        tensor's change, optimizer state, inputs and outputs with their digests, the signature and
        the lineage. A model the engine cannot run, or no data, gives a page without metrics that
        says why. The same inputs give the same bytes. Exit 0 when the page is written, whatever it
        shows.

          --before ORIGINAL      the model before the edit, measured on the same data; without it the
                                 values before are those the record kept, and the charts show the
                                 edited model only
          --data D, --forget-data F, --retain-data R, --forget-ids F, --scale S, --mia-feature F
                                 the data and its splits, as for eval; without --class or --forget-ids,
                                 the classes the record says were forgotten
          -c, --class C          a forgotten class (repeatable, or C,C,...)
              --test-data T      held-out samples: test accuracy and membership inference
              --require POLICY   the policy to show against (default: the one the record kept)
              --record RECORD    the forgetting attestation to read (default MODEL.manifest.json)
          -k, --key PUB.pem      check the record's signature and files with this key (repeatable)
              --keys DIR         every public key in DIR is trusted; without keys the record is read
                                 but its signature is reported as not checked
          -o, --output PATH      the page to write
          -q, --quiet            no summary line on stderr
        \(spiking)
        """

    static let keygen = """
        usage: ckptforget keygen -o KEY.pem [--type p256|p384|p521|ed25519] [--force]

        Makes a signing key: KEY.pem (PKCS#8, created with mode 600) and KEY.pub.pem (SPKI), as
        `openssl genpkey` writes them. ECDSA P-256 by default; OpenSSF Model Signing needs ECDSA.
        Refuses to overwrite an existing key unless --force.

          -o, --output KEY.pem   where to write the private key (the public key goes to KEY.pub.pem)
          -t, --type TYPE        p256 (default), p384, p521 or ed25519
              --force            replace existing key files
        """

    static let verify = """
        usage: ckptforget verify RECORD (--key PUB.pem... | --keys DIR) [--files PATH] [--allow-unsigned] [--json]

        Checks one record: a forgetting attestation (*.manifest.json) or an OpenSSF Model Signing
        signature (*.sig, also those made by `model_signing sign key`). First the signature over the
        DSSE envelope must verify with a trusted key: until it does, no file the record names is
        opened. Then every file the statement names must have the recorded sha256; for a model
        signature the model's file list must match exactly. Files are looked for beside the record,
        or in --files (for a .sig: the model path), and a name is opened only when it is a relative
        path to a regular file inside that directory (no "..", no absolute path, no symbolic link,
        FIFO, device or directory): others are refused, each named. A forgetting attestation's
        model signature (the .sig it says was written) is checked with it and must be there.
        Names bind: X.manifest.json must attest X (or the files of directory X), X.sig must sign X.
        Exit 0 when the record holds; 3 otherwise, naming each difference; unsigned records fail
        unless --allow-unsigned (their names are confined all the same).

          -k, --key PUB.pem      a trusted public key (repeatable)
              --keys DIR         every public key in DIR is trusted
              --files PATH       where the named files are (for a .sig: the model)
              --allow-unsigned   accept a record without a signature
              --json             the result as JSON
        """

    static let show = """
        usage: ckptforget show RECORD [--json]

        Prints the in-toto statement inside a record (decoded, not verified): subjects, predicate
        type and every field of the predicate. --json prints the statement itself.
        """

    static let audit = """
        usage: ckptforget audit PATH... (--key PUB.pem... | --keys DIR) [--json]

        Finds every *.manifest.json under the paths, verifies each (signature by a trusted key, every
        file's digest, and the .sig it names, which must sign the root digest it binds), links each record to its parent by the parent's sha256 and checks that its
        input is the parent's output, then prints each model's chain from the original checkpoint to
        the latest edit with each step's passes. Files are opened as verify opens them. Exit 3 on
        any failed signature, unknown signer, refused, changed or missing file, or missing or
        mismatched parent.

          -k, --key PUB.pem      a trusted public key (repeatable)
              --keys DIR         every public key in DIR is trusted
              --json             chains and problems as JSON
        """

    static func text(for subcommand: String) -> String {
        CommandLineTool.subcommands[subcommand]?.help ?? main
    }
}
