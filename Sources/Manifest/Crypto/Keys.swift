internal import CCrypto
import Foundation

/// The key types ckptforget signs with. OpenSSF Model Signing accepts the ECDSA curves only, each
/// with its own hash (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512); Ed25519 signs attestations.
public enum KeyAlgorithm: String, Sendable, CaseIterable {
    case ecdsaP256 = "p256", ecdsaP384 = "p384", ecdsaP521 = "p521", ed25519 = "ed25519"

    public var isECDSA: Bool { self != .ed25519 }

    /// The name used in records (`ecdsa-p256-sha256`, `ed25519`).
    public var signatureName: String {
        switch self {
        case .ecdsaP256: "ecdsa-p256-sha256"
        case .ecdsaP384: "ecdsa-p384-sha384"
        case .ecdsaP521: "ecdsa-p521-sha512"
        case .ed25519: "ed25519"
        }
    }

    fileprivate var curve: String? {
        switch self {
        case .ecdsaP256: "prime256v1"
        case .ecdsaP384: "secp384r1"
        case .ecdsaP521: "secp521r1"
        case .ed25519: nil
        }
    }

    fileprivate var digest: OpaquePointer? {
        switch self {
        case .ecdsaP256: EVP_sha256()
        case .ecdsaP384: EVP_sha384()
        case .ecdsaP521: EVP_sha512()
        case .ed25519: nil  // Ed25519 signs the message itself
        }
    }

    fileprivate static func of(_ key: OpaquePointer) -> KeyAlgorithm? {
        switch EVP_PKEY_get_id(key) {
        case EVP_PKEY_ED25519: return .ed25519
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_utf8_string_param(key, "group", &name, name.count, &length) == 1 else { return nil }
            let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return allCases.first { $0.curve == group || (group == "P-256" && $0 == .ecdsaP256) }
        default:
            return nil
        }
    }
}

/// A private key read from PEM (PKCS#8, or SEC1 as `openssl ecparam -genkey` writes it) or made by
/// `keygen`. Signs DSSE pre-authentication encodings.
public final class PrivateKey: @unchecked Sendable {
    fileprivate let key: OpaquePointer
    public let algorithm: KeyAlgorithm

    public convenience init(pemFile path: String) throws {
        try self.init(pem: try readPEM(path), source: path)
    }

    public init(pem: [UInt8], source: String) throws {
        if String(decoding: pem, as: UTF8.self).contains("ENCRYPTED") {
            throw SigningError.badKey(path: source, reason: "an encrypted key; ckptforget runs unattended and asks for no passphrase (decrypt it with: openssl pkey -in KEY -out PLAIN.pem, mode 600)")
        }
        // A password callback that declines, so OpenSSL never prompts on a terminal.
        (key, algorithm) = try loadKey(pem, source: source, kind: "private key") { PEM_read_bio_PrivateKey($0, nil, { _, _, _, _ in 0 }, nil) }
    }

    /// A new key of `algorithm`.
    public init(generating algorithm: KeyAlgorithm) throws {
        let made = algorithm.curve.map { ckf_generate_ec_key($0) } ?? ckf_generate_ed25519_key()
        guard let made else { throw SigningError.failed("key generation: \(OpenSSLError.drain())") }
        key = made
        self.algorithm = algorithm
    }

    deinit { EVP_PKEY_free(key) }

    /// PKCS#8 PEM, as `openssl genpkey` writes it.
    public var pem: String {
        get throws {
            try MemoryBIO.collect { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
        }
    }

    /// Writes the key (PKCS#8, created with mode 600, so it is never readable by others, not even
    /// for a moment) and its public key (SPKI, mode 644), replacing files of those names.
    public func writePEM(to path: String, publicKeyTo publicPath: String) throws {
        try Self.create(path, Array(try pem.utf8), mode: 0o600)
        try Self.create(publicPath, Array(try publicKey.pem.utf8), mode: 0o644)
    }

    private static func create(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SigningError.failed("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        fchmod(fd, mode)  // whatever the umask
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw SigningError.failed("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    public var publicKey: PublicKey {
        get throws {
            try PublicKey(pem: Array(try MemoryBIO.collect { PEM_write_bio_PUBKEY($0, key) }.utf8), source: "generated")
        }
    }

    /// Signs `message`: DER ECDSA with the curve's hash, or pure Ed25519.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        let context = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, algorithm.digest, nil, key) == 1 else {
            throw SigningError.failed("EVP_DigestSignInit: \(OpenSSLError.drain())")
        }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else {
            throw SigningError.failed("EVP_DigestSign: \(OpenSSLError.drain())")
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else {
            throw SigningError.failed("EVP_DigestSign: \(OpenSSLError.drain())")
        }
        return Array(signature.prefix(length))
    }
}

/// A public key read from SPKI PEM (`-----BEGIN PUBLIC KEY-----`). Verifies signatures.
public final class PublicKey: @unchecked Sendable {
    fileprivate let key: OpaquePointer
    public let algorithm: KeyAlgorithm
    /// The key as SPKI PEM, re-encoded by OpenSSL (so the same key always gives the same text).
    public let pem: String

    public convenience init(pemFile path: String) throws {
        try self.init(pem: try readPEM(path), source: path)
    }

    public init(pem bytes: [UInt8], source: String) throws {
        (key, algorithm) = try loadKey(bytes, source: source, kind: "public key (-----BEGIN PUBLIC KEY-----)") {
            PEM_read_bio_PUBKEY($0, nil, nil, nil)
        }
        pem = try MemoryBIO.collect { [key] in PEM_write_bio_PUBKEY($0, key) }
    }

    deinit { EVP_PKEY_free(key) }

    /// The OpenSSF Model Signing key hint: hex SHA-256 of the SPKI PEM text.
    public var hint: String { SHA256.digest(Array(pem.utf8)).hex }

    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        let context = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, algorithm.digest, nil, key) == 1 else {
            _ = OpenSSLError.drain()
            return false
        }
        let ok = EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
        _ = OpenSSLError.drain()
        return ok
    }
}

private func readPEM(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw SigningError.unreadable(path: path, reason: "no such file or not readable")
    }
    return [UInt8](data)
}

/// Parses a PEM key with `read` and checks it is a type ckptforget signs with.
private func loadKey(_ pem: [UInt8], source: String, kind: String, read: (OpaquePointer) -> OpaquePointer?) throws -> (OpaquePointer, KeyAlgorithm) {
    let bio = try MemoryBIO(pem)
    guard let key = read(bio.bio) else {
        throw SigningError.badKey(path: source, reason: "not a PEM \(kind): \(OpenSSLError.drain())")
    }
    guard let algorithm = KeyAlgorithm.of(key) else {
        EVP_PKEY_free(key)
        throw SigningError.badKey(path: source, reason: "unsupported key type; use ECDSA P-256, P-384, P-521 or Ed25519")
    }
    return (key, algorithm)
}

/// A read-only memory BIO over PEM bytes, or a write BIO whose contents are collected as text.
private final class MemoryBIO {
    let bio: OpaquePointer
    private let bytes: [UInt8]

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        guard let bio = self.bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw SigningError.failed("BIO_new_mem_buf")
        }
        self.bio = bio
    }

    deinit { BIO_free(bio) }

    static func collect(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw SigningError.failed("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw SigningError.failed("PEM write: \(OpenSSLError.drain())") }
        var data: UnsafeMutablePointer<CChar>?
        let length = ckf_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }
}

/// OpenSSL's thread-local error queue, read and cleared.
enum OpenSSLError {
    static func drain() -> String {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "no detail from OpenSSL" : messages.joined(separator: "; ")
    }
}
