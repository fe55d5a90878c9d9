import CCrypto
import RunlogStore

/// SHA-256 through the system's libcrypto (EVP): for artifact digests, input files and the
/// experiment name claims. Incremental, or one shot with `hash`.
struct SHA256: ~Copyable {
    private let context: OpaquePointer

    init() {
        // EVP_MD_CTX_new fails only when memory is exhausted; so does every allocation.
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            fatalError("libcrypto could not start a SHA-256 digest")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "SHA-256 update failed")
    }

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest, as lowercase hex; the hasher is spent.
    consuming func hex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &digest, &length) == 1 && length == 32, "SHA-256 final failed")
        return Hex.encode(digest)
    }

    /// The SHA-256 of `bytes`, as lowercase hex.
    static func hex(of bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.hex()
    }
}
