#!/usr/bin/env python3
"""Deterministic OCI image-layout writer for critest's stand-in images.

    ociw.py LAYOUT SPEC.json

SPEC = {"images": [{"refs": ["repo:tag", ...], "layers": ["dir", ...], "config": {...},
                    "owners": {"rel/path": [uid, gid]}}]}

Every image is written as an OCI image index with one linux/amd64 manifest (upstream's test
images are manifest lists, so pulls go through index resolution), and each of its refs is
recorded in LAYOUT/index.json (annotation org.opencontainers.image.ref.name). Refs of one
image share one manifest, hence one image id (test-image-tags:{1,2,3} needs exactly that).

Deterministic on purpose: the same inputs give the same digests, so the harness can cache by
input hash and runs are comparable. Entries are sorted, owned 0:0 unless listed in "owners",
mtime 0, gzip without a timestamp, a fixed "created". Modes are kept as on disk (setuid of
nnp, sticky /tmp); hard links are written as tar hard links (busybox applets must be hard
links: a MaskedPaths bind mount onto a symlink would mask its target, /bin/busybox).
Prints one line per ref: "REF INDEX-DIGEST CONFIG-DIGEST".
"""
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile

EPOCH = "1970-01-01T00:00:00Z"


def blob(layout, data, media):
    d = hashlib.sha256(data).hexdigest()
    p = os.path.join(layout, "blobs", "sha256", d)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if not os.path.exists(p):
        with open(p + ".tmp", "wb") as f:
            f.write(data)
        os.rename(p + ".tmp", p)
    return {"mediaType": media, "digest": "sha256:" + d, "size": len(data)}


def layer_tar(root, owners):
    buf, seen = io.BytesIO(), {}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for dirpath, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs + files):
                full = os.path.join(dirpath, name)
                arc = os.path.relpath(full, root)
                st = os.lstat(full)
                ti = tarfile.TarInfo(arc)
                ti.mode = stat.S_IMODE(st.st_mode)
                ti.uid, ti.gid = owners.get(arc, (0, 0))
                ti.uname = ti.gname = ""
                ti.mtime = 0
                if stat.S_ISDIR(st.st_mode):
                    ti.type = tarfile.DIRTYPE
                    t.addfile(ti)
                elif stat.S_ISLNK(st.st_mode):
                    ti.type = tarfile.SYMTYPE
                    ti.linkname = os.readlink(full)
                    t.addfile(ti)
                elif stat.S_ISREG(st.st_mode):
                    key = (st.st_dev, st.st_ino)
                    if st.st_nlink > 1 and key in seen:
                        ti.type = tarfile.LNKTYPE
                        ti.linkname = seen[key]
                        t.addfile(ti)
                    else:
                        seen[key] = arc
                        ti.size = st.st_size
                        with open(full, "rb") as f:
                            t.addfile(ti, f)
                else:
                    raise SystemExit("ociw: unsupported file type: " + full)
    return buf.getvalue()


def main(layout, spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    layer_cache = {}  # (dir, owners) -> (diff_id, descriptor): the base layer is shared
    entries = []
    for img in spec["images"]:
        owners = {k: tuple(v) for k, v in img.get("owners", {}).items()}
        layers, diff_ids = [], []
        for d in img["layers"]:
            key = (d, tuple(sorted(owners.items())))
            if key not in layer_cache:
                raw = layer_tar(d, owners)
                gz = gzip.compress(raw, compresslevel=6, mtime=0)
                layer_cache[key] = ("sha256:" + hashlib.sha256(raw).hexdigest(),
                                    blob(layout, gz, "application/vnd.oci.image.layer.v1.tar+gzip"))
            diff_ids.append(layer_cache[key][0])
            layers.append(layer_cache[key][1])
        cfg = {"architecture": "amd64", "os": "linux", "created": EPOCH,
               "config": img.get("config", {}),
               "rootfs": {"type": "layers", "diff_ids": diff_ids},
               "history": [{"created": EPOCH, "created_by": "berth critest stand-in"}
                           for _ in diff_ids]}
        cdesc = blob(layout, json.dumps(cfg, sort_keys=True).encode(),
                     "application/vnd.oci.image.config.v1+json")
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": cdesc, "layers": layers}
        mdesc = blob(layout, json.dumps(man, sort_keys=True).encode(),
                     "application/vnd.oci.image.manifest.v1+json")
        mdesc["platform"] = {"architecture": "amd64", "os": "linux"}
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": [mdesc]}
        top = blob(layout, json.dumps(idx, sort_keys=True).encode(),
                   "application/vnd.oci.image.index.v1+json")
        for ref in img["refs"]:
            e = dict(top)
            e["annotations"] = {"org.opencontainers.image.ref.name": ref}
            entries.append(e)
            print(ref, top["digest"], cdesc["digest"])
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": entries}, f, sort_keys=True, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: ociw.py LAYOUT SPEC.json")
    main(sys.argv[1], sys.argv[2])
