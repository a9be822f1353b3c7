import Foundation
import Manifest
import Report

/// A model's forgetting attestation as a report shows it: read, its signature checked with the
/// trusted keys when any are given (else reported as not checked), and its earlier records
/// followed for the lineage chain.
enum ReportRecord {
    /// The record at `path` and its signature's status; `explicit` says the user named the file, so
    /// a file that is not a usable record is an error (exit 2) rather than a note on the page.
    static func read(_ path: String, keys: [TrustedKey], explicit: Bool) throws -> (provenance: Provenance?, note: String?) {
        let statement: Statement, signature: Provenance.Signature
        do {
            if keys.isEmpty {
                let bundle = try SigstoreBundle(bytes: try ConfinedFile.readRecord(atPath: path), path: path)
                statement = try Statement(payload: bundle.envelope.payload, path: path)
                let signed = !bundle.envelope.signatures.isEmpty
                signature = Provenance.Signature(state: .unchecked, summary: signed
                    ? "The record is signed" + (bundle.keyHint.isEmpty ? "" : " (key hint \(bundle.keyHint.prefix(16))…)") + "; give --key PUB.pem or --keys DIR to check the signature and every file it names."
                    : "The record carries no signature.")
            } else {
                let check = try RecordVerifier.check(path, keys: keys)
                statement = check.statement
                let files = check.files.count == 1 ? "the file it names matches its digest" : "the \(check.files.count) files it names match their digests"
                signature = check.holds
                    ? Provenance.Signature(state: .verified, summary: "Signed by \(check.signer ?? "a trusted key"); \(files).")
                    : Provenance.Signature(state: .failed, summary: check.signer.map { "Signed by \($0), but:" } ?? "Checked with the keys given:",
                                           problems: check.problems)
            }
        } catch {
            if explicit { throw error }
            return (nil, "\(path) is there but cannot be read as a record: \(error)")
        }
        guard statement.predicateType == ForgettingAttestation.predicateType else {
            let problem = "\(path) is not a forgetting attestation (its predicate type is \(statement.predicateType))"
            if explicit { throw SigningError.unreadable(path: path, reason: "not a forgetting attestation (predicate type \(statement.predicateType))") }
            return (nil, problem)
        }
        return (Provenance(statement: statement, record: path, signature: signature, lineage: lineage(before: statement, at: path)), nil)
    }

    /// The links of the records `statement` (at `path`) descends from, oldest first.
    static func lineage(before statement: Statement, at path: String) -> [Provenance.Link] {
        RecordLineage.ancestors(of: statement, at: path).reversed().map { ancestor in
            ancestor.statement.map { Provenance.Link(record: ancestor.path, statement: $0) }
                ?? Provenance.Link(record: ancestor.path, input: nil, passes: [], classes: [], problem: ancestor.problem)
        }
    }
}
