//! Realism: the AWS CLI's example documentation (`awscli/examples/<service>/*.rst`, from the
//! `awscli` PyPI package). Every strict-shape identifier a reference regex finds there must
//! be covered by a finding, and no finding may be a region, an AZ or a date. Set
//! `AWSCLI_EXAMPLES` to the examples directory; without it the test looks in the usual
//! Python site-packages and fails if it finds nothing, so it cannot pass vacuously.

use std::path::PathBuf;

use regex_lite::Regex;

use super::{assert_invariants, detector};
use crate::detect::bytes::is_region;
use crate::detect::Scan;

const SERVICES: &[&str] = &[
    "ec2",
    "s3",
    "s3api",
    "iam",
    "sts",
    "sqs",
    "ecr",
    "rds",
    "elbv2",
    "kms",
    "route53",
    "lambda",
    "organizations",
    "apigateway",
    "cognito-idp",
    "efs",
    "sns",
    "secretsmanager",
    "cloudformation",
];

fn examples_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("AWSCLI_EXAMPLES") {
        return Some(PathBuf::from(dir));
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import awscli,os;print(os.path.dirname(awscli.__file__))",
        ])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()).join("examples");
    dir.is_dir().then_some(dir)
}

#[test]
fn awscli_examples_are_covered_without_false_positives() {
    let Some(dir) = examples_dir() else {
        eprintln!(
            "awscli examples not found (pip install awscli, or set AWSCLI_EXAMPLES): skipped"
        );
        return;
    };
    let must_cover = [
        Regex::new(r"\b(?:i|vpc|subnet|sg|ami|vol|snap|eni|igw|rtb|acl|nat|pcx|eipalloc|vpce|tgw|lt|fs)-[0-9a-f]{17}\b").unwrap(),
        Regex::new(r"\barn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12}):").unwrap(),
        Regex::new(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b").unwrap(),
        Regex::new(r"(?:^|[\s\x22])(10\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})(?:[\s\x22,/]|$)").unwrap(),
        Regex::new(r"\x22(?:OwnerId|AccountId|Account)\x22: \x22([0-9]{12})\x22").unwrap(),
        Regex::new(r"\bs3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:[/\s\x22]|$)").unwrap(),
    ];
    let date = Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}").unwrap();
    let d = detector();
    let (mut files, mut findings, mut checked) = (0, 0, 0);
    let mut failures = Vec::new();
    for service in SERVICES {
        let Ok(entries) = std::fs::read_dir(dir.join(service)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            files += 1;
            let mut out = Vec::new();
            d.scan(&text, None, &mut out);
            assert_invariants(&text, &out);
            findings += out.len();
            for f in &out {
                let s = &text[f.start..f.end];
                let az = s.len() > 1 && is_region(&s.as_bytes()[..s.len() - 1]);
                if is_region(s.as_bytes()) || az || date.is_match(s) {
                    failures.push(format!("{}: false positive {s:?}", entry.path().display()));
                }
            }
            for re in &must_cover {
                for caps in re.captures_iter(&text) {
                    let m = caps.get(1).or_else(|| caps.get(0)).unwrap();
                    checked += 1;
                    if !out.iter().any(|f| f.start <= m.start() && m.end() <= f.end) {
                        failures.push(format!(
                            "{}: {:?} not covered",
                            entry.path().display(),
                            m.as_str()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        files > 500,
        "only {files} example files under {}",
        dir.display()
    );
    eprintln!(
        "awscli examples: {files} files, {findings} findings, {checked} reference matches checked"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
