//! Context kinds: values recognised by the key or label in front of them, either the JSON key
//! the JSON walker passes in, or a textual `"Key": value`, `key=value`, `--flag value` or
//! `account 1234...` before the value.

use super::bytes::{
    all, any, at, before, eq_ic, is_alnum, is_base64, normalize_key, run, run_back, slice,
};
use super::ids::uuid_end;
use super::kinds::*;
use super::KindId;

/// What a key says its value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    Account,
    AccessKey,
    Bucket,
    SecretKey,
    SessionToken,
    KmsKey,
    KmsAlias,
    HostedZone,
    Distribution,
    ApiGw,
    OrgRoot,
    OrgPolicy,
    Org,
    Beanstalk,
    HsmCluster,
}

/// How a normalized key (lowercase, no `_` or `-`) selects a rule: it ends with, or is,
/// the text.
#[derive(Clone, Copy)]
enum Match {
    Suffix,
    Exact,
}

type KeyRule = (&'static [u8], Match, Rule);

/// Key rules grouped by their last byte, earlier entries first (`AccountId` is an account,
/// not a KMS `...KeyId`; `SecretAccessKey` is a secret, not an `AccessKey`).
fn rules_ending_in(last: u8) -> &'static [KeyRule] {
    use Match::{Exact, Suffix};
    use Rule::*;
    match last {
        b'd' => &[
            (b"accountid", Suffix, Account),
            (b"ownerid", Suffix, Account),
            (b"registryid", Suffix, Account),
            (b"userid", Exact, Account),
            (b"requesterid", Exact, Account),
            (b"accountidstoadd", Exact, Account),
            // Glue's Data Catalog id, GuardDuty's and Security Hub's administrator account.
            (b"catalogid", Exact, Account),
            (b"administratorid", Exact, Account),
            (b"masterid", Exact, Account),
            (b"accesskeyid", Suffix, AccessKey),
            (b"hostedzoneid", Suffix, HostedZone),
            (b"distributionid", Suffix, Distribution),
            (b"restapiid", Exact, ApiGw),
            (b"apiid", Exact, ApiGw),
            (b"httpapiid", Exact, ApiGw),
            (b"websocketapiid", Exact, ApiGw),
            (b"rootid", Exact, OrgRoot),
            (b"parentid", Exact, OrgRoot),
            (b"targetid", Exact, OrgRoot),
            (b"sourceparentid", Exact, OrgRoot),
            (b"destinationparentid", Exact, OrgRoot),
            (b"policyid", Exact, OrgPolicy),
            (b"organizationid", Exact, Org),
            (b"orgid", Exact, Org),
            (b"environmentid", Suffix, Beanstalk),
            (b"clusterid", Suffix, HsmCluster),
            (b"keyid", Suffix, KmsKey),
        ],
        b's' => &[
            (b"accountids", Suffix, Account),
            (b"accounts", Suffix, Account),
            (b"ownerids", Suffix, Account),
            (b"registryids", Suffix, Account),
            (b"aws", Exact, Account),
            // `describe-images --owners`, Terraform's `owners = [...]` (numbers only).
            (b"owners", Exact, Account),
            // `modify-snapshot-attribute --user-ids`, `UserIds` of launch permissions.
            (b"userids", Exact, Account),
            (b"buckets", Suffix, Bucket),
            (b"clusterids", Suffix, HsmCluster),
            (b"keyids", Suffix, KmsKey),
        ],
        b't' => &[
            (b"account", Suffix, Account),
            (b"bucket", Suffix, Bucket),
            (b"awssecret", Exact, SecretKey),
        ],
        b'r' => &[
            (b"accountnumber", Suffix, Account),
            (b"accountidentifier", Suffix, Account),
            (b"bucketowner", Suffix, Account),
            (b"owner", Exact, Account),
            (b"resourceowner", Exact, Account),
            // `aws:SourceOwner`; Lambda's `Principal` when it is an account (12 digits).
            (b"sourceowner", Exact, Account),
            // `VpcEndpointOwner` (PrivateLink connections).
            (b"endpointowner", Suffix, Account),
        ],
        b'o' => &[(b"accountno", Suffix, Account)],
        b'l' => &[(b"principal", Exact, Account)],
        b'e' => &[
            (b"accountidstoremove", Exact, Account),
            (b"bucketname", Suffix, Bucket),
            (b"aliasname", Suffix, KmsAlias),
        ],
        b'y' => &[
            (b"secretaccesskey", Suffix, SecretKey),
            (b"secretkey", Exact, SecretKey),
            (b"awssecretkey", Exact, SecretKey),
            (b"accesskey", Exact, AccessKey),
            (b"kmskey", Suffix, KmsKey),
        ],
        b'n' => &[
            (b"sessiontoken", Suffix, SessionToken),
            (b"securitytoken", Suffix, SessionToken),
        ],
        _ => &[],
    }
}

