//! Table-driven tests: each vector is a text (and optionally a JSON key) with the exact
//! (label, matched text) pairs the detector must report, in order. An empty list is a
//! negative vector.

mod accounts;
mod arns;
mod awscli;
mod config;
mod context;
mod creds;
mod encoding;
mod golden;
mod hosts;
mod ids;
mod ips;
mod negatives;
mod props;

use super::{Detector, DetectorConfig, Finding, Scan};

pub(super) struct V {
    pub text: &'static str,
    pub key: Option<&'static str>,
    pub want: &'static [(&'static str, &'static str)],
}

/// `v!(text => [LABEL: "match", ...])`, or `v!(key = "Key", text => [...])`.
macro_rules! v {
    (key = $key:literal, $text:expr => [$($label:ident : $value:literal),* $(,)?]) => {
        $crate::detect::tests::V { text: $text, key: Some($key), want: &[$((stringify!($label), $value)),*] }
    };
    ($text:expr => [$($label:ident : $value:literal),* $(,)?]) => {
        $crate::detect::tests::V { text: $text, key: None, want: &[$((stringify!($label), $value)),*] }
    };
}
pub(super) use v;

pub(super) fn detector() -> Detector {
    Detector::new(&DetectorConfig::default()).unwrap()
}

/// Scans and checks the invariants every output must satisfy.
pub(super) fn scan_checked<'t>(
    d: &Detector,
    text: &'t str,
    key: Option<&str>,
) -> Vec<(String, &'t str)> {
    let mut out = vec![Finding {
        start: 0,
        end: 0,
        kind: super::KindId(0),
    }];
    d.scan(text, key, &mut out);
    assert_eq!(out.remove(0).end, 0, "scan must append, not overwrite");
    assert_invariants(text, &out);
    out.iter()
        .map(|f| (d.label(f.kind).to_owned(), &text[f.start..f.end]))
        .collect()
}

pub(super) fn assert_invariants(text: &str, out: &[Finding]) {
    for f in out {
        assert!(
            f.start < f.end && f.end <= text.len(),
            "span {f:?} out of bounds in {text:?}"
        );
        assert!(
            text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
            "span {f:?} splits a char"
        );
    }
    for w in out.windows(2) {
        assert!(
            w[0].end <= w[1].start,
            "overlap or disorder: {:?} then {:?} in {text:?}",
            w[0],
            w[1]
        );
    }
}

/// Runs every vector and reports all mismatches at once.
pub(super) fn check(vectors: &[V]) {
    check_with(&detector(), vectors);
}

pub(super) fn check_with(d: &Detector, vectors: &[V]) {
    let mut failures = Vec::new();
    for v in vectors {
        let got = scan_checked(d, v.text, v.key);
        let got: Vec<(&str, &str)> = got.iter().map(|(l, s)| (l.as_str(), *s)).collect();
        if got != v.want {
            failures.push(format!(
                "text {:?} key {:?}\n   want {:?}\n    got {:?}",
                v.text, v.key, v.want, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}
