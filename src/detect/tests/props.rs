//! Properties over random texts mixing identifiers and noise: output sorted, non-overlapping,
//! in bounds, on char boundaries; every shape identifier inserted is covered.

use proptest::prelude::*;

use super::{assert_invariants, detector};
use crate::detect::{Finding, Scan};

const IDS: &[&str] = &[
    "i-0b263919b6498b123",
    "vpc-a01106c2",
    "arn:aws:iam::123456789012:role/Admin",
    "10.0.1.17",
    "203.0.113.12",
    "AKIAIOSFODNN7EXAMPLE",
    "ip-10-0-1-17.ec2.internal",
    "s3://amzn-s3-demo-bucket/k",
    "2001:db8:1234:1a00::",
    "tgw-attach-4455667788aabbccd",
    "mydb.cx1llnox7iyx.us-west-2.rds.amazonaws.com",
    "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FAdmin",
];

const NOISE: &[&str] = &[
    " ",
    "\n",
    "\"",
    ":",
    ",",
    ".",
    "-",
    "/",
    "%",
    "_",
    "=",
    "a",
    "Z",
    "9",
    "é",
    "日本",
    "🙂",
    "::",
    "%3A",
    "us-east-1",
    "AKIA",
    "arn:",
    "s3://",
    "account ",
    "\"AccountId\": ",
    "1234",
    "anti-i-",
    "12:30:45",
    "\\",
];

fn piece() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        (0..IDS.len()).prop_map(|i| (IDS[i].to_owned(), true)),
        (0..NOISE.len()).prop_map(|i| (NOISE[i].to_owned(), false)),
        "[ -~]{0,12}".prop_map(|s| (s, false)),
        any::<char>().prop_map(|c| (c.to_string(), false)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn output_is_well_formed(pieces in proptest::collection::vec(piece(), 0..24)) {
        let text: String = pieces.iter().map(|(s, _)| s.as_str()).collect();
        let mut out = Vec::new();
        detector().scan(&text, None, &mut out);
        assert_invariants(&text, &out);
    }

    #[test]
    fn separated_identifiers_are_covered(pieces in proptest::collection::vec(piece(), 0..16)) {
        // Each identifier is surrounded by spaces, so nothing may hide it.
        let mut text = String::new();
        let mut spans = Vec::new();
        for (s, is_id) in &pieces {
            text.push(' ');
            if *is_id {
                spans.push((text.len(), text.len() + s.len()));
            }
            text.push_str(s);
            text.push(' ');
        }
        let mut out: Vec<Finding> = Vec::new();
        detector().scan(&text, None, &mut out);
        assert_invariants(&text, &out);
        for (s, e) in spans {
            prop_assert!(out.iter().any(|f| f.start <= s && e <= f.end), "{:?} not covered in {:?}", &text[s..e], text);
        }
    }
}

/// Degenerate inputs stay linear: each would take minutes if a matcher rescanned the rest of
/// the text at every anchor.
#[test]
fn degenerate_inputs_stay_fast() {
    let d = detector();
    let unit_texts = [
        "-",
        ":",
        "1:",
        "a-",
        "%41",
        "arn:aws:",
        "i-",
        "--",
        "::",
        "1.",
        "A",
        "AKIA",
        "_1",
        "1_",
        "s3://",
        "/",
        "=",
        "account ",
        "\"AccountId\": ",
        "bucket=",
        "a.amazonaws.com.",
        "0123456789",
        "IQoJb3JpZ2luX2Vj",
        "%25",
    ];
    let start = std::time::Instant::now();
    for unit in unit_texts {
        let text = unit.repeat(200_000 / unit.len());
        let mut out = Vec::new();
        d.scan(&text, None, &mut out);
        assert_invariants(&text, &out);
    }
    let secs = start.elapsed().as_secs_f64();
    assert!(secs < 60.0, "degenerate inputs took {secs:.1} s");
}
