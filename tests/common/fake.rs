//! A small hand-written scanner standing in for the real `Detector` until it is merged.
//! It finds EC2 instance IDs (`i-` + 8 or 17 lowercase hex), ARNs (`arn:aws:` up to
//! whitespace or a quote; an ARN encloses any ID in it), bucket names under a bucket key,
//! and 12-digit account IDs under an account key.
#![allow(dead_code)]

// The includer provides `detect` (`aws_masker::detect` or `crate::detect`).
use super::detect::{Finding, KindId, Scan};

pub const EC2: KindId = KindId(0);
pub const ARN: KindId = KindId(1);
pub const BUCKET: KindId = KindId(2);
pub const ACCOUNT: KindId = KindId(3);

/// Searchers are built once: a scanner is called for every string of a body.
#[derive(Clone, Debug)]
pub struct FakeScanner {
    arn: memchr::memmem::Finder<'static>,
    id: memchr::memmem::Finder<'static>,
}

impl Default for FakeScanner {
    fn default() -> Self {
        FakeScanner {
            arn: memchr::memmem::Finder::new(b"arn:aws:"),
            id: memchr::memmem::Finder::new(b"i-"),
        }
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_bucket_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("bucket") || k.ends_with("bucketname") || k.ends_with("bucketnames")
}

fn is_bucket_name(v: &str) -> bool {
    (3..=63).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

fn is_account_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("accountid") || k.ends_with("ownerid")
}

impl Scan for FakeScanner {
    fn scan(&self, text: &str, key: Option<&str>, out: &mut Vec<Finding>) {
        if let Some(key) = key {
            if is_bucket_key(key) && is_bucket_name(text) {
                out.push(Finding {
                    start: 0,
                    end: text.len(),
                    kind: BUCKET,
                });
                return;
            }
            if is_account_key(key) && text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
                out.push(Finding {
                    start: 0,
                    end: text.len(),
                    kind: ACCOUNT,
                });
                return;
            }
        }
        let b = text.as_bytes();
        let first = out.len();
        for at in self.arn.find_iter(b) {
            if at > 0 && is_word(b[at - 1]) {
                continue;
            }
            if out.len() > first && out[out.len() - 1].end > at {
                continue;
            }
            let len = b[at..]
                .iter()
                .take_while(|c| !c.is_ascii_whitespace() && **c != b'"')
                .count();
            out.push(Finding {
                start: at,
                end: at + len,
                kind: ARN,
            });
        }
        let arns = out.len();
        for at in self.id.find_iter(b) {
            if at > 0 && is_word(b[at - 1]) {
                continue;
            }
            let hex = b[at + 2..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
                .count();
            let end = at + 2 + hex;
            if !(hex == 8 || hex == 17)
                || b.get(end)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                continue;
            }
            if out[first..arns].iter().any(|f| f.start <= at && at < f.end) {
                continue;
            }
            out.push(Finding {
                start: at,
                end,
                kind: EC2,
            });
        }
        if arns > first && out.len() > arns {
            out[first..].sort_unstable_by_key(|f| f.start);
        }
    }

    fn label(&self, kind: KindId) -> &str {
        match kind {
            EC2 => "EC2",
            ARN => "ARN",
            BUCKET => "BUCKET",
            ACCOUNT => "ACCOUNT_ID",
            _ => "UNKNOWN",
        }
    }
}
