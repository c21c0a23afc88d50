//! Host names of AWS resources, anchored on the DNS suffix of every partition. A host that
//! carries a customer label (an IP, an ID, a name, an account) is masked whole; a service
//! endpoint (`ec2.us-east-1.amazonaws.com`) is left alone, but its path may carry a bucket
//! (S3 path-style) or an account and queue (SQS).

use super::bytes::{all, any, at, eq_ic, is_alnum, is_region, run, run_back, slice};
use super::keyed::is_bucket_name;
use super::kinds::*;
use super::KindId;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `amazonaws.com` and the other partitions' service suffixes.
    Aws,
    /// `ec2.internal`, `compute.internal`.
    Internal,
    CloudFront,
    /// `on.aws` (Lambda function URLs).
    OnAws,
}

/// Suffixes that follow a `.`, longest first within a first letter.
const SUFFIXES: &[(&[u8], Family)] = &[
    (b"amazonaws.com.cn", Family::Aws),
    (b"amazonaws.com", Family::Aws),
    (b"amazonaws.eu", Family::Aws),
    (b"api.amazonwebservices.com.cn", Family::Aws),
    (b"api.amazonwebservices.eu", Family::Aws),
    (b"api.aws.hci.ic.gov", Family::Aws),
    (b"api.aws.ic.gov", Family::Aws),
    (b"api.aws.scloud", Family::Aws),
    (b"api.cloud-aws.adc-e.uk", Family::Aws),
    (b"api.aws", Family::Aws),
    (b"c2s.ic.gov", Family::Aws),
    (b"csp.hci.ic.gov", Family::Aws),
    (b"cloud.adc-e.uk", Family::Aws),
    (b"cloudfront.net", Family::CloudFront),
    (b"compute.internal", Family::Internal),
    (b"ec2.internal", Family::Internal),
    (b"on.aws", Family::OnAws),
    (b"sc2s.sgov.gov", Family::Aws),
];

fn is_host_byte(c: u8) -> bool {
    is_alnum(c) || c == b'-' || c == b'.'
}

/// A host found at a suffix: span, kind, and a value inside it worth learning.
pub(crate) struct Host {
    pub start: usize,
    pub end: usize,
    /// `None` for a service endpoint (nothing to mask in the host itself).
    pub kind: Option<KindId>,
    pub learned: Option<(usize, usize, KindId)>,
}

/// The host whose DNS suffix starts after the `.` at `dot`.
pub(crate) fn host_at_dot(b: &[u8], dot: usize) -> Option<Host> {
    let first = at(b, dot + 1).to_ascii_lowercase();
    if !matches!(first, b'a' | b'c' | b'e' | b'o' | b's') {
        return None;
    }
    let (suffix, family) = SUFFIXES
        .iter()
        .filter(|(s, _)| s.first() == Some(&first))
        .find(|(s, _)| eq_ic(b, dot + 1, s) && !continues_host(b, dot + 1 + s.len()))?;
    let he = dot + 1 + suffix.len();
    let mut hs = run_back(b, dot, 253, is_host_byte);
    while hs < dot && !is_alnum(at(b, hs)) {
        hs += 1;
    }
    if hs >= dot {
        return None;
    }
    // Lowercase copy and label list on the stack: hosts are compared case-insensitively.
    let mut host = [0u8; 256];
    let raw = slice(b, hs, dot);
    for (slot, c) in host.iter_mut().zip(raw) {
        *slot = c.to_ascii_lowercase();
    }
    let mut labels: [&[u8]; 32] = [&[]; 32];
    let mut count = 0;
    for (slot, label) in labels
        .iter_mut()
        .zip(host.get(..raw.len())?.split(|c| *c == b'.'))
    {
        *slot = label;
        count += 1;
    }
    let labels = labels.get(..count)?;
    let mut found = Host {
        start: hs,
        end: he,
        kind: None,
        learned: None,
    };
    match family {
        Family::Internal => {
            let ok = *suffix == b"ec2.internal"
                || (labels.len() >= 2 && labels.last().is_some_and(|l| is_region(l)));
            found.kind = ok.then_some(EC2_HOST);
        }
        Family::CloudFront => found.kind = Some(CLOUDFRONT_HOST),
        Family::OnAws => {
            found.kind = Some(if labels.contains(&&b"lambda-url"[..]) {
                LAMBDA_URL
            } else {
                AWS_HOST
            });
        }
        Family::Aws => classify_aws(b, labels, &mut found),
    }
    Some(found)
}