/// Classifies a key by its normalized form (lowercase, no `_` or `-`).
pub(crate) fn rule_for_key(key: &[u8]) -> Option<Rule> {
    let last = key
        .iter()
        .rev()
        .find(|c| **c != b'_' && **c != b'-')?
        .to_ascii_lowercase();
    let rules = rules_ending_in(last);
    if rules.is_empty() {
        return None;
    }
    let mut buf = [0u8; 48];
    let n = normalize_key(key, &mut buf);
    let k = buf.get(..n)?;
    // Every rule text has at least three bytes: comparing the last three first turns most
    // keys (`InstanceId`, `VpcId`, ...) away without a slice comparison per rule.
    let tail3 = |s: &[u8]| {
        s.len()
            .checked_sub(3)
            .and_then(|i| s.get(i..))
            .and_then(|t| <[u8; 3]>::try_from(t).ok())
    };
    let key_tail = tail3(k)?;
    rules
        .iter()
        .filter(|(text, _, _)| tail3(text) == Some(key_tail))
        .find(|(text, how, _)| match how {
            Match::Suffix => k.ends_with(text),
            Match::Exact => k == *text,
        })
        .map(|(_, _, rule)| *rule)
}

/// What a JSON key says about the values under it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyInfo {
    /// The rule its value is read with, if the key names a context kind.
    pub rule: Option<Rule>,
    /// The key names a version (`Version`, `EngineVersion`): dotted numbers under it are
    /// versions, not addresses.
    pub version: bool,
}

pub(crate) fn key_info(key: &[u8]) -> KeyInfo {
    KeyInfo {
        rule: rule_for_key(key),
        version: names_a_version(key),
    }
}

/// True when `key` has the word `version` (`EngineVersion`, `app_version`, `VERSION`), not
/// inside another word (`conversion`, `CONVERSION`): at the start, after a byte that is no
/// letter, or capitalized after a lowercase letter.
pub(crate) fn names_a_version(key: &[u8]) -> bool {
    (0..key.len()).any(|i| version_word_at(key, i))
}

/// True when the word `version` starts at `i` (see [`names_a_version`]).
pub(crate) fn version_word_at(b: &[u8], i: usize) -> bool {
    let prev = before(b, i);
    eq_ic(b, i, b"version")
        && (i == 0
            || !prev.is_ascii_alphabetic()
            || (prev.is_ascii_lowercase() && at(b, i) == b'V'))
}

/// Words a key that names a bucket is followed by far more often than by a bucket of that
/// name: literals (`RestrictPublicBuckets: true`) and the names code and templates give
/// variables and placeholders (`Bucket=name`, `buckets: default`). A word taken as a bucket
/// is learned and masked everywhere in the body, so one of these would mask every `true` or
/// `name` of a conversation; and bucket names are global, so one this plain was taken long
/// ago by someone else's account, never the one a company would have to hide.
const NOT_BUCKETS: &[&[u8]] = &[
    b"true",
    b"false",
    b"null",
    b"none",
    b"nil",
    b"undefined",
    b"yes",
    b"off",
    b"default",
    b"name",
    b"names",
    b"bucket",
    b"buckets",
    b"value",
    b"string",
    b"str",
    b"self",
    b"this",
    b"event",
    b"data",
    b"config",
    b"args",
    b"params",
    b"src",
    b"dst",
    b"source",
    b"target",
    b"dest",
    b"destination",
    b"key",
    b"path",
    b"required",
    b"optional",
    b"input",
    b"output",
    b"example",
    b"sample",
    b"test",
    b"temp",
    b"tmp",
    b"env",
    b"type",
    b"object",
    b"enabled",
    b"disabled",
    // Types of a signature (`number_of_buckets: int,`).
    b"int",
    b"bool",
    b"dict",
    b"list",
    b"float",
    b"number",
    b"boolean",
    b"array",
    b"tuple",
    b"set",
    b"any",
    // Words of prose after a flag (`use --s3-bucket with a name`).
    b"with",
    b"next",
    b"then",
    b"that",
    b"the",
    b"and",
    b"for",
    b"from",
    b"into",
    b"your",
    b"their",
    b"which",
    b"where",
    b"when",
    b"use",
    b"using",
    b"see",
    b"was",
    b"are",
    b"not",
];

