use proptest::prelude::*;

use super::*;
use crate::placeholder::Placeholders;

const ORIGINALS: &[(&str, &str)] = &[
    ("EC2", "i-0b263919b6498b123"),
    ("VPC", "vpc-a01106c2"),
    ("ARN_IAM_ROLE", "arn:aws:iam::123456789012:role/S3Access"),
    ("CUSTOM", "say \"hi\" \\ there\n\ttab\u{1}"),
    ("S3_BUCKET", "bucket-é-😀"),
];

fn setup() -> (Mapping, Vec<(String, String)>) {
    let keys = Placeholders::new(b"0123456789abcdef0123456789abcdef");
    let mut mapping = Mapping::default();
    let pairs = ORIGINALS
        .iter()
        .map(|(label, original)| {
            (
                keys.issue(&mut mapping, label, original),
                (*original).to_owned(),
            )
        })
        .collect();
    (mapping, pairs)
}

fn escaped(original: &str, escape: Escape) -> Vec<u8> {
    let mut out = Vec::new();
    write_escaped(original.as_bytes(), escape, &mut out);
    out
}

fn restore_all(text: &[u8], mapping: &Mapping, escape: Escape) -> (Vec<u8>, RestoreStats) {
    let mut out = Vec::new();
    let mut stats = RestoreStats::default();
    restore_into(text, mapping, escape, &mut out, &mut stats);
    (out, stats)
}

fn stream(chunks: &[&[u8]], mapping: &Mapping, escape: Escape) -> (Vec<u8>, RestoreStats) {
    let mut r = StreamRestorer::new(escape);
    let mut out = Vec::new();
    for c in chunks {
        r.feed(mapping, c, &mut out);
        assert!(r.pending() <= StreamRestorer::holdback_bound(mapping));
    }
    r.finish(mapping, &mut out);
    assert_eq!(r.pending(), 0);
    (out, r.stats())
}

