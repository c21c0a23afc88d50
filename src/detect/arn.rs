//! ARNs of every partition (`arn:aws[a-zA-Z-]*:`), one unit from `arn:` to the end of the
//! resource, with a service-specific kind and the values they reveal (account, bucket, KMS
//! key, ...) learned for their bare occurrences.

use super::bytes::{all, at, before, eq_ic, is_alnum, run, slice};
use super::ids::uuid_end;
use super::keyed::is_bucket_name;
use super::kinds::*;
use super::KindId;

/// What the ARN at some position is.
pub(crate) struct Arn {
    /// Where the scan resumes: the ARN's end, or for one skipped, its resource's start.
    pub end: usize,
    /// `None` for AWS-owned ARNs (account slot `aws`): skipped, never masked.
    pub kind: Option<KindId>,
    /// Values inside the ARN worth masking elsewhere: (start, end, kind).
    pub learned: [Option<(usize, usize, KindId)>; 2],
}

/// Where a resource ends: a quote, whitespace, a JSON escape, a bracket, a query-string `&`
/// or the end.
fn ends_resource(c: u8) -> bool {
    c <= b' '
        || matches!(
            c,
            b'"' | b'\''
                | b'`'
                | b'\\'
                | b'<'
                | b'>'
                | b'{'
                | b'}'
                | b'['
                | b']'
                | b'|'
                | b'&'
                | 0x7f
        )
}

/// Parses the ARN whose `arn:` starts at `a`.
pub(crate) fn arn_at(b: &[u8], a: usize) -> Option<Arn> {
    if !eq_ic(b, a, b"arn:") || is_alnum(before(b, a)) {
        return None;
    }
    let mut p = a + 4;
    let field = |p: usize| run(b, p, |c| is_alnum(c) || c == b'-' || c == b'_' || c == b'.');
    // Policies and templates write slots as a wildcard or a substitution; the ARN is there
    // all the same, and its account and resource with it.
    let slot = |p: usize| {
        template_len(b, p).unwrap_or_else(|| {
            run(b, p, |c| {
                is_alnum(c) || matches!(c, b'-' | b'_' | b'.' | b'*' | b'?')
            })
        })
    };
    let partition = match template_len(b, p) {
        Some(n) => n,
        None if eq_ic(b, p, b"aws") => field(p),
        None => return None,
    };
    if at(b, p + partition) != b':' {
        return None;
    }
    p += partition + 1;
    let service = (p, p + field(p));
    p = service.1;
    if service.0 == service.1 || at(b, p) != b':' {
        return None;
    }
    p += 1;
    let region_len = slot(p);
    p += region_len;
    if at(b, p) != b':' {
        return None;
    }
    p += 1;
    let account = (p, p + slot(p));
    p = account.1;
    if at(b, p) != b':' {
        return account_only(b, account.0);
    }
    p += 1;
    let res_start = p;
    let mut end = p;
    loop {
        end += b
            .get(end..)
            .map_or(0, |s| s.iter().take_while(|c| !ends_resource(**c)).count());
        // A substitution inside the resource (`arn:aws:s3:::${var.bucket}/*`) is part of it.
        match (at(b, end), template_len(b, end.saturating_sub(1))) {
            (b'{', Some(n)) if end > res_start => end = end - 1 + n,
            _ => break,
        }
    }
    // A parenthesis closes the resource only if the resource did not open one.
    if let Some(close) = slice(b, p, end).iter().position(|c| *c == b')') {
        if !slice(b, p, p + close).contains(&b'(') {
            end = p + close;
        }
    }
    // Sentence punctuation right before a space or the end is not part of the ARN.
    while end > res_start
        && matches!(at(b, end - 1), b'.' | b',' | b';' | b':' | b')')
        && ends_resource(at(b, end))
    {
        end -= 1;
    }
    if end == res_start {
        return None;
    }
    let acct = slice(b, account.0, account.1);
    let res = slice(b, res_start, end);
    let concrete_account = acct.len() == 12 && all(acct, |c| c.is_ascii_digit());
    let svc_raw = slice(b, service.0, service.1);
    // S3's resources start with the bucket's name, never a type.
    let s3 = svc_raw
        .get(..2)
        .is_some_and(|h| h.eq_ignore_ascii_case(b"s3"));
    if acct.eq_ignore_ascii_case(b"aws")
        || (!concrete_account && only_wildcards(res, !s3))
        || (acct.is_empty() && public_resource(svc_raw, res))
    {
        // AWS-owned, or a pattern that names nothing of anyone's (`arn:aws:iam::*:role/*`):
        // skipped, never masked. The scan resumes at its resource, so what a list glues to
        // it (`...:lambda:invoke,arn:aws:lambda:...`) is still read.
        return Some(Arn {
            end: res_start,
            kind: None,
            learned: [None, None],
        });
    }
    // Every service this matches is shorter than the buffer; a longer one is none of them.
    let mut lower = [0u8; 24];
    let svc = slice(b, service.0, service.1);
    let svc: &[u8] = match lower.get_mut(..svc.len()) {
        Some(buf) => {
            buf.copy_from_slice(svc);
            buf.make_ascii_lowercase();
            buf
        }
        None => b"",
    };
    let starts = |s: &[u8]| {
        res.len() >= s.len()
            && res
                .get(..s.len())
                .is_some_and(|r| r.eq_ignore_ascii_case(s))
    };
    let kind = match svc {
        b"iam" if starts(b"role/") => ARN_IAM_ROLE,
        b"iam" if starts(b"user/") => ARN_IAM_USER,
        b"sts" => ARN_STS,
        b"s3" | b"s3-object-lambda" | b"s3-outposts" | b"s3express" => ARN_S3,
        b"lambda" => ARN_LAMBDA,
        b"sns" => ARN_SNS,
        b"dynamodb" => ARN_DYNAMODB,
        b"cloudformation" if starts(b"stack/") => ARN_CFN_STACK,
        b"secretsmanager" => ARN_SECRET,
        b"elasticloadbalancing" => ARN_ELB,
        b"ecs" => ARN_ECS,
        b"eks" => ARN_EKS,
        b"acm" => ARN_ACM,
        b"logs" => ARN_LOGS,
        b"ssm" => ARN_SSM,
        b"kms" => ARN_KMS,
        b"rds" => ARN_RDS,
        _ => ARN,
    };
    let mut learned = [None, None];
    if concrete_account {
        learned[0] = Some((account.0, account.1, ACCOUNT));
    }
    learned[1] = inner_value(b, svc, res_start, end, region_len == 0 && acct.is_empty());
    Some(Arn {
        end,
        kind: Some(kind),
        learned,
    })
}