/// Unquoted values without a `-` that are code, not a name (they would be learned, and
/// masked everywhere in the body): a call or an index (`dict()`, `os.environ['BUCKET']`,
/// `sys.argv[1]`, `response["id"]`), or a reference into a namespace of code or of a
/// template (`var.bucket`, `each.value`, `module.this.id`, `event.bucket`, `args.bucket`).
fn is_code(b: &[u8], v: usize, end: usize) -> bool {
    // A name in code has no `-` (`acme-logs (versioning on)` is a bucket and a remark).
    if any(slice(b, v, end), |c| c == b'-') {
        return false;
    }
    let root = slice(b, v, v + run(b, v, is_alnum));
    matches!(at(b, end), b'(' | b'[')
        || (at(b, v + root.len()) == b'.' && CODE_ROOTS.split(' ').any(|w| w.as_bytes() == root))
}

/// The first names of dotted references in code and templates (Terraform, Python,
/// JavaScript), space-separated; none a word a dotted bucket (a website's host name, as
/// `data.example.com`) would start with.
const CODE_ROOTS: &str = "var local module each count self this os sys args argv event cfg \
    request response resp res req props params context ctx process env settings options opts \
    obj kwargs boto3 bucket buckets";

/// Bucket naming rules (s3ug): 3-63 of `[a-z0-9.-]`, alphanumeric at both ends, no `..`,
/// not an IPv4 address.
pub(crate) fn is_bucket_name(s: &[u8]) -> bool {
    (3..=63).contains(&s.len())
        && all(s, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-'
        })
        && s.first().is_some_and(|c| is_alnum(*c))
        && s.last().is_some_and(|c| is_alnum(*c))
        && !s.windows(2).any(|w| w == b"..")
        && !all(s, |c| c.is_ascii_digit() || c == b'.')
}

