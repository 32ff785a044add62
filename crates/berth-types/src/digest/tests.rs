use super::*;

const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn parses_and_splits() {
    let d: Digest = EMPTY.parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.algorithm(), "sha256");
    assert_eq!(d.hex().len(), 64);
    assert_eq!(d.short(), "e3b0c44298fc");
}

#[test]
fn refuses_malformed() {
    assert!(matches!(
        "abc".parse::<Digest>(),
        Err(InvalidDigest::MissingAlgorithm(_))
    ));
    assert!(matches!(
        "md5:00".parse::<Digest>(),
        Err(InvalidDigest::UnsupportedAlgorithm(_))
    ));
    assert!(matches!(
        "sha256:../../etc".parse::<Digest>(),
        Err(InvalidDigest::BadHex(_))
    ));
    let upper = EMPTY.to_uppercase().replace("SHA256", "sha256");
    assert!(matches!(
        upper.parse::<Digest>(),
        Err(InvalidDigest::BadHex(_))
    ));
}

#[test]
fn from_bytes_round_trips() {
    let d = Digest::sha256_from_bytes(&[0xab; 32]);
    assert_eq!(d.as_str().parse::<Digest>(), Ok(d.clone()));
}
