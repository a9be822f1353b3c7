internal import CHDF5

/// One open HDF5 identifier, closed with the call that matches its kind when it goes out of scope.
///
/// Every C call that returns an id or a status goes through `HDF5.check`, which turns a negative
/// result into an `HDF5Failure` carrying the call's name and HDF5's own message.
struct H5ID: ~Copyable {
    enum Kind { case file, group, dataset, datatype, dataspace, plist, attribute, object }

    let raw: hid_t
    private let kind: Kind

    /// Takes ownership of `raw`, or throws if the call that produced it failed.
    init(_ kind: Kind, _ raw: hid_t, _ call: @autoclosure () -> String) throws(HDF5Failure) {
        guard raw >= 0 else { throw HDF5Failure(call: call()) }
        self.kind = kind
        self.raw = raw
    }

    deinit {
        switch kind {
        case .file: _ = H5Fclose(raw)
        case .group: _ = H5Gclose(raw)
        case .dataset: _ = H5Dclose(raw)
        case .datatype: _ = H5Tclose(raw)
        case .dataspace: _ = H5Sclose(raw)
        case .plist: _ = H5Pclose(raw)
        case .attribute: _ = H5Aclose(raw)
        case .object: _ = H5Oclose(raw)
        }
    }
}

/// A failed HDF5 call: its name and the innermost message of HDF5's error stack.
struct HDF5Failure: Error {
    let call: String
    let message: String

    init(call: String) {
        self.call = call
        self.message = HDF5.currentErrorMessage()
    }

    init(call: String, message: String) {
        self.call = call
        self.message = message
    }
}

enum HDF5 {
    /// Silences HDF5's own printing of error stacks (we report them ourselves). Idempotent.
    static let initialised: Bool = {
        _ = H5open()
        _ = H5Eset_auto2(ckf_H5E_DEFAULT(), nil, nil)
        return true
    }()

    static var defaultPlist: hid_t { ckf_H5P_DEFAULT() }

    /// Creates a transaction's temporary file, which must not exist yet (HDF5 files are reserved
    /// `named`; one that exists is truncated).
    static func create(_ temporary: TemporaryFile, fcpl: hid_t, fapl: hid_t) -> hid_t {
        temporary.exists ? H5Fcreate(temporary.path, ckf_H5F_ACC_TRUNC(), fcpl, fapl)
            : OutputTransaction.creatingFile { H5Fcreate(temporary.path, ckf_H5F_ACC_EXCL(), fcpl, fapl) }
    }

    /// Throws unless `status` (an `herr_t` or `htri_t`) is non-negative; returns it.
    @discardableResult
    static func check<T: BinaryInteger>(_ status: T, _ call: @autoclosure () -> String) throws(HDF5Failure) -> T {
        guard status >= 0 else { throw HDF5Failure(call: call()) }
        return status
    }

    /// The descriptions on HDF5's current error stack, innermost first, joined; empty if none.
    static func currentErrorMessage() -> String {
        final class Collected { var lines: [String] = [] }
        let collected = Collected()
        let stack = H5Eget_current_stack()
        guard stack >= 0 else { return "" }
        defer { _ = H5Eclose_stack(stack) }
        _ = H5Ewalk2(stack, H5E_WALK_UPWARD, { _, error, context in
            guard let error, let context else { return 0 }
            let box = Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue()
            let function = error.pointee.func_name.map { String(cString: $0) } ?? "?"
            let description = error.pointee.desc.map { String(cString: $0) } ?? ""
            box.lines.append("\(function): \(description)")
            return 0
        }, Unmanaged.passUnretained(collected).toOpaque())
        return collected.lines.prefix(2).joined(separator: "; ")
    }
}
