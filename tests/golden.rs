//! Golden tests: realistic Messages API request bodies built from AWS CLI example
//! documentation (`tests/fixtures/build_requests.py`), masked and compared byte for byte with
//! `tests/fixtures/requests/<name>.masked.json`. Regenerate those after an intended change
//! with `AWS_MASKER_BLESS=1 cargo test -p aws-masker --test golden` and review the diff.

// Helpers outside `#[test]` functions set up fixtures: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use aws_masker::detect::{Detector, DetectorConfig};
use aws_masker::mask::{BodyFormat, Masked, Masker};
use aws_masker::placeholder::Placeholders;
use serde_json::Value;

const SECRET: &[u8] = b"golden-test-secret-of-32-bytes-or-more";

fn masker() -> Masker {
    let detector = Detector::new(&DetectorConfig::default()).unwrap();
    Masker::new(detector, Placeholders::new(SECRET), 4 << 20)
}

struct Case {
    name: &'static str,
    /// Originals the catalog says must be masked (a value inside an enclosing identifier
    /// that is masked whole, such as the bucket of an `s3://` URI, is listed as its
    /// enclosing identifier).
    masked: &'static [&'static str],
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
        masked: &[INSTANCE, CALLER_ARN, "s3://amzn-s3-demo-bucket/logs"],
        kept: &[
            r#""model":"claude-sonnet-4-5-20250929""#,
            r#""role":"user""#,
        ],
        counts: &[("ARN_IAM_USER", 1), ("EC2", 1), ("S3_URI", 1)],
    },
    Case {
        name: "system_tools",
        masked: &[INSTANCE, ROLE_ARN],
        kept: &[
            r#""cache_control": {"type": "ephemeral"}"#,
            r#""tool_choice": {"type": "auto"}"#,
        ],
        counts: &[("ARN_IAM_ROLE", 1), ("EC2", 3)],
    },
    Case {
        name: "tool_result_cli",
        masked: &[
            INSTANCE,
            "ami-0abcdef1234567890",
            "ip-10-0-0-157.us-east-2.compute.internal",
            "ec2-34-253-223-13.us-east-2.compute.amazonaws.com",
            "subnet-04a636d18e83cfacb",
            "vpc-1234567890abcdef0",
            "arn:aws:iam::111111111111:instance-profile/AmazonSSMRoleForInstancesQuickSetup",
            "amzn-s3-demo-bucket",
            "sg-903004f8",
            "vpc-1a2b3c4d",
            // Under `UserIdGroupPairs[].UserId` and `OwnerId`.
            "123456789012",
            // The office range of an ingress rule (`203.0.113.0/24`).
            "203.0.113.0",
        ],
        kept: &[
            r#""tool_use_id":"toolu_01A09q90qw90lq917835lq9""#,
            r#""id":"toolu_01A09q90qw90lq917835lq9""#,
        ],
        counts: &[
            ("ACCOUNT", 2),
            ("AMI", 1),
            ("ARN", 1),
            ("BUCKET", 1),
            ("EC2", 3),
            ("EC2_HOST", 2),
            ("PUBLIC_IP", 1),
            ("SECURITY_GROUP", 2),
            ("SUBNET", 1),
            ("VPC", 2),
        ],
    },
    Case {
        name: "thinking",
        masked: &[INSTANCE, CALLER_ARN],
        kept: &[
            r#""thinking":"The user asks about i-1234567890abcdef0 in subnet subnet-04a636d18e83cfacb; role arn:aws:iam::123456789012:user\/DevAdmin.""#,
            r#""signature":"EqQBCkgIARABGAIiQL3sdVmsTh3jSkMyxbQOHs3Ag9kRHVPl4bbjVqA\/JVzn""#,
            r#""data":"EmwKAhgBEgy3va3pzix\/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP""#,
            r#""thinking":{"type":"enabled","budget_tokens":10000}"#,
        ],
        counts: &[("ARN_IAM_USER", 1), ("EC2", 2)],
    },
    Case {
        name: "images",
        masked: &[INSTANCE, ROLE_ARN],
        kept: &[r#""media_type": "image/png""#],
        counts: &[("ARN_IAM_ROLE", 1), ("EC2", 2)],
    },
    Case {
        name: "count_tokens",
        // The bucket named in prose ("Bucket of record: ...") has no context the catalog
        // knows; the shortened doc user ID `AIDASAMPLEUSERID` has no IAM ID shape.
        masked: &[ROLE_ARN, CALLER_ARN, "123456789012"],
        kept: &[r#""model":"claude-sonnet-4-5-20250929""#],
        counts: &[("ACCOUNT", 1), ("ARN_IAM_ROLE", 1), ("ARN_IAM_USER", 1)],
    },
    Case {
        name: "batches",
        // `custom_id` is user data: scanned like any other string.
        masked: &[INSTANCE, ROLE_ARN, "AROA1234567890EXAMPLE"],
        kept: &[r#""custom_id":"req-2""#],
        counts: &[("ARN_IAM_ROLE", 1), ("EC2", 2), ("IAM_ID", 1)],
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

    for original in case.masked {
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
    // Every original masked anywhere is gone everywhere (values learned in one string
    // are masked in the others too).
    for original in case
        .masked
        .iter()
        .copied()
        .chain(mapping.iter().map(|(_, o)| o))
    {
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

/// Ordinary text about AWS that holds no identifier: nothing may be masked.
const CLEAN_PROSE: &[&str] = &[
    "Deploy to us-east-1 and eu-west-2 first, then ap-southeast-2, us-gov-west-1 and cn-north-1.",
    "Spread the subnets over us-east-1a, us-east-1b and use1-az4; eu-central-1c is full.",
    "Call ec2.us-east-1.amazonaws.com or sts.amazonaws.com, and s3.dualstack.eu-west-1.amazonaws.com for uploads.",
    "The service principal lambda.amazonaws.com needs ec2:DescribeInstances and s3:GetObject.",
    "We upgraded from version 2.11.0 to v2.15.32 (botocore 1.34.162, Python 3.12.4, node 20.11.1).",
    "The outage lasted from 2024-08-14 09:15:00 to 11:42:37 UTC, i.e. 2h27m, on 14/08/2024.",
    "Request id 5da91650-94b1-11f0-81cf-0a23500e151b; commit 3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39.",
    "The SHA-256 is e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 and the ETag 9b2cf535f27731c974343645a3985328.",
    "Use a multi-az deployment; pinning clients to one zone is an anti-i-pattern, and so is a one-az-only-setup.",
    "An e-commerce front end, a read-only replica, a sub-net of the office, a vpc-like layout, a sg-style rule.",
    "Costs went from $1,234.56 to $2,345.67 (+90%), and p99 latency from 120 ms to 1.8 s at 6 p.m.",
    "The instance type is m5.xlarge, then r6g.2xlarge; t3.micro is enough for the bastion host.",
    "Open port 443 and 8080, set the TTL to 300, and retry 3 times with back-off of 1.5x.",
    "See https://docs.aws.amazon.com/cli/latest/reference/ec2/ and https://aws.amazon.com/blogs/.",
    "The CIDR 0.0.0.0/0 allows everything; the loopback 127.0.0.1 and the link-local 169.254.169.254 are special.",
    "Python 3.11.9 on Amazon Linux 2023.5.20240805; kernel 6.1.102-108.177.amzn2023.x86_64.",
    "Dear team, the migration is done: 42 tables, 1.2 TB, finished at 03:00 on Tuesday.",
    "Error: AccessDenied when calling the PutObject operation: Access Denied (status 403).",
    "arnold and barnaby met the sns team; the i-beam and the x-ray of the e-bike were fine.",
];

#[test]
fn ordinary_text_is_not_masked() {
    let mut messages = Vec::new();
    for (i, text) in CLEAN_PROSE.iter().enumerate() {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        messages.push(serde_json::json!({"role": role, "content": text}));
    }
    // The same sentences as a tool result holding JSON, and as one text body.
    let tool =
        serde_json::json!({"notes": CLEAN_PROSE, "Region": "us-east-1", "Version": "2012-10-17"});
    messages.push(serde_json::json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": tool.to_string()}]}));
    let body = serde_json::json!({"model": "claude-sonnet-4-5-20250929", "max_tokens": 1024,
        "system": "You are an AWS operations assistant.", "messages": messages});
    let masker = masker();
    let json = masker
        .mask(body.to_string().as_bytes(), BodyFormat::Json)
        .unwrap();
    let found: Vec<&str> = json.mapping.iter().map(|(_, o)| o).collect();
    assert!(json.body.is_none(), "masked in JSON: {found:?}");
    let text = CLEAN_PROSE.join("\n");
    let plain = masker.mask(text.as_bytes(), BodyFormat::Text).unwrap();
    let found: Vec<&str> = plain.mapping.iter().map(|(_, o)| o).collect();
    assert!(plain.body.is_none(), "masked in text: {found:?}");
    // Each sentence is also clean on its own (the joined checks would hide which one).
    for sentence in CLEAN_PROSE {
        let m = masker.mask(sentence.as_bytes(), BodyFormat::Text).unwrap();
        let found: Vec<&str> = m.mapping.iter().map(|(_, o)| o).collect();
        assert!(found.is_empty(), "{sentence}: {found:?}");
    }
}