/// The value of kind `rule` starting at `v`: its end and kind.
pub(crate) fn value_at(b: &[u8], v: usize, rule: Rule) -> Option<(usize, KindId)> {
    let n = run(b, v, is_alnum);
    let word = slice(b, v, v + n);
    let after = |end: usize| at(b, end);
    let hit = |end: usize, kind: KindId| (!is_alnum(after(end))).then_some((end, kind));
    match rule {
        Rule::Account => account_at(b, v).map(|end| (end, ACCOUNT)),
        Rule::Bucket => {
            let m = run(b, v, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-'
            });
            let end = v + m;
            let next = after(end);
            let name = slice(b, v, end);
            let ok = is_bucket_name(name)
                && !is_alnum(next)
                && !matches!(next, b'_' | b':' | b'/' | b'@')
                && !NOT_BUCKETS.contains(&name);
            ok.then_some((end, BUCKET))
        }
        Rule::AccessKey => {
            // Documentation writes 21-character IDs; a key that says so is enough.
            let ok = (16..=24).contains(&n)
                && all(word, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
            ok.then_some((v + n, ACCESS_KEY))
        }
        Rule::SecretKey => {
            // A key that names a secret: any base64 token of a plausible length (AWS keys
            // have 40; documentation shortens them).
            let m = run(b, v, is_base64);
            let ok = (16..=128).contains(&m) && !is_base64(after(v + m)) && after(v + m) != b'=';
            ok.then_some((v + m, SECRET_KEY))
        }
        Rule::SessionToken => {
            let m = run(b, v, |c| is_base64(c) || c == b'=' || c == b'%');
            (m >= 20).then_some((v + m, SESSION_TOKEN))
        }
        Rule::KmsKey => uuid_end(b, v).and_then(|end| hit(end, KMS_KEY)),
        Rule::KmsAlias => alias_at(b, v).map(|end| (end, KMS_ALIAS)),
        Rule::HostedZone => {
            let ok = at(b, v) == b'Z'
                && (2..=32).contains(&n)
                && all(word, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
            ok.then_some((v + n, HOSTED_ZONE))
        }
        Rule::Distribution => {
            let ok = at(b, v) == b'E'
                && (13..=15).contains(&n)
                && all(word, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
            ok.then_some((v + n, CF_DISTRIBUTION))
        }
        Rule::ApiGw => {
            let ok = (8..=10).contains(&n)
                && all(word, |c| c.is_ascii_lowercase() || c.is_ascii_digit());
            ok.then_some((v + n, APIGW))
                .filter(|(end, _)| after(*end) != b'-')
        }
        // `TargetId` and `ParentId` name a root, an OU (below) or, for a target, an account.
        Rule::OrgRoot if at(b, v).is_ascii_digit() => account_at(b, v).map(|end| (end, ACCOUNT)),
        Rule::OrgRoot => {
            let m = run(b, v + 2, is_alnum);
            let ok = slice(b, v, v + 2) == b"r-"
                && (4..=32).contains(&m)
                && all(slice(b, v + 2, v + 2 + m), |c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit()
                });
            ok.then_some((v + 2 + m, ORG_ROOT))
                .filter(|(end, _)| after(*end) != b'-')
        }
        Rule::OrgPolicy => {
            let m = run(b, v + 2, |c| is_alnum(c) || c == b'_');
            (slice(b, v, v + 2) == b"p-" && (8..=128).contains(&m))
                .then_some((v + 2 + m, ORG_POLICY))
        }
        Rule::Org => {
            let m = run(b, v + 2, is_alnum);
            let ok = slice(b, v, v + 2) == b"o-"
                && (10..=32).contains(&m)
                && all(slice(b, v + 2, v + 2 + m), |c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit()
                });
            ok.then_some((v + 2 + m, ORG))
        }
        Rule::Beanstalk => {
            let m = run(b, v + 2, is_alnum);
            let ok = slice(b, v, v + 2) == b"e-"
                && m == 10
                && all(slice(b, v + 2, v + 12), |c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit()
                });
            ok.then_some((v + 12, BEANSTALK_ENV))
        }
        Rule::HsmCluster => {
            let m = run(b, v + 8, is_alnum);
            let ok = slice(b, v, v + 8) == b"cluster-"
                && (11..=16).contains(&m)
                && all(slice(b, v + 8, v + 8 + m), |c| {
                    c.is_ascii_alphabetic() || (b'2'..=b'7').contains(&c)
                });
            ok.then_some((v + 8 + m, HSM_CLUSTER))
        }
    }
}

/// `alias/<name>` at `v`, not an AWS-managed `alias/aws/...`: its end.
pub(crate) fn alias_at(b: &[u8], v: usize) -> Option<usize> {
    if slice(b, v, v + 6) != b"alias/" {
        return None;
    }
    let m = run(b, v + 6, |c| {
        is_alnum(c) || matches!(c, b':' | b'/' | b'_' | b'-')
    });
    // `alias/aws/<service>` names an AWS managed key, and `alias/aws` the reserved prefix.
    let name = slice(b, v + 6, v + 6 + m);
    let aws = name == b"aws" || name.starts_with(b"aws/");
    (m > 0 && !aws).then_some(v + 6 + m)
}

/// A 12-digit account (or `1234-5678-9012`) at `v` with digit boundaries: its end.
pub(crate) fn account_at(b: &[u8], v: usize) -> Option<usize> {
    if before(b, v).is_ascii_digit() {
        return None;
    }
    let n = run(b, v, |c| c.is_ascii_digit());
    let end = if n == 12 {
        v + 12
    } else if n == 4 && hyphen_form(b, v) {
        v + 14
    } else {
        return None;
    };
    (!is_alnum(at(b, end))).then_some(end)
}

