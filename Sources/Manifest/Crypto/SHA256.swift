internal import CCrypto
import Foundation

/// Incremental SHA-256 (OpenSSL's EVP digest), so files are hashed while they stream. Not
/// thread-safe: one owner feeds it (StreamingDigest confines it to its queue).
public final class SHA256 {
    private let context: OpaquePointer

    public init() {
        context = EVP_MD_CTX_new()
        precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(sha256) failed")
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "EVP_DigestUpdate failed")
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes(update) }

    /// The 32-byte digest; the hasher cannot be used afterwards.
    public func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &digest, &length) == 1 && length == 32, "EVP_DigestFinal_ex failed")
        return digest
    }

    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        let hasher = SHA256()
        hasher.update(bytes)
        return hasher.finish()
    }

    /// Hashes a file in 1 MiB reads.
    public static func digest(ofFile path: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw SigningError.unreadable(path: path, reason: "cannot open") }
        defer { try? handle.close() }
        return try digest(of: handle)
    }

    /// Hashes what is left to read in `handle`, in 1 MiB reads into one buffer kept for the file
    /// (`FileHandle.read` allocates a new `Data` a read), for files opened with care, as
    /// `ConfinedFile` opens those a record names.
    public static func digest(of handle: FileHandle) throws -> [UInt8] {
        let hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = read(handle.fileDescriptor, buffer.baseAddress, buffer.count)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
        return hasher.finish()
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hexadecimal.
    public var hex: String { map { String(format: "%02x", $0) }.joined() }

    /// Parses lower- or upper-case hexadecimal; nil if malformed.
    public init?(hex: String) {
        guard hex.count % 2 == 0, hex.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self = bytes
    }
}
