use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

type Headers = Vec<(Vec<u8>, Vec<u8>)>;

fn request(authority: &str, path: &str) -> Headers {
    [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]
    .into_iter()
    .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
    .collect()
}

fn frame(kind: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    frame_header(&mut out, payload.len(), kind, flags, stream_id);
    out.put(payload);
    out.to_vec()
}

/// What h2 would read: the bytes through a LegacyAuthority, fed in `chunk`-sized pieces.
async fn through(input: &[u8], chunk: usize) -> Vec<u8> {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let mut fixed = LegacyAuthority::new(server);
    let input = input.to_vec();
    let writer = tokio::spawn(async move {
        for piece in input.chunks(chunk) {
            client.write_all(piece).await.expect("write");
        }
    });
    let mut out = Vec::new();
    fixed.read_to_end(&mut out).await.expect("read");
    writer.await.expect("writer");
    out
}

/// The frames of `bytes` after the preface, header blocks joined and decoded by a fresh
/// decoder, as h2's would: (type, flags of the last frame, stream, headers or payload).
fn frames(bytes: &[u8]) -> Vec<(u8, u8, u32, Headers)> {
    assert_eq!(&bytes[..PREFACE.len()], PREFACE);
    let mut rest = &bytes[PREFACE.len()..];
    let mut decoder = loona_hpack::Decoder::new();
    let mut out = Vec::new();
    let mut block: Option<(u8, u32, Vec<u8>)> = None;
    while !rest.is_empty() {
        let len = u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
        let (kind, flags) = (rest[3], rest[4]);
        let id = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
        let payload = &rest[FRAME_HEADER..FRAME_HEADER + len];
        rest = &rest[FRAME_HEADER + len..];
        assert!(len <= MAX_FRAME);
        match kind {
            HEADERS => {
                let (_, fragment) = headers_payload(payload, flags).expect("payload");
                block = Some((flags, id, fragment.to_vec()));
            }
            CONTINUATION => {
                let b = block.as_mut().expect("a HEADERS first");
                b.2.extend_from_slice(payload);
            }
            _ => out.push((kind, flags, id, vec![(Vec::new(), payload.to_vec())])),
        }
        if matches!(kind, HEADERS | CONTINUATION) && flags & END_HEADERS != 0 {
            let (first, id, fragment) = block.take().expect("block");
            let headers = decoder.decode(&fragment).expect("decodes alone");
            out.push((HEADERS, first, id, headers));
        }
    }
    out
}

#[tokio::test]
async fn a_socket_path_authority_becomes_localhost_and_indexed_blocks_stand_alone() {
    let mut encoder = loona_hpack::Encoder::new();
    let mut input = PREFACE.to_vec();
    input.extend(frame(0x4, 0, 0, &[])); // SETTINGS
    let first = request(
        "/run/berth/cri.sock",
        "/runtime.v1alpha2.RuntimeService/Version",
    );
    let block = encoder.encode(first.iter().map(|(n, v)| (&n[..], &v[..])));
    input.extend(frame(HEADERS, END_HEADERS, 1, &block));
    input.extend(frame(0x0, END_STREAM, 1, b"\0\0\0\0\x05hello"));
    // The second refers to what the first added to the client's dynamic table.
    let second = request(
        "/run/berth/cri.sock",
        "/runtime.v1alpha2.RuntimeService/Status",
    );
    let block = encoder.encode(second.iter().map(|(n, v)| (&n[..], &v[..])));
    // `te: trailers` as the first dynamic entry (index 62), which only the first block made.
    assert_eq!(block.last(), Some(&(0x80 | 62)), "{block:?}");
    input.extend(frame(HEADERS, END_HEADERS | END_STREAM, 3, &block));

    for chunk in [1, 7, 4096] {
        let got = frames(&through(&input, chunk).await);
        let fixed = |mut h: Headers| {
            h[3].1 = b"localhost".to_vec();
            h
        };
        assert_eq!(
            got,
            vec![
                (0x4, 0, 0, vec![(Vec::new(), Vec::new())]),
                (HEADERS, END_HEADERS, 1, fixed(first.clone())),
                (
                    0x0,
                    END_STREAM,
                    1,
                    vec![(Vec::new(), b"\0\0\0\0\x05hello".to_vec())]
                ),
                (HEADERS, END_HEADERS | END_STREAM, 3, fixed(second.clone())),
            ],
            "chunk {chunk}"
        );
    }
}

#[tokio::test]
async fn continuations_padding_and_priority_are_kept_apart_and_large_blocks_split() {
    let mut encoder = loona_hpack::Encoder::new();
    let mut headers = request("localhost:10250", "/runtime.v1.RuntimeService/Version");
    headers.push((b"x-big".to_vec(), vec![b'a'; 40_000]));
    let block = encoder.encode(headers.iter().map(|(n, v)| (&n[..], &v[..])));
    let (a, b) = block.split_at(10);
    let mut payload = vec![3u8]; // pad length
    payload.extend([0x80, 0, 0, 1, 16]); // exclusive dependency on 1, weight 16
    payload.extend(a);
    payload.extend([0, 0, 0]);
    let mut input = PREFACE.to_vec();
    input.extend(frame(HEADERS, PADDED | PRIORITY | END_STREAM, 5, &payload));
    input.extend(frame(CONTINUATION, END_HEADERS, 5, b));
    let out = through(&input, 1000).await;
    let got = frames(&out);
    // A valid authority is kept; the block is re-encoded into frames of at most 16 KiB.
    assert_eq!(got, vec![(HEADERS, PRIORITY | END_STREAM, 5, headers)]);
    let first = &out[PREFACE.len()..];
    assert_eq!(&first[FRAME_HEADER..FRAME_HEADER + 5], [0x80, 0, 0, 1, 16]);
}

#[tokio::test]
async fn what_is_not_http2_or_breaks_the_rules_passes_untouched() {
    let http1 = b"GET / HTTP/1.1\r\nHost: /run/berth/cri.sock\r\n\r\n".to_vec();
    assert_eq!(through(&http1, 3).await, http1);
    // DATA between a HEADERS and its CONTINUATION: h2 must see exactly what was sent.
    let mut input = PREFACE.to_vec();
    input.extend(frame(HEADERS, 0, 1, &[0x82]));
    input.extend(frame(0x0, 0, 1, b"x"));
    input.extend(frame(CONTINUATION, END_HEADERS, 1, &[0x84]));
    assert_eq!(through(&input, 5).await, input);
    // A block that does not decode, and a truncated frame at the end.
    let mut input = PREFACE.to_vec();
    input.extend(frame(HEADERS, END_HEADERS, 1, &[0xff, 0xff]));
    input.extend(&frame(0x0, 0, 1, b"abc")[..7]);
    assert_eq!(through(&input, 2).await, input);
}
