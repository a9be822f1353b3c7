import Foundation

/// A public key a verifier trusts, with the name it is reported under (its file).
public struct TrustedKey: Sendable {
    public let name: String
    public let key: PublicKey

    public init(name: String, key: PublicKey) {
        self.name = name
        self.key = key
    }

    /// Every public key in `directory` (files ending .pem), and the .pem files that hold none, each
    /// with the reason (a private key, a damaged file), so that a caller can name them.
    public static func all(in directory: String) throws -> (keys: [TrustedKey], skipped: [(path: String, reason: String)]) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw SigningError.unreadable(path: directory, reason: "not a directory of public keys")
        }
        var keys: [TrustedKey] = [], skipped: [(String, String)] = []
        for name in entries.sorted() where name.hasSuffix(".pem") {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                keys.append(TrustedKey(name: path, key: try PublicKey(pemFile: path)))
            } catch {
                skipped.append((path, "\(error)"))
            }
        }
        guard !keys.isEmpty else { throw SigningError.badKey(path: directory, reason: "holds no PEM public key") }
        return (keys, skipped)
    }
}