/// True when a host continues after `p` (`amazonaws.com.evil.example`, `amazonaws.community`).
fn continues_host(b: &[u8], p: usize) -> bool {
    let c = at(b, p);
    is_alnum(c) || c == b'-' || (c == b'.' && is_alnum(at(b, p + 1)))
}

fn is_s3_label(l: &[u8]) -> bool {
    l == b"s3" || l.starts_with(b"s3-") || l.starts_with(b"s3express-")
}

/// Short region codes of ElastiCache and DAX hosts (`use1`, `apse2`).
fn is_short_region(l: &[u8]) -> bool {
    (4..=6).contains(&l.len())
        && l.last().is_some_and(|c| c.is_ascii_digit())
        && all(l.get(..l.len() - 1).unwrap_or(&[]), |c| {
            c.is_ascii_lowercase()
        })
}

fn is_neutral(l: &[u8]) -> bool {
    is_region(l) || matches!(l, b"dualstack" | b"fips")
}

/// Service principals and public endpoints shaped like a customer's host: S3's principals
/// (`logging.s3.amazonaws.com` names no bucket `logging`), EKS Pod Identity's, the EKS OIDC
/// issuer of a region, SageMaker A2I's runtime.
fn is_public_host(labels: &[&[u8]]) -> bool {
    let neutral_from = |k: usize| {
        labels
            .get(k..)
            .is_some_and(|ls| ls.iter().all(|l| is_neutral(l)))
    };
    match labels {
        [first, second] if *second == b"s3" => matches!(
            *first,
            b"logging" | b"batchoperations" | b"storage-lens" | b"access-grants"
        ),
        [first, second] => *first == b"pods" && *second == b"eks",
        // CloudFormation StackSets' principal in member accounts.
        [b1, b2, b3, b4] if *b1 == b"member" => {
            *b2 == b"org" && *b3 == b"stacksets" && *b4 == b"cloudformation"
        }
        [first, second, ..] => {
            ((*first == b"oidc" && *second == b"eks")
                || (*first == b"a2i-runtime" && *second == b"sagemaker"))
                && neutral_from(2)
        }
        _ => false,
    }
}