fn hyphen_form(b: &[u8], v: usize) -> bool {
    let digits = |p: usize| run(b, p, |c| c.is_ascii_digit()) == 4;
    digits(v) && at(b, v + 4) == b'-' && digits(v + 5) && at(b, v + 9) == b'-' && digits(v + 10)
}

/// The key or label right before a value starting at `v`: `"Key": `, `key=`, `--flag `,
/// `account ID: `, and as Markdown writes them, `**Account ID:** `, `| Account ID | `,
/// ``account: ` ``, `Account ID - `. Returns the normalized-to-be key bytes' span. At most
/// eight separator bytes.
fn key_before(b: &[u8], v: usize) -> Option<(usize, usize)> {
    let sep = |c: u8| {
        matches!(
            c,
            b' ' | b'\t'
                | b':'
                | b'='
                | b'"'
                | b'\''
                | b'#'
                | b'('
                | b'['
                | b','
                | b'>'
                | b'{'
                | b'*'
                | b'`'
                | b'|'
                | b'-'
        )
    };
    let key_end = run_back(b, v, 8, sep);
    if key_end == v && v != 0 {
        return None;
    }
    let key_start = run_back(b, key_end, 40, |c| is_alnum(c) || c == b'_' || c == b'-');
    (key_start < key_end).then_some((key_start, key_end))
}

/// True when the number at `v` sits in an account context: a key or label naming an account
/// right before it, possibly after other accounts of the same list.
pub(crate) fn account_context(b: &[u8], v: usize) -> bool {
    let mut v = v;
    for _ in 0..8 {
        let Some((ks, ke)) = key_before(b, v) else {
            return false;
        };
        if account_label(b, ks, ke) {
            return true;
        }
        // A list of accounts: the previous item is itself an account.
        let key = slice(b, ks, ke);
        if all(key, |c| c.is_ascii_digit() || c == b'-') && account_at(b, ks).is_some() {
            v = ks;
            continue;
        }
        return false;
    }
    false
}

/// True when the label ending at `ke` names an account: `AccountId`, `aws:SourceAccount`,
/// or `Account ID` / `account number` (the word before `ID`).
fn account_label(b: &[u8], ks: usize, ke: usize) -> bool {
    let key = slice(b, ks, ke);
    if rule_for_key(key) == Some(Rule::Account) {
        return true;
    }
    if key == b"identifiers" {
        // Terraform's `principals { type = "AWS"  identifiers = ["123456789012"] }`.
        return slice(b, ks.saturating_sub(96), ks)
            .windows(5)
            .any(|w| w == b"\"AWS\"");
    }
    let mut buf = [0u8; 48];
    let n = normalize_key(key, &mut buf);
    if !matches!(buf.get(..n), Some(b"id" | b"ids" | b"number" | b"no")) {
        return false;
    }
    key_before(b, ks).is_some_and(|(ps, pe)| {
        let mut joined = slice(b, ps, pe).to_vec();
        joined.extend_from_slice(key);
        rule_for_key(&joined) == Some(Rule::Account)
    })
}

/// Cheap test on the last two bytes of a key: every key [`rule_for_key`] accepts ends in
/// one of these (ASCII case ignored), so most JSON keys are rejected without normalizing.
fn may_be_rule_key(key: &[u8]) -> bool {
    let n = key.len();
    let (Some(a), Some(z)) = (key.get(n.wrapping_sub(2)), key.get(n.wrapping_sub(1))) else {
        return false;
    };
    matches!(
        [a.to_ascii_lowercase(), z.to_ascii_lowercase()],
        [b'i', b'd']
            | [b'd', b's']
            | [b'n', b't']
            | [b't', b's']
            | [b'e', b'r']
            | [b'n', b'o']
            | [b'w', b's']
            | [b'e', b't']
            | [b'm', b'e']
            | [b'e', b'y']
            | [b'e', b'n']
            | [b'r', b's']
            | [b'd', b'd']
            | [b'v', b'e']
            | [b'a', b'l']
    )
}

