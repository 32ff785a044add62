use super::*;
use sha2::Digest as _;
use std::io::Write;

fn tar_bytes() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(5);
    h.set_mode(0o644);
    b.append_data(&mut h, "hello.txt", &b"hello"[..]).unwrap();
    b.into_inner().unwrap()
}

fn decode(data: &[u8]) -> (Compression, Vec<u8>) {
    let mut d = Decompressor::new(data).unwrap();
    let mut out = Vec::new();
    d.read_to_end(&mut out).unwrap();
    (d.compression(), out)
}

#[test]
fn detects_plain_gzip_and_zstd() {
    let plain = tar_bytes();
    assert_eq!(decode(&plain), (Compression::None, plain.clone()));

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    assert_eq!(
        decode(&gz.finish().unwrap()),
        (Compression::Gzip, plain.clone())
    );

    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    assert_eq!(decode(&zst), (Compression::Zstd, plain.clone()));
}

#[test]
fn multi_member_gzip_is_read_to_the_end() {
    let mut data = Vec::new();
    for part in [&b"abc"[..], &b"def"[..]] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(part).unwrap();
        data.extend(gz.finish().unwrap());
    }
    assert_eq!(decode(&data).1, b"abcdef");
}

#[test]
fn tiny_and_empty_streams_are_plain() {
    assert_eq!(decode(b""), (Compression::None, Vec::new()));
    assert_eq!(decode(b"\x1f"), (Compression::None, b"\x1f".to_vec()));
}

#[test]
fn refuses_xz_and_bzip2_by_name() {
    for (data, format) in [(&b"\xfd7zXZ\x00rest"[..], "xz"), (&b"BZh91AY"[..], "bzip2")] {
        match Decompressor::new(data) {
            Err(Error::UnsupportedCompression { format: f }) => assert_eq!(f, format),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("{format} accepted"),
        }
    }
}

#[test]
fn media_types() {
    let cases = [
        (
            "application/vnd.oci.image.layer.v1.tar",
            Some(Compression::None),
        ),
        (
            "application/vnd.oci.image.layer.v1.tar+gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.oci.image.layer.v1.tar+zstd",
            Some(Compression::Zstd),
        ),
        (
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            Some(Compression::Gzip),
        ),
        (
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            Some(Compression::Gzip),
        ),
        ("application/vnd.oci.image.config.v1+json", None),
        ("application/vnd.oci.image.layer.v1.tar+bzip2", None),
    ];
    for (mt, want) in cases {
        assert_eq!(Compression::from_media_type(mt), want, "{mt}");
    }
}

#[test]
fn gzip_layer_is_deterministic_and_decodes_back() {
    // Larger than one read buffer, so the loop runs more than once.
    let mut plain = tar_bytes();
    plain.extend((0..READ_BUFFER * 2 + 17).map(|i| (i % 251) as u8));
    let mut first = Vec::new();
    let (digest, size) = gzip_layer(&plain[..], &mut first, "test").unwrap();
    let mut second = Vec::new();
    let again = gzip_layer(&plain[..], &mut second, "test").unwrap();
    assert_eq!(first, second);
    assert_eq!(again, (digest.clone(), size));
    assert_eq!(size, first.len() as u64);
    let hash: [u8; 32] = sha2::Sha256::digest(&first).into();
    assert_eq!(digest, Digest::sha256_from_bytes(&hash));
    // Fixed header: magic, deflate, no flags, mtime 0, OS "unknown".
    assert_eq!(first[..8], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    assert_eq!(first[9], GZIP_OS_UNKNOWN);
    assert_eq!(decode(&first), (Compression::Gzip, plain));
}

#[test]
fn gzip_layer_names_the_layer_when_the_output_fails() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let err = gzip_layer(&tar_bytes()[..], Full, "sha256:abc").unwrap_err();
    assert!(matches!(err, Error::Gzip { .. }), "{err}");
    assert!(
        err.to_string().starts_with("gzip layer sha256:abc: "),
        "{err}"
    );
}