fn classify_aws(b: &[u8], labels: &[&[u8]], found: &mut Host) {
    if is_public_host(labels) {
        // An IRSA issuer URL names its cluster: `oidc.eks.<region>.amazonaws.com/id/<ID>`,
        // masked with the host as one unit.
        if labels.first() == Some(&&b"oidc"[..]) && slice(b, found.end, found.end + 4) == b"/id/" {
            let n = run(b, found.end + 4, is_alnum);
            if (16..=64).contains(&n) {
                found.end += 4 + n;
                found.kind = Some(EKS_HOST);
            }
        }
        return;
    }
    let pos = |name: &[u8]| labels.iter().position(|l| *l == name);
    let custom_before = |k: usize| {
        labels
            .get(..k)
            .is_some_and(|ls| ls.iter().any(|l| !is_neutral(l)))
    };
    let first = labels.first().copied().unwrap_or(&[]);
    // EC2 public DNS: ec2-a-b-c-d.compute-1 or ec2-a-b-c-d.<region>.compute.
    if let Some(k) = pos(b"compute-1").or_else(|| pos(b"compute").filter(|k| k + 1 == labels.len()))
    {
        if custom_before(k) {
            found.kind = Some(EC2_HOST);
        }
        return;
    }
    if let Some(k) = labels.iter().position(|l| is_s3_label(l)) {
        if k > 0 {
            found.kind = Some(S3_HOST);
            let bucket_len = labels
                .get(..k)
                .map_or(0, |ls| ls.iter().map(|l| l.len() + 1).sum::<usize>() - 1);
            let bucket = slice(b, found.start, found.start + bucket_len);
            if labels
                .get(k)
                .is_some_and(|l| !l.starts_with(b"s3-accesspoint"))
                && is_bucket_name(bucket)
            {
                found.learned = Some((found.start, found.start + bucket_len, BUCKET));
            }
        } else {
            path_bucket(b, found);
        }
        return;
    }
    if let Some(k) = pos(b"dkr").filter(|k| labels.get(k + 1) == Some(&&b"ecr"[..])) {
        if k > 0 {
            found.kind = Some(ECR_HOST);
            if first.len() == 12 && all(first, |c| c.is_ascii_digit()) {
                found.learned = Some((found.start, found.start + 12, ACCOUNT));
            }
            found.end += image_path(b, found.end);
        }
        return;
    }
    // Service labels, first one first: (label, kind), and the first position of each
    // (found in one pass over the labels).
    const SERVICES: [(&[u8], KindId); 10] = [
        (b"execute-api", APIGW_HOST),
        (b"elb", ELB_HOST),
        (b"rds", RDS_HOST),
        (b"cache", CACHE_HOST),
        (b"redshift", REDSHIFT_HOST),
        (b"redshift-serverless", REDSHIFT_HOST),
        (b"es", OPENSEARCH_HOST),
        (b"aoss", OPENSEARCH_HOST),
        (b"eks", EKS_HOST),
        (b"vpce", VPCE_HOST),
    ];
    let mut first_at = [usize::MAX; SERVICES.len()];
    for (k, label) in labels.iter().enumerate() {
        if let Some(s) = SERVICES.iter().position(|(name, _)| name == label) {
            if let Some(at) = first_at.get_mut(s).filter(|at| **at == usize::MAX) {
                *at = k;
            }
        }
    }
    for (&k, &(_, kind)) in first_at.iter().zip(&SERVICES) {
        if k != usize::MAX && custom_before(k) {
            found.kind = Some(kind);
            if kind == APIGW_HOST && first.len() == 10 {
                found.learned = Some((found.start, found.start + 10, APIGW));
            }
            return;
        }
    }
    let mut custom = labels
        .iter()
        .filter(|l| !is_neutral(l) && !is_short_region(l));
    let first_custom = custom.next();
    let count = usize::from(first_custom.is_some()) + custom.count();
    if count == 1 && first_custom.is_some_and(|l| *l == b"sqs" || *l == b"queue") {
        sqs_path(b, found);
        return;
    }
    let digit_first = first_custom.is_some_and(|l| any(l, |c| c.is_ascii_digit()));
    if count >= 3 || (count == 2 && digit_first) {
        found.kind = Some(AWS_HOST);
    }
}

/// ECR image path after the registry host: `/repo/name:tag` or `@sha256:...`.
fn image_path(b: &[u8], p: usize) -> usize {
    if at(b, p) != b'/' {
        return 0;
    }
    run(b, p, |c| {
        is_alnum(c) || matches!(c, b'/' | b'-' | b'_' | b'.' | b':' | b'@')
    })
}

/// S3 path-style URL: the first path segment after an S3 endpoint is a bucket.
fn path_bucket(b: &[u8], found: &mut Host) {
    let p = found.end + 1;
    if at(b, found.end) != b'/' {
        return;
    }
    let n = run(b, p, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-'
    });
    let next = at(b, p + n);
    // S3's XML namespace (`xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`) names no bucket.
    let namespace = slice(b, p, p + n) == b"doc" && at(b, p + n + 1).is_ascii_digit();
    if is_bucket_name(slice(b, p, p + n)) && !is_alnum(next) && next != b'_' && !namespace {
        found.start = p;
        found.end = p + n;
        found.kind = Some(BUCKET);
        found.learned = Some((p, p + n, BUCKET));
    }
}

/// SQS queue URL: the endpoint followed by `/<account>/<queue>`, masked with the host.
fn sqs_path(b: &[u8], found: &mut Host) {
    let p = found.end;
    if at(b, p) != b'/' {
        return;
    }
    let acct = run(b, p + 1, is_alnum);
    if acct < 8 || at(b, p + 1 + acct) != b'/' {
        return;
    }
    let q = p + 2 + acct;
    let name = run(b, q, |c| is_alnum(c) || c == b'-' || c == b'_' || c == b'.');
    if name == 0 {
        return;
    }
    let account = slice(b, p + 1, p + 1 + acct);
    if account.len() == 12 && all(account, |c| c.is_ascii_digit()) {
        found.learned = Some((p + 1, p + 13, ACCOUNT));
    }
    found.end = q + name;
    found.kind = Some(SQS_URL);
}
