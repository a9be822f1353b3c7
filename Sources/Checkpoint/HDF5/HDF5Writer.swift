internal import CHDF5

/// A new HDF5 file of arrays and attributes (statistics files), written into an output
/// transaction so it appears only when complete. No object times are stored, so the same
/// content gives the same bytes.
public final class HDF5Writer {
    public let path: String
    private let file: H5ID

    /// Creates the file under a temporary name reserved in `output` for `finalPath`.
    public init(finalPath: String, in output: OutputTransaction) throws {
        _ = HDF5.initialised
        path = finalPath
        let temporary = output.temporaryPath(for: finalPath)
        do {
            let fcpl = try H5ID(.plist, H5Pcreate(ckf_H5P_FILE_CREATE()), "H5Pcreate(file create)")
            try HDF5.check(H5Pset_obj_track_times(fcpl.raw, false), "H5Pset_obj_track_times")
            file = try H5ID(.file, OutputTransaction.creatingFile { H5Fcreate(temporary, ckf_H5F_ACC_EXCL(), fcpl.raw, HDF5.defaultPlist) }, "H5Fcreate")
        } catch {
            throw CheckpointError.writeFailed(path: finalPath, reason: "HDF5 \(error.call) failed: \(error.message)")
        }
    }

    /// Writes a float64 or float32 dataset at `name` (a path; missing groups are created).
    public func write(_ name: String, _ values: [Double], shape: [Int], asFloat32: Bool = false) throws {
        precondition(values.count == shape.reduce(1, *))
        try wrapping {
            let lcpl = try H5ID(.plist, H5Pcreate(ckf_H5P_LINK_CREATE()), "H5Pcreate(link create)")
            try HDF5.check(H5Pset_create_intermediate_group(lcpl.raw, 1), "H5Pset_create_intermediate_group")
            let dcpl = try H5ID(.plist, H5Pcreate(ckf_H5P_DATASET_CREATE()), "H5Pcreate(dataset create)")
            try HDF5.check(H5Pset_obj_track_times(dcpl.raw, false), "H5Pset_obj_track_times")
            var dims = shape.map { hsize_t($0) }
            let space = try H5ID(.dataspace, H5Screate_simple(Int32(shape.count), &dims, nil), "H5Screate_simple")
            let fileType = asFloat32 ? ckf_H5T_NATIVE_FLOAT() : ckf_H5T_NATIVE_DOUBLE()
            let dataset = try H5ID(.dataset, H5Dcreate2(file.raw, name, fileType, space.raw, lcpl.raw, dcpl.raw, HDF5.defaultPlist), "H5Dcreate2(\(name))")
            try HDF5.check(H5Dwrite(dataset.raw, ckf_H5T_NATIVE_DOUBLE(), ckf_H5S_ALL(), ckf_H5S_ALL(), HDF5.defaultPlist, values), "H5Dwrite(\(name))")
        }
    }

    /// Sets an attribute on the object at `object` ("/" for the root; groups are created).
    public func setAttribute(_ name: String, _ value: AttributeValue, on object: String = "/") throws {
        try wrapping {
            if object != "/", H5Lexists(file.raw, object, HDF5.defaultPlist) <= 0 {
                let lcpl = try H5ID(.plist, H5Pcreate(ckf_H5P_LINK_CREATE()), "H5Pcreate(link create)")
                try HDF5.check(H5Pset_create_intermediate_group(lcpl.raw, 1), "H5Pset_create_intermediate_group")
                let gcpl = try H5ID(.plist, H5Pcreate(ckf_H5P_GROUP_CREATE()), "H5Pcreate(group create)")
                try HDF5.check(H5Pset_obj_track_times(gcpl.raw, false), "H5Pset_obj_track_times")
                _ = try H5ID(.group, H5Gcreate2(file.raw, object, lcpl.raw, gcpl.raw, HDF5.defaultPlist), "H5Gcreate2(\(object))")
            }
            let target = try H5ID(.object, H5Oopen(file.raw, object, HDF5.defaultPlist), "H5Oopen(\(object))")
            let space = try H5ID(.dataspace, H5Screate(H5S_SCALAR), "H5Screate")
            switch value {
            case .string(let text):
                let type = try H5ID(.datatype, H5Tcopy(ckf_H5T_C_S1()), "H5Tcopy")
                try HDF5.check(H5Tset_size(type.raw, ckf_H5T_VARIABLE()), "H5Tset_size")
                try HDF5.check(H5Tset_cset(type.raw, H5T_CSET_UTF8), "H5Tset_cset")
                let attribute = try H5ID(.attribute, H5Acreate2(target.raw, name, type.raw, space.raw, HDF5.defaultPlist, HDF5.defaultPlist), "H5Acreate2(\(name))")
                try text.withCString { pointer in
                    var pointers: [UnsafePointer<CChar>?] = [pointer]
                    try HDF5.check(H5Awrite(attribute.raw, type.raw, &pointers), "H5Awrite(\(name))")
                }
            case .integer(let number):
                let attribute = try H5ID(.attribute, H5Acreate2(target.raw, name, ckf_H5T_NATIVE_INT64(), space.raw, HDF5.defaultPlist, HDF5.defaultPlist), "H5Acreate2(\(name))")
                var value = Int64(number)
                try HDF5.check(H5Awrite(attribute.raw, ckf_H5T_NATIVE_INT64(), &value), "H5Awrite(\(name))")
            }
        }
    }

    public enum AttributeValue: Sendable { case string(String), integer(Int) }

    private func wrapping(_ body: () throws -> Void) throws {
        do { try body() } catch let failure as HDF5Failure {
            throw CheckpointError.writeFailed(path: path, reason: "HDF5 \(failure.call) failed: \(failure.message)")
        }
    }
}