/// An ARN that ends at its account (`arn:aws:iotthingsgraph:us-west-2:123456789012`, the
/// namespace ARN of some services, and `arn:aws:iam::123456789012` written as a principal),
/// whose account starts at `a`: masked whole, the account learned.
fn account_only(b: &[u8], a: usize) -> Option<Arn> {
    let end = a + 12;
    let ok = run(b, a, |c| c.is_ascii_digit()) == 12
        && !is_alnum(at(b, end))
        && !matches!(at(b, end), b':' | b'-' | b'_' | b'/');
    ok.then_some(Arn {
        end,
        kind: Some(ARN),
        learned: [Some((a, end, ACCOUNT)), None],
    })
}

/// True when a resource names nothing but wildcards and substitutions, after a resource type
/// when `typed` (`*`, `role/*`, `key/*`, `log-group:*`, `root`).
fn only_wildcards(res: &[u8], typed: bool) -> bool {
    let mut rest = Vec::with_capacity(res.len());
    let mut i = 0;
    while i < res.len() {
        match template_len(res, i) {
            Some(n) => {
                rest.push(b'*');
                i += n;
            }
            None => {
                rest.push(at(res, i));
                i += 1;
            }
        }
    }
    let segments = rest.split(|c| matches!(c, b'/' | b':')).count();
    rest.split(|c| matches!(c, b'/' | b':'))
        .enumerate()
        .all(|(k, seg)| {
            // A lone segment is a name (`payments-queue`), unless it is `root`.
            let type_word = typed
                && k == 0
                && (segments > 1 || seg == b"root")
                && all(seg, |c| c.is_ascii_lowercase() || c == b'-');
            all(seg, |c| c == b'*' || c == b'?') || type_word
        })
}

/// Public resources AWS owns, written without an account: Bedrock's foundation models, Step
/// Functions' service integrations, the public SSM parameters.
fn public_resource(svc: &[u8], res: &[u8]) -> bool {
    let starts = |s: &[u8]| {
        res.get(..s.len())
            .is_some_and(|r| r.eq_ignore_ascii_case(s))
    };
    (svc.eq_ignore_ascii_case(b"bedrock") && starts(b"foundation-model/"))
        || svc.eq_ignore_ascii_case(b"states")
        || (svc.eq_ignore_ascii_case(b"ssm") && starts(b"parameter/aws/service/"))
}

/// The length of the substitution (`${AWS::Region}`, `${var.region}`) at `p`: `${`, at most
/// 96 bytes without whitespace, quotes or braces, `}`.
fn template_len(b: &[u8], p: usize) -> Option<usize> {
    if slice(b, p, p + 2) != b"${" {
        return None;
    }
    let body = b.get(p + 2..)?;
    let n = body
        .iter()
        .take(96)
        .position(|&c| c == b'}' || c <= b' ' || matches!(c, b'"' | b'\'' | b'{' | b'\\'))?;
    (body.get(n) == Some(&b'}') && n > 0).then_some(n + 3)
}

fn inner_value(
    b: &[u8],
    svc: &[u8],
    start: usize,
    end: usize,
    global: bool,
) -> Option<(usize, usize, KindId)> {
    let res = slice(b, start, end);
    let after = |prefix: &[u8]| {
        let p = start + prefix.len();
        (res.len() > prefix.len() && res.get(..prefix.len()) == Some(prefix)).then_some(p)
    };
    match svc {
        b"s3" if global => {
            let n = res.iter().take_while(|c| **c != b'/').count();
            is_bucket_name(slice(b, start, start + n)).then_some((start, start + n, BUCKET))
        }
        b"kms" => {
            let p = after(b"key/")?;
            let e = uuid_end(b, p)?;
            (e == end).then_some((p, e, KMS_KEY))
        }
        b"cloudfront" => {
            let p = after(b"distribution/")?;
            let n = run(b, p, is_alnum);
            Some((p, p + n, CF_DISTRIBUTION)).filter(|_| n >= 10)
        }
        b"organizations" => {
            // A member account: `account/o-<org>/<account>`.
            let p = after(b"account/")?;
            let a = end
                .checked_sub(12)
                .filter(|a| *a > p && at(b, a - 1) == b'/')?;
            all(slice(b, a, end), |c| c.is_ascii_digit()).then_some((a, end, ACCOUNT))
        }
        b"route53" => {
            // A zone id (`Z` and capitals or digits), not the docs' `hosted zone ID`.
            let p = after(b"hostedzone/")?;
            let n = run(b, p, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
            let ok = n >= 2 && at(b, p) == b'Z' && !is_alnum(at(b, p + n));
            ok.then_some((p, p + n, HOSTED_ZONE))
        }
        _ => None,
    }
}
