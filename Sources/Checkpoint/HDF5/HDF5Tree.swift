internal import CHDF5

/// One link in an HDF5 file, as the walk finds it: enough to list tensors and to rebuild the file.
struct HDF5Node {
    enum Kind { case group, dataset, namedType, softLink, externalLink, other }
    /// Path without the leading `/` ("" is the root).
    let path: String
    let kind: Kind
    /// File address of the object (hard links only), to notice a second link to one object.
    let address: haddr_t
    var children: [HDF5Node] = []
}

extension HDF5Node {
    /// Every node below this one, depth first, in link order.
    var descendants: [HDF5Node] { children.flatMap { [$0] + $0.descendants } }
}

enum HDF5Tree {
    /// Walks the group `groupID` (named `path`) recursively, in creation order where the group
    /// tracks it and by name otherwise, as h5py and h5dump list them. A group reached again
    /// through another hard link (even a cycle) is listed but not walked twice.
    static func walk(group groupID: hid_t, path: String) throws(HDF5Failure) -> [HDF5Node] {
        var root = H5O_info_t()
        try HDF5.check(H5Oget_info2(groupID, &root, UInt32(H5O_INFO_BASIC)), "H5Oget_info2(\(path.isEmpty ? "/" : path))")
        var visited: Set<haddr_t> = [root.addr]
        return try walk(group: groupID, path: path, visited: &visited)
    }

    private static func walk(group groupID: hid_t, path: String, visited: inout Set<haddr_t>) throws(HDF5Failure) -> [HDF5Node] {
        final class Names { var list: [(String, H5L_info_t)] = [] }
        let names = Names()
        let order = try linkOrder(of: groupID)
        var index: hsize_t = 0
        try HDF5.check(H5Literate(groupID, order, H5_ITER_INC, &index, { _, name, info, context in
            guard let name, let info, let context else { return -1 }
            Unmanaged<Names>.fromOpaque(context).takeUnretainedValue().list.append((String(cString: name), info.pointee))
            return 0
        }, Unmanaged.passUnretained(names).toOpaque()), "H5Literate(\(path.isEmpty ? "/" : path))")

        var nodes: [HDF5Node] = []
        for (name, link) in names.list {
            let childPath = path.isEmpty ? name : "\(path)/\(name)"
            switch link.type {
            case H5L_TYPE_SOFT:
                nodes.append(HDF5Node(path: childPath, kind: .softLink, address: 0))
            case H5L_TYPE_EXTERNAL:
                nodes.append(HDF5Node(path: childPath, kind: .externalLink, address: 0))
            case H5L_TYPE_HARD:
                var info = H5O_info_t()
                try HDF5.check(H5Oget_info_by_name2(groupID, name, &info, UInt32(H5O_INFO_BASIC), HDF5.defaultPlist),
                               "H5Oget_info_by_name2(\(childPath))")
                switch info.type {
                case H5O_TYPE_GROUP:
                    var node = HDF5Node(path: childPath, kind: .group, address: info.addr)
                    if visited.insert(info.addr).inserted {
                        let child = try H5ID(.group, H5Gopen2(groupID, name, HDF5.defaultPlist), "H5Gopen2(\(childPath))")
                        node.children = try walk(group: child.raw, path: childPath, visited: &visited)
                    }
                    nodes.append(node)
                case H5O_TYPE_DATASET:
                    nodes.append(HDF5Node(path: childPath, kind: .dataset, address: info.addr))
                case H5O_TYPE_NAMED_DATATYPE:
                    nodes.append(HDF5Node(path: childPath, kind: .namedType, address: info.addr))
                default:
                    nodes.append(HDF5Node(path: childPath, kind: .other, address: info.addr))
                }
            default:
                nodes.append(HDF5Node(path: childPath, kind: .other, address: 0))
            }
        }
        return nodes
    }

    /// Creation order if the group tracks it, else name order.
    static func linkOrder(of groupID: hid_t) throws(HDF5Failure) -> H5_index_t {
        let gcpl = try H5ID(.plist, H5Gget_create_plist(groupID), "H5Gget_create_plist")
        var flags: UInt32 = 0
        try HDF5.check(H5Pget_link_creation_order(gcpl.raw, &flags), "H5Pget_link_creation_order")
        return flags & ckf_H5P_CRT_ORDER_TRACKED() != 0 ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME
    }

    /// Creation order if the object tracks attribute order, else name order.
    static func attributeOrder(of objectID: hid_t) -> H5_index_t {
        guard let ocpl = try? H5ID(.plist, H5Oget_create_plist_or_fail(objectID), "create plist") else { return H5_INDEX_NAME }
        var flags: UInt32 = 0
        guard H5Pget_attr_creation_order(ocpl.raw, &flags) >= 0 else { return H5_INDEX_NAME }
        return flags & ckf_H5P_CRT_ORDER_TRACKED() != 0 ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME
    }

    /// The object creation property list of a group or dataset.
    private static func H5Oget_create_plist_or_fail(_ objectID: hid_t) -> hid_t {
        switch H5Iget_type(objectID) {
        case H5I_GROUP, H5I_FILE: H5Gget_create_plist(objectID)
        case H5I_DATASET: H5Dget_create_plist(objectID)
        default: -1
        }
    }
}
