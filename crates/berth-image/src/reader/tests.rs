use super::*;

#[test]
fn pax_values_may_hold_newlines() {
    let value = b"a\nb=c\n";
    let rec = |k: &[u8], v: &[u8]| {
        let rest = k.len() + v.len() + 3;
        let len = rest + (rest + 2).to_string().len();
        [format!("{len} ").as_bytes(), k, b"=", v, b"\n"].concat()
    };
    let data = [rec(b"SCHILY.xattr.user.x", value), rec(b"path", b"p")].concat();
    let got = parse_pax(&data).unwrap();
    assert_eq!(got[0], (b"SCHILY.xattr.user.x".to_vec(), value.to_vec()));
    assert_eq!(got[1], (b"path".to_vec(), b"p".to_vec()));
}

#[test]
fn malformed_pax_is_an_error() {
    for bad in [
        &b"5 a=b\n"[..],
        b"x a=b\n",
        b"99 a=b\n",
        b"7 ab\n\n\n",
        b"6 a=bX",
    ] {
        assert!(
            parse_pax(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(parse_pax(b"6 a=b\n\0\0\0").is_ok());
}
