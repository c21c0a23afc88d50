//! Detector configuration: errors, disabled kinds, allowlist, custom patterns, labels.

use super::{check_with, v};
use crate::detect::{CustomPattern, DetectError, Detector, DetectorConfig, KnownValues, Scan};
use crate::placeholder::is_valid_label;

fn with(f: impl FnOnce(&mut DetectorConfig)) -> Result<Detector, DetectError> {
    let mut config = DetectorConfig::default();
    f(&mut config);
    Detector::new(&config)
}

fn pattern(name: &str, regex: &str, kind: &str) -> CustomPattern {
    CustomPattern {
        name: name.into(),
        regex: regex.into(),
        kind: kind.into(),
    }
}

#[test]
fn builtin_labels_are_valid_unique_and_short() {
    let labels = Detector::builtin_labels();
    assert!(labels.len() > 100);
    for l in labels {
        assert!(is_valid_label(l) && l.len() <= 20, "{l}");
    }
    let mut sorted = labels.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), labels.len());
    for legacy in [
        "EC2",
        "EC2_HOST",
        "BUCKET",
        "S3_HOST",
        "S3_URI",
        "ARN_S3",
        "RDS_HOST",
        "ARN_RDS",
        "PRIVATE_IP",
    ] {
        assert!(labels.contains(&legacy), "{legacy}");
    }
    let d = with(|_| {}).unwrap();
    for l in labels {
        let k = d.kind_by_label(l).unwrap();
        assert_eq!(d.label(k), *l);
    }
    assert_eq!(d.kind_by_label("NOPE"), None);
}

