//! Property test: random hostile layer streams (names with `..`, absolute paths, symlinks to `/`
//! and to the sentinel, hardlinks, whiteouts, damaged bytes) never write outside the destination
//! and never panic. Seeded, so a failure is reproducible: the seed is in the panic message.
#![allow(clippy::unwrap_used)]

mod common;

use berth_image::{unpack_layer, UnpackOptions};
use common::{is_root, Arena, RawTar, Spec};
use tar::EntryType;

/// xorshift64*: tiny, deterministic, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

fn random_path(rng: &mut Rng, sentinel: &str) -> String {
    let parts = [
        "a",
        "b",
        "..",
        ".",
        "",
        "l",
        "d",
        ".wh.a",
        ".wh..wh..opq",
        "sentinel",
        "canary",
    ];
    let mut p = String::new();
    if rng.next().is_multiple_of(4) {
        p.push('/');
    }
    if rng.next().is_multiple_of(5) {
        p.push_str(sentinel.trim_start_matches('/'));
        p.push('/');
    }
    for i in 0..1 + rng.next() % 4 {
        if i > 0 {
            p.push('/');
        }
        let part: &&str = rng.pick(&parts);
        p.push_str(part);
    }
    p
}

fn random_layer(rng: &mut Rng, sentinel: &str) -> Vec<u8> {
    let mut tar = RawTar::default();
    let targets = [
        "/".to_string(),
        "..".to_string(),
        "../..".to_string(),
        "../../..".to_string(),
        sentinel.to_string(),
        format!("{sentinel}/canary"),
        "a".to_string(),
        "l/..".to_string(),
        "../sentinel/canary".to_string(),
        format!("../../../../..{sentinel}"),
    ];
    for _ in 0..1 + rng.next() % 12 {
        let name = random_path(rng, sentinel);
        let target = if rng.next().is_multiple_of(2) {
            rng.pick(&targets).clone()
        } else {
            random_path(rng, sentinel)
        };
        let kind = *rng.pick(&[
            EntryType::Regular,
            EntryType::Directory,
            EntryType::Symlink,
            EntryType::Symlink,
            EntryType::Link,
            EntryType::Char,
            EntryType::Fifo,
        ]);
        tar.add(Spec {
            kind,
            name: name.as_bytes(),
            link: target.as_bytes(),
            data: if kind == EntryType::Regular {
                b"pwned"
            } else {
                b""
            },
            mode: (rng.next() % 0o10000) as u32,
            xattrs: if rng.next().is_multiple_of(8) {
                &[("user.x", b"1\n2")]
            } else {
                &[]
            },
            ..Spec::default()
        });
    }
    let mut bytes = tar.finish();
    // Now and then, damage a byte or cut the stream.
    match rng.next() % 10 {
        0 => {
            let i = (rng.next() % bytes.len() as u64) as usize;
            bytes[i] ^= 1 << (rng.next() % 8);
        }
        1 => bytes.truncate((rng.next() % bytes.len() as u64) as usize),
        _ => {}
    }
    bytes
}

#[test]
fn random_hostile_layers_stay_inside_dest() {
    if !is_root() {
        eprintln!("skipping: needs root");
        return;
    }
    let iterations: u64 = std::env::var("BERTH_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let mut applied = 0;
    for seed in 1..=iterations {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let arena = Arena::new();
        let sentinel = arena.sentinel_str();
        let opts = if seed % 2 == 0 {
            UnpackOptions::flattened()
        } else {
            UnpackOptions::default()
        };
        // Two layers into the same directory: the second meets the first one's symlinks.
        for layer in 0..2 {
            let bytes = random_layer(&mut rng, &sentinel);
            let result = std::panic::catch_unwind(|| unpack_layer(&bytes[..], &arena.dest, &opts));
            assert!(result.is_ok(), "seed {seed} layer {layer}: unpack panicked");
            applied += u64::from(matches!(result, Ok(Ok(_))));
            arena.assert_untouched(&format!("seed {seed} layer {layer}: {:?}", result.ok()));
        }
    }
    // The generator must also produce layers that get fully applied, or it tests only refusals.
    assert!(
        applied * 10 > iterations,
        "only {applied} of {} layers applied",
        iterations * 2
    );
}