/// Accounts after an account key: one value, a list (`["111122223333", "444455556666"]`,
/// `1111... 2222...`), or a JSON number that lost its leading zeros.
fn accounts_from(
    b: &[u8],
    v: usize,
    quoted: bool,
    found: &mut Vec<(usize, usize, KindId)>,
) -> usize {
    if !quoted {
        let n = run(b, v, |c| c.is_ascii_digit());
        if (9..12).contains(&n) && !is_alnum(at(b, v + n)) && at(b, v + n) != b'-' {
            found.push((v, v + n, ACCOUNT));
            return v + n;
        }
    }
    let mut p = v;
    let mut end = v;
    while let Some(e) = account_at(b, p) {
        found.push((p, e, ACCOUNT));
        end = e;
        let gap = run(b, e, |c| {
            matches!(c, b'"' | b'\'' | b',' | b' ' | b'\t' | b'\n')
        });
        if gap == 0 || gap > 6 || !at(b, e + gap).is_ascii_digit() {
            break;
        }
        p = e + gap;
    }
    end
}

/// The accounts of a YAML list under an account key whose colon is at `s` and whose line
/// ends at `v`, one item a line (`owners:\n  - 099720109476`, `AWS:\n  - arn:...\n  -
/// '999999999999'`). Returns `s + 1`: the items are scanned as any text is after that (an
/// ARN among them too).
fn yaml_accounts(
    b: &[u8],
    s: usize,
    v: usize,
    found: &mut Vec<(usize, usize, KindId)>,
) -> Option<usize> {
    let ke = key_end(b, s);
    let ks = run_back(b, ke, 40, |c| is_alnum(c) || c == b'_' || c == b'-');
    if ks == ke || is_alnum(before(b, ks)) || !account_label(b, ks, ke) {
        return None;
    }
    let before_items = found.len();
    let mut p = v;
    loop {
        // A line break, an indent, `- `, the item (quoted or not), the end of its line.
        p += usize::from(at(b, p) == b'\r');
        if at(b, p) != b'\n' {
            break;
        }
        let dash = p + 1 + run(b, p + 1, |c| c == b' ').min(PAD);
        if at(b, dash) != b'-' || at(b, dash + 1) != b' ' {
            break;
        }
        let mut item = dash + 2 + run(b, dash + 2, |c| c == b' ').min(PAD);
        let quote = at(b, item);
        let quoted = matches!(quote, b'"' | b'\'');
        item += usize::from(quoted);
        if let Some(e) = account_at(b, item) {
            let close = e + usize::from(quoted && at(b, e) == quote);
            let rest = close + run(b, close, |c| c == b' ' || c == b'\t');
            if (close > e || !quoted) && matches!(at(b, rest), b'\n' | b'\r' | b'#' | 0) {
                found.push((item, e, ACCOUNT));
            }
        }
        p = item + run(b, item, |c| c != b'\n' && c != b'\r');
        // An item that is a key opens a mapping: the list goes on below it, read from its own
        // colon (one walk per list keeps the scan linear).
        if before(b, run_back(b, p, PAD, |c| c == b' ' || c == b'\t')) == b':' {
            break;
        }
    }
    (found.len() > before_items).then_some(s + 1)
}

/// Cheap necessary condition of [`keyed_after_separator`] at `s`: a value starts right after
/// and the key before ends like a key some rule accepts.
#[inline]
pub(crate) fn may_follow_key(b: &[u8], s: usize) -> bool {
    let mut v = s + 1;
    // A YAML list may start with anything after its `- ` ([`yaml_accounts`]).
    if at(b, s) == b':' && matches!(at(b, s + 1 + pad_after(b, s)), b'\n' | b'\r') {
        let ke = key_end(b, s);
        return may_be_rule_key(slice(b, ke.saturating_sub(2), ke));
    }
    // As far as [`keyed_after_separator`] reads: blanks, a `[`, blanks and line ends, a quote
    // (or a YAML list's first `- `).
    while matches!(
        at(b, v),
        b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'[' | b'-'
    ) && v < s + 2 * PAD + 4
    {
        v += 1;
    }
    if !is_alnum(at(b, v)) {
        return false;
    }
    let ke = key_end(b, s);
    may_be_rule_key(slice(b, ke.saturating_sub(2), ke))
}

/// Spaces and tabs read at most between a key and its separator, and between the separator
/// and the value: `terraform fmt`, aligned YAML and INI files pad keys to the longest one.
const PAD: usize = 64;