#[test]
fn escape_levels() {
    let (mapping, pairs) = setup();
    let (p, _) = &pairs[3];
    let text = format!("<{p}>");
    let cases: [(Escape, &[u8]); 3] = [
        (Escape::None, b"<say \"hi\" \\ there\n\ttab\x01>"),
        (Escape::Json, br#"<say \"hi\" \\ there\n\ttab\u0001>"#),
        (
            Escape::JsonTimes(2),
            br#"<say \\\"hi\\\" \\\\ there\\n\\ttab\\u0001>"#,
        ),
    ];
    for (escape, want) in cases {
        let (out, stats) = restore_all(text.as_bytes(), &mapping, escape);
        assert_eq!(out, want, "{escape:?}");
        assert_eq!(
            stats,
            RestoreStats {
                restored: 1,
                unknown: 0
            }
        );
    }
    // Escaped once is what serde_json writes; escaped twice decodes twice back to the original.
    let json = serde_json::to_string(ORIGINALS[3].1).unwrap();
    assert_eq!(
        escaped(ORIGINALS[3].1, Escape::Json),
        json.as_bytes()[1..json.len() - 1]
    );
    let twice = format!(
        "\"{}\"",
        String::from_utf8(escaped(ORIGINALS[3].1, Escape::JsonTimes(2))).unwrap()
    );
    let once: String = serde_json::from_str(&twice).unwrap();
    let back: String = serde_json::from_str(&format!("\"{once}\"")).unwrap();
    assert_eq!(back, ORIGINALS[3].1);
}

#[test]
fn json_escaped_any_number_of_times_decodes_back() {
    let original = ORIGINALS[3].1;
    for times in 1..=5u8 {
        let mut text = String::from_utf8(escaped(original, Escape::JsonTimes(times))).unwrap();
        for _ in 0..times {
            text = serde_json::from_str(&format!("\"{text}\"")).unwrap();
        }
        assert_eq!(text, original, "{times}");
    }
    assert_eq!(
        escaped(original, Escape::JsonTimes(0)),
        escaped(original, Escape::Json)
    );
}

#[test]
fn a_document_restores_originals_escaped_for_their_level() {
    let (mapping, pairs) = setup();
    let (p, original) = &pairs[3];
    // A tool result holding JSON whose `out` string holds JSON again: the placeholder is two
    // levels of JSON inside strings deep, and so is its original once restored.
    let deep = serde_json::json!({ "deep": format!("<{p}>") }).to_string();
    let inner = serde_json::json!({ "out": deep, "top": format!("[{p}]") }).to_string();
    let body = serde_json::json!({ "content": [
        { "type": "tool_result", "content": inner },
        { "type": "text", "text": format!("({p})") },
    ]})
    .to_string();
    let mut out = Vec::new();
    let mut stats = RestoreStats::default();
    restore_document(body.as_bytes(), &mapping, &mut out, &mut stats).unwrap();
    assert_eq!(stats.restored, 3);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["content"][1]["text"], format!("({original})"));
    let inner: serde_json::Value =
        serde_json::from_str(v["content"][0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(inner["top"], format!("[{original}]"));
    let deep: serde_json::Value = serde_json::from_str(inner["out"].as_str().unwrap()).unwrap();
    assert_eq!(deep["deep"], format!("<{original}>"));
}

#[test]
fn unknown_placeholders_are_left_and_counted() {
    let (mapping, pairs) = setup();
    let known = &pairs[0].0;
    let text = format!(
        "AWS_EC2_ABCDEFGHIJKLM {known} AWS_REGION AWS_SECRET_ACCESS_KEY AWS_FOO_BAR_234567ABCDEFG. AWS_X_ABCDEFGHIJKL"
    );
    let (out, stats) = restore_all(text.as_bytes(), &mapping, Escape::None);
    let want = text.replace(known.as_str(), ORIGINALS[0].1);
    assert_eq!(out, want.as_bytes());
    assert_eq!(
        stats,
        RestoreStats {
            restored: 1,
            unknown: 2
        }
    );
    // A run longer than any placeholder is not one.
    let long = format!("AWS_{}_ABCDEFGHIJKLM", "A".repeat(40));
    assert_eq!(
        restore_all(long.as_bytes(), &mapping, Escape::None)
            .1
            .unknown,
        0
    );
}

#[test]
fn known_placeholder_inside_a_shaped_run_is_restored() {
    let (mapping, pairs) = setup();
    let p = &pairs[1].0;
    let text = format!("AWS_FOO_{p}");
    let (out, stats) = restore_all(text.as_bytes(), &mapping, Escape::None);
    assert_eq!(out, format!("AWS_FOO_{}", ORIGINALS[1].1).as_bytes());
    assert_eq!(stats.restored, 1);
}

#[test]
fn placeholder_glued_to_words_is_restored() {
    let (mapping, pairs) = setup();
    let p = &pairs[0].0;
    let text = format!("`{p}`,x{p}s AWS_AWS_{p}");
    let o = ORIGINALS[0].1;
    let (out, stats) = restore_all(text.as_bytes(), &mapping, Escape::None);
    assert_eq!(out, format!("`{o}`,x{o}s AWS_AWS_{o}").as_bytes());
    assert_eq!(stats.restored, 3);
}

#[test]
fn holdback_emits_at_once_without_a_prefix() {
    let (mapping, pairs) = setup();
    let mut r = StreamRestorer::new(Escape::None);
    let mut out = Vec::new();
    let plain = b"plain text, no prefix at the end: AWS_ is mid-way.";
    r.feed(&mapping, plain, &mut out);
    assert_eq!(r.pending(), 0);
    assert_eq!(out, plain);
    for (tail, held) in [
        ("x A", 1),
        ("x AW", 2),
        ("x AWS", 3),
        ("x AWS_", 4),
        ("x AWS_EC2_AB", 10),
        ("AWSx", 0),
    ] {
        let mut r = StreamRestorer::new(Escape::None);
        let mut out = Vec::new();
        r.feed(&mapping, tail.as_bytes(), &mut out);
        assert_eq!(r.pending(), held, "{tail}");
        assert_eq!(out.len() + held, tail.len());
    }
    // A known placeholder at the very end is decided only when the run ends.
    let p = &pairs[0].0;
    let mut r = StreamRestorer::new(Escape::None);
    let mut out = Vec::new();
    r.feed(&mapping, p.as_bytes(), &mut out);
    assert_eq!((out.len(), r.pending()), (0, p.len()));
    r.feed(&mapping, b" ", &mut out);
    assert_eq!(out, format!("{} ", ORIGINALS[0].1).as_bytes());
}

#[test]
fn holdback_never_exceeds_the_bound() {
    let (mapping, _) = setup();
    let bound = StreamRestorer::holdback_bound(&mapping);
    let mut r = StreamRestorer::new(Escape::None);
    let mut out = Vec::new();
    let mut fed = 0;
    // An endless run of placeholder bytes fed one byte at a time.
    for b in b"AWS_"
        .iter()
        .chain(b"ABCDEFG_234567".iter().cycle().take(500))
    {
        r.feed(&mapping, &[*b], &mut out);
        fed += 1;
        assert!(r.pending() <= bound, "{} > {bound}", r.pending());
        assert_eq!(out.len() + r.pending(), fed);
    }
    r.finish(&mapping, &mut out);
    assert_eq!(out.len(), fed);
}

#[test]
fn every_single_split_point() {
    let (mapping, pairs) = setup();
    let text = format!(
        "{a}{b} AWS_ZZ_ABCDEFGHIJKLM AWS{c}A\"{d}é{e}AW",
        a = pairs[0].0,
        b = pairs[1].0,
        c = pairs[2].0,
        d = pairs[3].0,
        e = pairs[4].0
    );
    for escape in [Escape::None, Escape::Json, Escape::JsonTimes(2)] {
        let whole = restore_all(text.as_bytes(), &mapping, escape);
        assert_eq!(
            whole.1,
            RestoreStats {
                restored: 5,
                unknown: 1
            }
        );
        for i in 0..=text.len() {
            let (a, b) = text.as_bytes().split_at(i);
            assert_eq!(stream(&[a, b], &mapping, escape), whole, "split at {i}");
        }
        let bytes: Vec<&[u8]> = text.as_bytes().chunks(1).collect();
        assert_eq!(stream(&bytes, &mapping, escape), whole);
    }
}

#[test]
fn empty_mapping_passes_text_through() {
    let mapping = Mapping::default();
    let text = b"AWS_EC2_ABCDEFGHIJKLM and more";
    let (out, stats) = restore_all(text, &mapping, Escape::Json);
    assert_eq!(out, text);
    assert_eq!(stats.unknown, 1);
    assert_eq!(
        stream(&[&text[..10], &text[10..]], &mapping, Escape::Json),
        (out, stats)
    );
}

/// A piece of generated response text: filler, or the placeholder of `ORIGINALS[i]`.
#[derive(Clone, Debug)]
enum Piece {
    Text(String),
    Known(usize),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => "[a-zA-Z0-9 _\"\\\\\né😀]{0,12}|AWS_?|AW|A|AWS_EC2_[A-Z2-7]{0,14}|AWS_[A-Z]{1,3}_[A-Z2-7]{13}"
            .prop_map(Piece::Text),
        2 => (0..ORIGINALS.len()).prop_map(Piece::Known),
    ]
}

fn escape_strategy() -> impl Strategy<Value = Escape> {
    prop_oneof![
        Just(Escape::None),
        Just(Escape::Json),
        Just(Escape::JsonTimes(2))
    ]
}

fn build(pieces: &[Piece], pairs: &[(String, String)], escape: Escape) -> (String, Vec<u8>) {
    let mut masked = String::new();
    let mut want = Vec::new();
    for p in pieces {
        match p {
            Piece::Text(t) => {
                masked.push_str(t);
                want.extend_from_slice(t.as_bytes());
            }
            Piece::Known(i) => {
                masked.push_str(&pairs[*i].0);
                want.extend_from_slice(&escaped(&pairs[*i].1, escape));
            }
        }
    }
    (masked, want)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn stream_equals_whole_for_random_splits(
        pieces in prop::collection::vec(piece(), 0..24),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        escape in escape_strategy(),
    ) {
        let (mapping, pairs) = setup();
        let (masked, want) = build(&pieces, &pairs, escape);
        let whole = restore_all(masked.as_bytes(), &mapping, escape);
        // Filler may itself spell a placeholder only by design of `piece`; the known ones are unique.
        prop_assert_eq!(&whole.0, &want);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(masked.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut at = 0;
        for p in points {
            chunks.push(&masked.as_bytes()[at..p]);
            at = p;
        }
        chunks.push(&masked.as_bytes()[at..]);
        prop_assert_eq!(stream(&chunks, &mapping, escape), whole);
    }

    #[test]
    fn json_escape_matches_serde_json(s in "(?s).{0,40}") {
        let mut out = Vec::new();
        json_escape_into(s.as_bytes(), &mut out);
        let want = serde_json::to_string(&s).unwrap();
        prop_assert_eq!(out.as_slice(), &want.as_bytes()[1..want.len() - 1]);
    }

    #[test]
    fn stream_equals_whole_at_every_single_split(
        pieces in prop::collection::vec(piece(), 0..8),
        escape in escape_strategy(),
    ) {
        let (mapping, pairs) = setup();
        let (masked, want) = build(&pieces, &pairs, escape);
        let whole = restore_all(masked.as_bytes(), &mapping, escape);
        prop_assert_eq!(&whole.0, &want);
        for i in 0..=masked.len() {
            let (a, b) = masked.as_bytes().split_at(i);
            prop_assert_eq!(stream(&[a, b], &mapping, escape), whole.clone());
        }
    }
}