#[test]
fn errors_name_the_field() {
    let e = with(|c| c.disabled = vec!["EC3".into()]).unwrap_err();
    assert_eq!(
        e,
        DetectError::UnknownKind {
            label: "EC3".into()
        }
    );
    assert_eq!(e.to_string(), "disabled_kinds: unknown kind label \"EC3\"");

    let e =
        with(|c| c.custom_patterns = vec![pattern("ticket", "TICKET-[0-9", "TICKET")]).unwrap_err();
    assert!(matches!(&e, DetectError::InvalidRegex { pattern, .. } if pattern == "ticket"));
    assert!(
        e.to_string()
            .starts_with("custom_patterns: pattern \"ticket\": invalid regex: "),
        "{e}"
    );

    let e = with(|c| c.custom_patterns = vec![pattern("t", "x", "ticket")]).unwrap_err();
    assert_eq!(
        e,
        DetectError::InvalidKindLabel {
            pattern: "t".into(),
            label: "ticket".into()
        }
    );
    assert!(e.to_string().contains("at most 32 characters"));

    let e = with(|c| c.custom_patterns = vec![pattern("t", "x", "EC2")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "custom_patterns: pattern \"t\": kind \"EC2\" is a built-in kind"
    );

    let e = with(|c| c.custom_patterns = vec![pattern("t", "x", "A"), pattern("t", "y", "B")])
        .unwrap_err();
    assert_eq!(
        e,
        DetectError::DuplicatePattern {
            pattern: "t".into()
        }
    );

    let e = with(|c| c.custom_patterns = vec![pattern("t", "x*", "T")]).unwrap_err();
    assert_eq!(
        e,
        DetectError::EmptyMatch {
            pattern: "t".into()
        }
    );

    let e = with(|c| c.allowlist = vec!["10.0.0.1".into(), String::new()]).unwrap_err();
    assert_eq!(e.to_string(), "allowlist: entry 1 is empty");
}

#[test]
fn disabled_kinds_are_never_reported_but_enclosing_ones_still_cover() {
    let d =
        with(|c| c.disabled = vec!["EC2".into(), "PRIVATE_IP".into(), "ACCOUNT".into()]).unwrap();
    check_with(
        &d,
        &[
            v!("i-0b263919b6498b123 and vpc-a01106c2" => [VPC: "vpc-a01106c2"]),
            v!("10.0.1.17 203.0.113.12" => [PUBLIC_IP: "203.0.113.12"]),
            v!("i-0123456789abcdef.us-west-2.compute.internal" => [EC2_HOST: "i-0123456789abcdef.us-west-2.compute.internal"]),
            v!("arn:aws:iam::123456789012:role/A and 123456789012" => [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/A"]),
            v!("\"AccountId\": \"123456789012\"" => []),
        ],
    );
    // The legacy switch mask_s3_buckets = false.
    let d = with(|c| {
        c.disabled = ["BUCKET", "S3_HOST", "S3_URI", "ARN_S3"]
            .map(String::from)
            .to_vec()
    })
    .unwrap();
    check_with(
        &d,
        &[
            v!("s3://my-bucket/x arn:aws:s3:::my-bucket my-bucket.s3.amazonaws.com \"Bucket\": \"b-1\"" => []),
            v!("arn:aws:s3:us-west-2:123456789012:accesspoint/ap and 123456789012" => [ACCOUNT: "123456789012", ACCOUNT: "123456789012"]),
        ],
    );
}

#[test]
fn allowlist_exact_values() {
    let d = with(|c| {
        c.allowlist = vec![
            "10.0.0.2".into(),
            "123456789012".into(),
            "arn:aws:sns:us-east-1:111122223333:public".into(),
        ]
    })
    .unwrap();
    check_with(
        &d,
        &[
            v!("10.0.0.2 10.0.0.3 10.0.0.22" => [PRIVATE_IP: "10.0.0.3", PRIVATE_IP: "10.0.0.22"]),
            v!("\"AccountId\": \"123456789012\"" => []),
            v!("arn:aws:iam::123456789012:role/x" => [ARN_IAM_ROLE: "arn:aws:iam::123456789012:role/x"]),
            v!("arn:aws:sns:us-east-1:111122223333:public and 111122223333" => []),
            v!("arn:aws:sns:us-east-1:111122223333:private" => [ARN_SNS: "arn:aws:sns:us-east-1:111122223333:private"]),
        ],
    );
}

#[test]
fn custom_patterns_merge_with_the_same_rules() {
    let d = with(|c| {
        c.custom_patterns = vec![
            pattern("ticket", r"TICKET-[0-9]{4}", "TICKET"),
            pattern("ticket-lower", r"ticket-[0-9]{4}", "TICKET"),
            pattern("project", r"prj-[a-z]+", "PROJECT"),
            pattern("overlap", r"vpc-a0", "SHORT"),
        ]
    })
    .unwrap();
    check_with(
        &d,
        &[
            v!("TICKET-1234 and ticket-5678" => [TICKET: "TICKET-1234", TICKET: "ticket-5678"]),
            v!("prj-alpha in vpc-a01106c2" => [PROJECT: "prj-alpha", VPC: "vpc-a01106c2"]),
        ],
    );
    assert_eq!(d.kind_by_label("TICKET"), d.kind_by_label("TICKET"));
    assert!(d.kind_by_label("PROJECT").is_some());
    let d = with(|c| c.disabled = vec!["PROJECT".into()]);
    assert!(d.is_err(), "custom labels unknown when not configured");
    let d = with(|c| {
        c.custom_patterns = vec![pattern("p", r"prj-[a-z]+", "PROJECT")];
        c.disabled = vec!["PROJECT".into()];
    })
    .unwrap();
    check_with(&d, &[v!("prj-alpha" => [])]);
}

#[test]
fn known_values_carry_across_scans() {
    let d = with(|_| {}).unwrap();
    let mut known = KnownValues::default();
    let mut out = Vec::new();
    d.scan_known(
        "arn:aws:iam::123456789012:role/A",
        None,
        &mut known,
        &mut out,
    );
    d.scan_known("s3://raw-data-zone/x", None, &mut known, &mut out);
    assert_eq!(known.len(), 2);
    out.clear();
    let text = "account is 123456789012, bucket raw-data-zone";
    d.scan_known(text, None, &mut known, &mut out);
    let got: Vec<&str> = out.iter().map(|f| &text[f.start..f.end]).collect();
    assert_eq!(got, ["123456789012", "raw-data-zone"]);
    // Without the known values, neither is found.
    out.clear();
    d.scan("bucket raw-data-zone and 123456789012", None, &mut out);
    assert!(out.is_empty());
}

#[test]
fn a_short_text_found_clean_is_scanned_again_once_a_value_is_learned() {
    let d = with(|_| {}).unwrap();
    let mut known = KnownValues::default();
    let mut out = Vec::new();
    let scan = |known: &mut KnownValues, text: &str, key: Option<&str>| {
        let mut out = Vec::new();
        d.scan_known(text, key, known, &mut out);
        out.len()
    };
    // Clean twice (the second answer comes from the memo), and clean under another key too.
    for _ in 0..2 {
        assert_eq!(scan(&mut known, "raw-data-zone", None), 0);
        assert_eq!(scan(&mut known, "123456789012", Some("Note")), 0);
    }
    // The same text under a key that gives it a context is not taken from the memo.
    assert_eq!(scan(&mut known, "123456789012", Some("OwnerId")), 1);
    d.scan_known("s3://raw-data-zone/x", None, &mut known, &mut out);
    for _ in 0..2 {
        assert_eq!(scan(&mut known, "raw-data-zone", None), 1);
        assert_eq!(scan(&mut known, "123456789012", Some("Note")), 1);
    }
}

#[test]
fn debug_output_never_shows_values() {
    let d = with(|c| c.allowlist = vec!["10.9.8.7".into()]).unwrap();
    let mut known = KnownValues::default();
    d.scan_known(
        "arn:aws:iam::123456789012:role/A",
        None,
        &mut known,
        &mut Vec::new(),
    );
    let shown = format!("{d:?} {known:?}");
    assert!(
        !shown.contains("10.9.8.7") && !shown.contains("123456789012"),
        "{shown}"
    );
    assert!(
        shown.contains("allowlist: 1") && shown.contains("len: 1"),
        "{shown}"
    );
}

#[test]
fn texts_are_clean_at_a_glance_only_when_no_pass_could_find_anything() {
    // A custom pattern or bare accounts can match any text: the glance is never enough.
    let plain = with(|_| {}).unwrap();
    let custom = with(|c| c.custom_patterns = vec![pattern("p", "running", "RUN")]).unwrap();
    let bare = with(|c| c.bare_account_ids = true).unwrap();
    assert!(plain.nothing_in("running"));
    assert!(!plain.nothing_in("i-0123456789abcdef0"));
    assert!(!custom.nothing_in("running"));
    assert!(!bare.nothing_in("123456789012"));
    let mut out = Vec::new();
    custom.scan_known("running", None, &mut KnownValues::default(), &mut out);
    assert_eq!(out.len(), 1);
}
