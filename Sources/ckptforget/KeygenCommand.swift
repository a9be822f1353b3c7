import Foundation
import Manifest

/// `ckptforget keygen -o KEY.pem [--type p256|p384|p521|ed25519] [--force]`: a signing key
/// (PKCS#8, mode 0600) and its public key beside it (KEY.pub.pem, SPKI).
enum KeygenCommand: Subcommand {
    static var help: String { Help.keygen }

    static let options: [Arguments.Option] = [.value("--output", "-o"), .value("--type", "-t"), .flag("--force")]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.isEmpty, let path = arguments.value("--output") else {
            throw UsageError.invalid("usage: ckptforget keygen -o KEY.pem [--type p256|p384|p521|ed25519]")
        }
        let typeName = arguments.value("--type") ?? "p256"
        guard let algorithm = KeyAlgorithm(rawValue: typeName) else {
            throw UsageError.invalid("--type \(typeName): expected p256, p384, p521 or ed25519")
        }
        guard !path.isEmpty else { throw UsageError.invalid("keygen -o: an empty path") }
        var isDirectory: ObjCBool = false
        let directory = (path as NSString).deletingLastPathComponent
        guard FileManager.default.fileExists(atPath: directory.isEmpty ? "." : directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError.invalid("keygen -o \(path): no directory \(directory)")
        }
        let publicPath = (path.hasSuffix(".pem") ? String(path.dropLast(4)) : path) + ".pub.pem"
        for existing in [path, publicPath] where FileManager.default.fileExists(atPath: existing) && !arguments.has("--force") {
            throw UsageError.invalid("\(existing) exists; refusing to overwrite a key (--force replaces it)")
        }
        let key = try PrivateKey(generating: algorithm)
        try key.writePEM(to: path, publicKeyTo: publicPath)
        Console.output("wrote \(path) (\(algorithm.signatureName), mode 600) and \(publicPath)")
        return .success
    }
}