/// Blanks after the separator at `s`, at most [`PAD`].
fn pad_after(b: &[u8], s: usize) -> usize {
    run(b, s + 1, |c| c == b' ' || c == b'\t').min(PAD)
}

/// Where the key before the separator at `s` ends: before the blanks (at most [`PAD`]), the
/// `]` of a subscript and the closing quote in between (`"Key": `, `key   = `, `"key" :`,
/// `os.environ["AWS_SECRET_ACCESS_KEY"] = `).
fn key_end(b: &[u8], s: usize) -> usize {
    let mut ke = run_back(b, s, PAD, |c| c == b' ' || c == b'\t');
    if before(b, ke) == b']' && matches!(before(b, ke - 1), b'"' | b'\'') {
        ke -= 1;
    }
    if matches!(before(b, ke), b'"' | b'\'') {
        ke - 1
    } else {
        ke
    }
}

/// The values of a textual `key: value` / `key=value` / `--flag value` whose separator is at
/// `s`: pushes (start, end, kind) to `found` and returns the end of the last one.
pub(crate) fn keyed_after_separator(
    b: &[u8],
    s: usize,
    found: &mut Vec<(usize, usize, KindId)>,
) -> Option<usize> {
    let mut v = s + 1 + pad_after(b, s);
    if at(b, s) == b':' && matches!(at(b, v), b'\n' | b'\r') {
        return yaml_accounts(b, s, v, found);
    }
    if at(b, v) == b'[' {
        v += 1;
        v += run(b, v, |c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')).min(PAD);
    }
    let quoted = matches!(at(b, v), b'"' | b'\'');
    if quoted {
        v += 1;
    }
    if !is_alnum(at(b, v)) {
        return None;
    }
    let ke = key_end(b, s);
    if !may_be_rule_key(slice(b, ke.saturating_sub(2), ke)) {
        return None;
    }
    let ks = run_back(b, ke, 40, |c| is_alnum(c) || c == b'_' || c == b'-');
    // `>` separates only an XML element's name from its text (`<ownerId>123456789012<`).
    if ks == ke || is_alnum(before(b, ks)) || (at(b, s) == b'>' && before(b, ks) != b'<') {
        return None;
    }
    if at(b, v).is_ascii_digit() && account_label(b, ks, ke) {
        let end = accounts_from(b, v, quoted, found);
        return (end > v).then_some(end);
    }
    // Bitbucket is no bucket.
    let bitbucket = slice(b, ke.saturating_sub(9), ke).eq_ignore_ascii_case(b"bitbucket");
    let rule = rule_for_key(slice(b, ks, ke)).filter(|_| !bitbucket)?;
    // A Markdown table's cell is a key's value too (`| aws_secret_access_key | wJal... |`),
    // but a pipe also sends a shell variable to a command (`echo $bucket | aws s3 ...`): no
    // bucket is read after one.
    if rule == Rule::Account || (rule == Rule::Bucket && at(b, s) == b'|') {
        return None;
    }
    let (end, kind) = value_at(b, v, rule)?;
    if !quoted && matches!(rule, Rule::Bucket | Rule::ApiGw) && is_code(b, v, end) {
        return None;
    }
    let word = slice(b, v, end);
    // An unquoted word under `apiId` in text is a variable's name more often than one of the
    // ids without a digit (one in 26).
    if rule == Rule::ApiGw && !quoted && !any(word, |c| c.is_ascii_digit()) {
        return None;
    }
    // A plain word padded away from its key is a column of help text
    // (`--source-bucket      where to copy from`), not a bucket.
    let padded = at(b, s + 1) == b' ' && matches!(at(b, s + 2), b' ' | b'\t');
    if rule == Rule::Bucket && !quoted && padded && all(word, |c| c.is_ascii_lowercase()) {
        return None;
    }
    // Code names things `bucket` too (`bucket: usize) ->`, `let bucket = byte / 64;`): a plain
    // word, unquoted, after a variable named `bucket` and before code punctuation, or assigned
    // to it, is code, not a bucket. (A word taken here would be learned, and masked everywhere
    // in the body.) Env files, YAML and the CLI's shorthand (`S3_BUCKET=acmebackups`,
    // `bucket: acmeinvoices`, `S3Object={Bucket=acmephotos,Name=x.jpg}`) still name buckets;
    // the names code gives such variables are no buckets anywhere ([`NOT_BUCKETS`]).
    if rule == Rule::Bucket && !quoted && matches!(slice(b, ks, ke), b"bucket" | b"buckets") {
        let plain = !any(slice(b, v, end), |c| {
            matches!(c, b'-' | b'.') || c.is_ascii_digit()
        });
        let next = at(b, end + run(b, end, |c| c == b' '));
        // An assignment with spaces around `=` is code too (`bucket = value`); env files write
        // `BUCKET=name`, YAML `bucket: name`.
        let assignment = at(b, s) == b'=' && before(b, s) == b' ';
        let code = assignment
            || matches!(
                next,
                b';' | b')'
                    | b'/'
                    | b'*'
                    | b'+'
                    | b'='
                    | b'('
                    | b'['
                    | b'<'
                    | b'>'
                    | b'&'
                    | b'|'
                    | b','
            );
        if plain && code {
            return None;
        }
    }
    found.push((v, end, kind));
    Some(end)
}

/// Accounts after a prose label: `account 123456789012`, `accounts 1111... and 2222...`,
/// `AWS account ID 1234-5678-9012`. `p` is where `ccount` was found.
pub(crate) fn accounts_after_word(b: &[u8], p: usize, found: &mut Vec<(usize, usize, KindId)>) {
    let start = p.saturating_sub(1);
    if !at(b, start).eq_ignore_ascii_case(&b'a') || is_alnum(before(b, start)) {
        return;
    }
    let mut q = p + 6;
    let mut limit = q + 24;
    let mut listing = false;
    while q < limit {
        let c = at(b, q);
        if c.is_ascii_digit() {
            if before(b, q).is_ascii_alphanumeric() {
                return;
            }
            if let Some(e) = account_at(b, q) {
                if listing || account_context(b, q) {
                    found.push((q, e, ACCOUNT));
                    // `1111..., 2222... and 3333...` continue the list.
                    let gap = run(b, e, |c| matches!(c, b' ' | b',' | b';' | b'\'' | b'"'));
                    let word = if eq_ic(b, e + gap, b"and ") {
                        4
                    } else if eq_ic(b, e + gap, b"or ") {
                        3
                    } else {
                        0
                    };
                    q = e + gap + word;
                    q += run(b, q, |c| c == b' ');
                    listing = at(b, q).is_ascii_digit();
                    limit = q + 1;
                    continue;
                }
            }
            return;
        }
        if c == 0 || c == b'\n' || c == b'.' {
            return;
        }
        q += 1;
    }
}

/// True when a number value is an account that lost leading zeros (the JSON walker visits
/// numbers of these lengths).
pub(crate) fn integer_account(s: &[u8]) -> bool {
    crate::json::NUMBER_DIGITS.contains(&s.len()) && all(s, |c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memo_of_key_info_answers_as_key_info_does() {
        let mut keys: Vec<String> = [
            "AccountId",
            "OwnerId",
            "InstanceId",
            "Bucket",
            "bucket_name",
            "EngineVersion",
            "version",
            "SecretAccessKey",
            "aws_secret_access_key",
            "KeyId",
            "",
            "a",
            "Id",
        ]
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
        // Many more distinct keys than slots: collisions must not change an answer.
        keys.extend((0..2000).map(|i| format!("Field{i}AccountId{}", i % 3)));
        keys.extend((0..2000).map(|i| format!("x{i}")));
        keys.push("A".repeat(200) + "AccountId");
        let mut memo = crate::memo::Memo::<super::KeyInfo>::default();
        for round in 0..2 {
            for key in &keys {
                let want = key_info(key.as_bytes());
                let got = memo.get_or_insert_with(key.as_bytes(), || key_info(key.as_bytes()));
                assert_eq!(got, want, "{key} (round {round})");
            }
        }
        assert_eq!(key_info(b"OwnerId").rule, Some(Rule::Account));
        assert!(key_info(b"EngineVersion").version && key_info(b"InstanceId").rule.is_none());
    }
}
