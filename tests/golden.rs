//! Golden tests: realistic Messages API request bodies built from AWS CLI example
//! documentation (`tests/fixtures/build_requests.py`), masked and compared byte for byte with
//! `tests/fixtures/requests/<name>.masked.json`. Regenerate those after an intended change
//! with `AWS_MASKER_BLESS=1 cargo test -p aws-masker --test golden` and review the diff.
//!
//! TODO(after merge): these use the fake scanner of `tests/common/fake.rs`; switch
//! `masker()` to the real `Detector` once `src/detect` provides it, extend the `masked`
//! lists (the fake finds only EC2 IDs, ARNs, bucket and account values under their keys)
//! and bless the outputs again.

mod common;

use aws_masker::mask::{BodyFormat, Masked, Masker};
use aws_masker::placeholder::Placeholders;
use common::fake::FakeScanner;
use serde_json::Value;

const SECRET: &[u8] = b"golden-test-secret-of-32-bytes-or-more";

fn masker() -> Masker<FakeScanner> {
    Masker::new(FakeScanner::default(), Placeholders::new(SECRET), 4 << 20)
}

struct Case {
    name: &'static str,
    /// Originals that must be masked (and then never appear in the output).
    masked: &'static [&'static str],
    /// Originals that must be in the mapping (they may also appear where the scanner has
    /// no context for them).
    issued: &'static [&'static str],
    /// Raw `"key": value` members that must pass unchanged (frozen values).
    kept: &'static [&'static str],
    /// Identifiers masked, per label.
    counts: &'static [(&'static str, u32)],
}

const INSTANCE: &str = "i-1234567890abcdef0";
const CALLER_ARN: &str = "arn:aws:iam::123456789012:user/DevAdmin";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/Test-Role";

const CASES: &[Case] = &[
    Case {
        name: "plain",
        masked: &[INSTANCE, CALLER_ARN],
        issued: &[],
        kept: &[
            r#""model":"claude-sonnet-4-5-20250929""#,
            r#""role":"user""#,
        ],
        counts: &[("ARN", 1), ("EC2", 1)],
    },
    Case {
        name: "system_tools",
        masked: &[INSTANCE, ROLE_ARN],
        issued: &[],
        kept: &[
            r#""cache_control": {"type": "ephemeral"}"#,
            r#""tool_choice": {"type": "auto"}"#,
        ],
        counts: &[("ARN", 1), ("EC2", 3)],
    },
    Case {
        name: "tool_result_cli",
        masked: &[
            INSTANCE,
            "arn:aws:iam::111111111111:instance-profile/AmazonSSMRoleForInstancesQuickSetup",
            "amzn-s3-demo-bucket",
        ],
        // Masked under `OwnerId`; the fake does not know `UserIdGroupPairs[].UserId`.
        issued: &["123456789012"],
        kept: &[
            r#""tool_use_id":"toolu_01A09q90qw90lq917835lq9""#,
            r#""id":"toolu_01A09q90qw90lq917835lq9""#,
        ],
        counts: &[("ACCOUNT_ID", 1), ("ARN", 1), ("BUCKET", 1), ("EC2", 3)],
    },
    Case {
        name: "thinking",
        masked: &[INSTANCE, CALLER_ARN],
        issued: &[],
        kept: &[
            r#""thinking":"The user asks about i-1234567890abcdef0 in subnet subnet-04a636d18e83cfacb; role arn:aws:iam::123456789012:user\/DevAdmin.""#,
            r#""signature":"EqQBCkgIARABGAIiQL3sdVmsTh3jSkMyxbQOHs3Ag9kRHVPl4bbjVqA\/JVzn""#,
            r#""data":"EmwKAhgBEgy3va3pzix\/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP""#,
            r#""thinking":{"type":"enabled","budget_tokens":10000}"#,
        ],
        counts: &[("ARN", 1), ("EC2", 2)],
    },
    Case {
        name: "images",
        masked: &[ROLE_ARN],
        issued: &[],
        kept: &[r#""media_type": "image/png""#],
        counts: &[("ARN", 1), ("EC2", 2)],
    },
    Case {
        name: "count_tokens",
        masked: &[ROLE_ARN, CALLER_ARN],
        issued: &[],
        kept: &[r#""model":"claude-sonnet-4-5-20250929""#],
        counts: &[("ARN", 2)],
    },
    Case {
        name: "batches",
        masked: &[INSTANCE, ROLE_ARN],
        issued: &[],
        kept: &[r#""custom_id":"req-2""#],
        counts: &[("ARN", 1), ("EC2", 2)],
    },
];

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/requests")
        .join(name)
}

fn check(case: &Case) -> Result<(), String> {
    let input =
        std::fs::read(fixture(&format!("{}.json", case.name))).map_err(|e| e.to_string())?;
    let Masked {
        body,
        mapping,
        counts,
        ..
    } = masker()
        .mask(&input, BodyFormat::Json)
        .map_err(|e| e.to_string())?;
    let output = body.ok_or("nothing was masked")?;
    let out_text = String::from_utf8(output.clone()).map_err(|e| e.to_string())?;

    // Valid JSON whose restore is the input.
    let in_value: Value = serde_json::from_slice(&input).map_err(|e| e.to_string())?;
    let out_value: Value =
        serde_json::from_slice(&output).map_err(|e| format!("output is not JSON: {e}"))?;
    if common::restore_value(&out_value, &mapping) != in_value {
        return Err("restoring the output does not give the input".into());
    }

    for original in case.masked.iter().chain(case.issued) {
        if mapping.iter().all(|(_, o)| o != *original) {
            return Err(format!("{original} was not masked"));
        }
    }
    // Masked originals are gone outside the frozen members, at every level of decoding.
    let scrubbed = case.kept.iter().fold(out_text.clone(), |text, kept| {
        text.replace(kept, r#""kept":0"#)
    });
    let mut all = vec![scrubbed.clone()];
    common::texts(
        &serde_json::from_str(&scrubbed).map_err(|e| e.to_string())?,
        &mut all,
    );
    for original in case.masked {
        if let Some(t) = all.iter().find(|t| t.contains(original)) {
            return Err(format!("{original} left in {t:.200}"));
        }
    }
    for kept in case.kept {
        if !out_text.contains(kept) {
            return Err(format!("{kept} was changed"));
        }
    }
    let got: Vec<(&str, u32)> = counts.iter().collect();
    if got != case.counts {
        return Err(format!("counts {got:?}, expected {:?}", case.counts));
    }

    let golden = fixture(&format!("{}.masked.json", case.name));
    if std::env::var_os("AWS_MASKER_BLESS").is_some() {
        std::fs::write(&golden, &output).map_err(|e| e.to_string())?;
    }
    let want = std::fs::read(&golden).map_err(|e| format!("{}: {e}", golden.display()))?;
    if want != output {
        return Err(format!("output differs from {}", golden.display()));
    }
    Ok(())
}

#[test]
fn golden_request_bodies() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|case| check(case).err().map(|e| format!("{}: {e}", case.name)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_has_a_case() {
    let dir = std::fs::read_dir(fixture("")).unwrap();
    for entry in dir {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name
            .strip_suffix(".json")
            .filter(|s| !s.ends_with(".masked"))
        {
            assert!(CASES.iter().any(|c| c.name == stem), "no case for {name}");
        }
    }
}
