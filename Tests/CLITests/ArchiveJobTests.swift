import Foundation
import Testing

/// `examples/archive/Makefile` as its README says to run it: `make -j2` over a directory of three
/// models forgets class 2 in each, gated and signed, then audits the output archive.
@Suite struct ArchiveJobTests {
    static let makefile = Run.repository.appendingPathComponent("examples/archive/Makefile").path
    static let data = Run.fixture("engine/test_data.h5")
    /// The fixtures, under the names they get in the archive: a Keras MLP, and a CNN as `.h5` and as `.keras`.
    static let models = [("mlp.h5", "keras/mnist_mlp.h5"), ("cnn.h5", "engine/mnist_cnn.h5"), ("cnn.keras", "keras/mnist_cnn.keras")]

    /// A scratch archive: `models/` with the three fixtures, and a signing key.
    private func archive() throws -> Scratch {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.file("models"), withIntermediateDirectories: false)
        for (name, fixture) in Self.models { try FileManager.default.copyItem(atPath: Run.fixture(fixture), toPath: scratch.file("models/\(name)")) }
        let keygen = try Run.ckptforget("keygen", "-o", scratch.file("signer.pem"))
        #expect(keygen.status == 0, "\(keygen.stderr)")
        return scratch
    }

    private func make(_ scratch: Scratch, _ settings: String...) throws -> Run {
        try Run.run("make", ["-f", Self.makefile, "-j2", "CKPTFORGET=\(Run.binary)", "DATA=\(Self.data)"] + settings, in: scratch.path)
    }

    private func statement(_ record: String) throws -> [String: Any] {
        let show = try Run.ckptforget("show", record, "--json")
        #expect(show.status == 0, "\(show.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
    }

    private func sha256(_ path: String) throws -> String {
        String(try Run.run("sha256sum", [path]).stdout.prefix(64))
    }

    @Test func everyModelIsForgottenSignedAndAudited() throws {
        let scratch = try archive()
        defer { scratch.remove() }
        let run = try make(scratch)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let names = Self.models.map(\.0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("forgotten")).sorted()
            == names.flatMap { [$0, "\($0).manifest.json", "\($0).sig"] }.sorted())
        for name in names {
            let (model, output) = (scratch.file("models/\(name)"), scratch.file("forgotten/\(name)"))
            // Both records hold under the signer's public key.
            for record in [output + ".manifest.json", output + ".sig"] {
                let verify = try Run.ckptforget("verify", record, "--key", scratch.file("signer.pub.pem"))
                #expect(verify.status == 0, "\(record): \(verify.stdout) \(verify.stderr)")
            }
            // The attestation names this input and this output by digest, the pass, the class and the policy met.
            let statement = try self.statement(output + ".manifest.json")
            let subjects = statement["subject"] as? [[String: Any]] ?? []
            #expect(subjects.count == 1 && subjects.first?["name"] as? String == name)
            #expect((subjects.first?["digest"] as? [String: Any])?["sha256"] as? String == (try sha256(output)))
            let predicate = try #require(statement["predicate"] as? [String: Any])
            let inputs = predicate["inputs"] as? [[String: Any]] ?? []
            #expect(inputs.first { $0["role"] as? String == "checkpoint" }?["sha256"] as? String == (try sha256(model)))
            #expect(inputs.first { $0["role"] as? String == "data" }?["sha256"] as? String == (try sha256(Self.data)))
            #expect((predicate["passes"] as? [[String: Any]])?.map { $0["spec"] as? String } == ["suppress"])
            #expect((predicate["target"] as? [String: Any])?["classes"] as? [Int] == [2])
            let evaluation = try #require(predicate["evaluation"] as? [String: Any])
            #expect(evaluation["require"] as? [String] == ["forget_acc<=0.01", "retain_drop<=0.02"])
            let before = evaluation["before"] as? [String: Double] ?? [:], after = evaluation["after"] as? [String: Double] ?? [:]
            #expect((after["forget_acc"] ?? 1) <= 0.01 && (before["forget_acc"] ?? 0) > 0.7, "\(name): \(evaluation)")
            #expect((before["retain_acc"] ?? 1) - (after["retain_acc"] ?? 0) <= 0.02, "\(name): \(evaluation)")
            // What the record says is what the output does: class 2 is gone on the data.
            let eval = try Run.ckptforget("eval", output, "--data", Self.data, "--scale", "1/255", "--class", "2", "--json")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any], "\(eval.stderr)")
            #expect(((report["splits"] as? [String: Any])?["forget"] as? [String: Any])?["accuracy"] as? Double == after["forget_acc"], "\(report.keys)")
        }
        // The audit ran last, over all three records, and found nothing wrong.
        let audit = try #require(run.stdout.range(of: "\(Run.binary) audit forgotten"), "\(run.stdout)")
        #expect(!run.stdout[audit.upperBound...].contains(" -o forgotten/"))
        #expect(run.stdout.contains("audit: 3 records in 3 chains; all hold"), "\(run.stdout)")
        for name in names { #expect(run.stdout.contains("ok     → \(name)  [suppress class 2]  forgotten/\(name).manifest.json"), "\(run.stdout)") }

        // Again: nothing is redone, the audit still holds.
        let again = try make(scratch)
        #expect(again.status == 0 && !again.stdout.contains(" -o forgotten/") && again.stdout.contains("all hold"), "\(again.stdout)")

        // The outputs as an archive of their own: a second edit links each to its first in the audit.
        let second = try make(scratch, "MODELS=forgotten", "OUT=again", "CLASS=5", "REQUIRE=forget_acc<=0.01")
        #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")
        #expect(second.stdout.contains("audit: 6 records in 3 chains; all hold"), "\(second.stdout)")
        for name in names { #expect(second.stdout.contains("ok     → \(name)  [suppress class 5]  again/\(name).manifest.json"), "\(second.stdout)") }
    }

    /// A model that misses the policy is not written and the audit does not run; `make -k` still
    /// does the others.
    @Test func theGateStopsAModelThatMissesThePolicy() throws {
        let scratch = try archive()
        defer { scratch.remove() }
        // The CNN's retain accuracy on these samples is 0.72 before and 0.78 after: under 0.9.
        let run = try make(scratch, "-k", "REQUIRE=forget_acc<=0.01,retain_acc>=0.9")
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("forgotten")).sorted()
            == ["mlp.h5", "mlp.h5.manifest.json", "mlp.h5.sig"])
        #expect(run.stderr.contains("--require not met: retain_acc = 0.78089887640449")
            && run.stderr.contains("required >= 0.9; nothing written"), "\(run.stderr)")
        #expect(run.stderr.contains(": forgotten/cnn.h5] Error 4") && run.stderr.contains(": forgotten/cnn.keras] Error 4"), "\(run.stderr)")
        #expect(!run.stdout.contains("audit"), "\(run.stdout)")
    }

    @Test func aMissingKeyIsNamed() throws {
        let scratch = try archive()
        defer { scratch.remove() }
        let run = try make(scratch, "KEY=absent.pem")
        #expect(run.status == 2 && run.stderr.contains("no signing key absent.pem: make one with 'ckptforget keygen -o absent.pem'"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("forgotten/mlp.h5")))
    }
}
