//! Detection of AWS identifiers in text.
//!
//! - [`Detector::new`] compiles a [`DetectorConfig`] once (at `on_configure` time).
//! - [`Detector::scan`] appends to `out` the identifiers found in `text`, as byte spans with a
//!   kind, sorted by `start`, never overlapping: the enclosing identifier wins (an ARN, a
//!   hostname, an ECR URI is one unit) and the longest match wins.
//! - `key` is the JSON object key the text is the value of, when there is one: it enables the
//!   context-only kinds (`"Bucket"`, `"AccountId"`, `"OwnerId"`, ...).
//! - Labels: [`Detector::label`] gives the label of a kind (`EC2`, `ARN_IAM_ROLE`, ...).
//! - A value found in a context (an account in an ARN, a bucket after `s3://`) is also found
//!   where it appears bare in the same text; [`Detector::scan_known`] extends that to every
//!   text scanned with the same [`KnownValues`].
//!
//! No regex runs over the text: one pass over a byte-class table stops only at bytes that
//! can anchor an identifier, and hand-written matchers verify there. Custom patterns are the
//! exception (regex-lite, compiled once). Percent-encoded runs are decoded (twice at most),
//! scanned, and mapped back to the encoded span.
//!
//! Choices worth knowing:
//! - A disabled kind is dropped before overlaps are resolved, so the identifiers inside it
//!   can still be found (an ARN switched off still has its account masked); an allowlisted
//!   value is dropped after, so it shields what it contains.
//! - A partial overlap (rare: a custom pattern across a built-in match) is widened to cover
//!   both, with the longer one's kind, so nothing is left half-masked.
//! - `+` in a percent-encoded run stays `+` (it is base64 in session tokens more often than a
//!   space in the values we look for).
//!
//! ```
//! use aws_masker::detect::{Detector, DetectorConfig, Scan};
//!
//! let detector = Detector::new(&DetectorConfig::default()).unwrap();
//! let text = "instance i-0b263919b6498b123 in arn:aws:iam::123456789012:role/Admin, 10.0.1.17";
//! let mut found = Vec::new();
//! detector.scan(text, None, &mut found);
//! let labels: Vec<&str> = found.iter().map(|f| detector.label(f.kind)).collect();
//! assert_eq!(labels, ["EC2", "ARN_IAM_ROLE", "PRIVATE_IP"]);
//! assert_eq!(&text[found[0].start..found[0].end], "i-0b263919b6498b123");
//! ```

mod arn;
pub(crate) mod bytes;
mod creds;
mod hosts;
mod ids;
mod ip;
mod keyed;
pub(crate) mod kinds;
mod known;

mod scan;
#[cfg(test)]
mod tests;
mod urlenc;

use std::collections::HashSet;

use keyed::KeyInfo;
pub use known::KnownValues;
use scan::Sink;

use crate::json::{decode_text_into, EscapeMap};

/// A kind of identifier, as an index into its [`Detector`]'s label table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindId(pub u16);

/// An identifier found in scanned text: `text[start..end]`, of kind `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    pub kind: KindId,
}

/// A user-defined pattern: `regex` (regex-lite syntax) found anywhere, masked as `kind`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomPattern {
    /// Name for error messages and metrics.
    pub name: String,
    pub regex: String,
    /// Label used in placeholders: `[A-Z][A-Z0-9_]*`.
    pub kind: String,
}

/// What to detect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetectorConfig {
    /// Kind labels switched off.
    pub disabled: Vec<String>,
    /// Exact values never masked.
    pub allowlist: Vec<String>,
    pub custom_patterns: Vec<CustomPattern>,
    /// Mask bare 12-digit numbers outside any account context (opt-in, pitfall 5).
    pub bare_account_ids: bool,
}

/// Anything that finds identifiers in text. The masker is generic over it.
pub trait Scan {
    /// Appends findings in `text` to `out`, sorted by start and non-overlapping.
    fn scan(&self, text: &str, key: Option<&str>, out: &mut Vec<Finding>);
    /// The label of `kind`.
    fn label(&self, kind: KindId) -> &str;
    /// Like [`Scan::scan`] for one of the many texts of a body: values found in a context
    /// are added to `known`, and values already in `known` are found where they appear bare.
    /// Scanners that learn nothing keep this default.
    fn scan_known(
        &self,
        text: &str,
        key: Option<&str>,
        known: &mut KnownValues,
        out: &mut Vec<Finding>,
    ) {
        let _ = known;
        self.scan(text, key, out);
    }

    /// True when [`Scan::scan_known`] would find and learn nothing in `text`, under no key
    /// and with nothing known, decided at a glance; `false` when unsure. The default is
    /// never sure.
    fn nothing_in(&self, text: &str) -> bool {
        let _ = text;
        false
    }
}

/// A configuration the detector cannot run with. Messages name the field and never contain
/// an allowlisted value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DetectError {
    /// A label in `disabled` that no kind has.
    UnknownKind { label: String },
    /// A custom pattern whose regex does not compile.
    InvalidRegex { pattern: String, message: String },
    /// A custom pattern whose regex matches the empty string.
    EmptyMatch { pattern: String },
    /// A custom kind label that is not `[A-Z][A-Z0-9_]*` of at most 32 bytes.
    InvalidKindLabel { pattern: String, label: String },
    /// A custom kind label that is a built-in label.
    BuiltinKindLabel { pattern: String, label: String },
    /// Two custom patterns with the same name.
    DuplicatePattern { pattern: String },
    /// An empty allowlist entry (it would mean nothing, and probably hides a typo).
    EmptyAllowlistEntry { index: usize },
}

impl std::fmt::Display for DetectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetectError::UnknownKind { label } => write!(f, "disabled_kinds: unknown kind label {label:?}"),
            DetectError::InvalidRegex { pattern, message } => {
                write!(f, "custom_patterns: pattern {pattern:?}: invalid regex: {message}")
            }
            DetectError::EmptyMatch { pattern } => {
                write!(f, "custom_patterns: pattern {pattern:?}: regex matches the empty string")
            }
            DetectError::InvalidKindLabel { pattern, label } => write!(
                f,
                "custom_patterns: pattern {pattern:?}: kind {label:?} is not [A-Z][A-Z0-9_]* of at most {} characters",
                crate::placeholder::MAX_LABEL_LEN
            ),
            DetectError::BuiltinKindLabel { pattern, label } => {
                write!(f, "custom_patterns: pattern {pattern:?}: kind {label:?} is a built-in kind")
            }
            DetectError::DuplicatePattern { pattern } => {
                write!(f, "custom_patterns: pattern name {pattern:?} is used twice")
            }
            DetectError::EmptyAllowlistEntry { index } => write!(f, "allowlist: entry {index} is empty"),
        }
    }
}

impl std::error::Error for DetectError {}

/// A compiled [`DetectorConfig`].
#[derive(Clone)]
pub struct Detector {
    labels: Vec<String>,
    enabled: Vec<bool>,
    allowlist: HashSet<String>,
    custom: Vec<(regex_lite::Regex, KindId)>,
    bare_account_ids: bool,
    secrets_near_keys: bool,
    /// `ccount` (of `account` and `Account`), built once: a body has thousands of strings to
    /// search. (`ACCOUNT` is found at its capital, an anchor.)
    account_word: memchr::memmem::Finder<'static>,
}

/// Percent-encoded text decodes at most this many times (`%253A` -> `%3A` -> `:`).
const MAX_URL_DEPTH: u8 = 2;

/// Text that still holds JSON escapes decodes at most this many times (`\\\"` -> `\"` -> `"`).
const MAX_ESCAPE_DEPTH: u8 = 2;

/// True for a key under which a JSON number is read as an account ID: a key the account rule
/// names (`AccountId`, `OwnerId`, `RegistryId`, `ExpectedBucketOwner`, `AWS`, `Owners`), but
/// not the generic `userId`, `owner` and `requesterId`, whose numbers are an application's own
/// far more often.
pub(crate) fn number_key_names_an_account(key: &str) -> bool {
    let k = key.as_bytes();
    if keyed::rule_for_key(k) != Some(keyed::Rule::Account) {
        return false;
    }
    let mut buf = [0u8; 48];
    let n = bytes::normalize_key(k, &mut buf);
    !matches!(buf.get(..n), Some(b"userid" | b"owner" | b"requesterid"))
}

/// True when `b` holds a backslash followed by a byte that starts a JSON escape.
fn has_json_escape(b: &[u8]) -> bool {
    // Most texts have no backslash: a short one is looked at without a searcher's setup.
    if b.len() < scan::SHORT && !b.contains(&b'\\') {
        return false;
    }
    memchr::memchr_iter(b'\\', b).any(|i| {
        matches!(
            b.get(i + 1),
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' | b'u')
        )
    })
}

impl Detector {
    /// Compiles `config`: checks every label, compiles custom patterns once.
    pub fn new(config: &DetectorConfig) -> Result<Detector, DetectError> {
        let mut labels: Vec<String> = kinds::LABELS.iter().map(|l| (*l).to_owned()).collect();
        let mut custom = Vec::new();
        let mut names = HashSet::new();
        for pattern in &config.custom_patterns {
            let name = || pattern.name.clone();
            if !names.insert(pattern.name.as_str()) {
                return Err(DetectError::DuplicatePattern { pattern: name() });
            }
            if !crate::placeholder::is_valid_label(&pattern.kind) {
                return Err(DetectError::InvalidKindLabel {
                    pattern: name(),
                    label: pattern.kind.clone(),
                });
            }
            if kinds::LABELS.contains(&pattern.kind.as_str()) {
                return Err(DetectError::BuiltinKindLabel {
                    pattern: name(),
                    label: pattern.kind.clone(),
                });
            }
            let regex =
                regex_lite::Regex::new(&pattern.regex).map_err(|e| DetectError::InvalidRegex {
                    pattern: name(),
                    message: e.to_string(),
                })?;
            if regex.is_match("") {
                return Err(DetectError::EmptyMatch { pattern: name() });
            }
            let kind = match labels.iter().position(|l| *l == pattern.kind) {
                Some(k) => k,
                None => {
                    labels.push(pattern.kind.clone());
                    labels.len() - 1
                }
            };
            custom.push((regex, KindId(u16::try_from(kind).unwrap_or(u16::MAX))));
        }
        let mut enabled = vec![true; labels.len()];
        for label in &config.disabled {
            match labels.iter().position(|l| l == label) {
                Some(k) => {
                    if let Some(slot) = enabled.get_mut(k) {
                        *slot = false;
                    }
                }
                None => {
                    return Err(DetectError::UnknownKind {
                        label: label.clone(),
                    })
                }
            }
        }
        let mut allowlist = HashSet::new();
        for (index, value) in config.allowlist.iter().enumerate() {
            if value.is_empty() {
                return Err(DetectError::EmptyAllowlistEntry { index });
            }
            allowlist.insert(value.clone());
        }
        Ok(Detector {
            labels,
            enabled,
            allowlist,
            custom,
            bare_account_ids: config.bare_account_ids,
            secrets_near_keys: true,
            account_word: memchr::memmem::Finder::new(b"ccount"),
        })
    }

    /// Labels of every built-in kind, for config validation and docs.
    pub fn builtin_labels() -> &'static [&'static str] {
        kinds::LABELS
    }

    /// The kind with this label (built-in or custom).
    pub fn kind_by_label(&self, label: &str) -> Option<KindId> {
        let k = self.labels.iter().position(|l| l == label)?;
        u16::try_from(k).ok().map(KindId)
    }

    /// Like [`Scan::scan`], and also: values found in a context are added to `known`, and
    /// every value in `known` (from this text or an earlier one) is found where it appears
    /// bare. A value learned in a later text does not reach back into earlier ones: to cover
    /// a whole body, scan it once to learn, then again to find.
    pub fn scan_known(
        &self,
        text: &str,
        key: Option<&str>,
        known: &mut KnownValues,
        out: &mut Vec<Finding>,
    ) {
        let key = key.map(|k| known.key_info(k));
        if (!known.may_fit(text.len()) && self.plainly_clean(text, key))
            || known.known_clean(text, key)
        {
            return;
        }
        self.scan_unknown(text, key, known, out);
    }

    /// [`Detector::scan_known`] of a text not known to be clean (kept out of line: most
    /// texts of a body are known).
    #[inline(never)]
    fn scan_unknown(
        &self,
        text: &str,
        key: Option<KeyInfo>,
        known: &mut KnownValues,
        out: &mut Vec<Finding>,
    ) {
        let (base, known_before) = (out.len(), known.len());
        let mut sink = Sink {
            out,
            learned: Vec::new(),
        };
        self.collect(text, key, &mut sink);
        self.collect_encoded(text, key, 1, &mut sink);
        self.collect_escaped(text, key, 1, &mut sink);
        let Sink { out, learned } = sink;
        // A value inside an allowlisted identifier was shown on purpose: do not learn it.
        let allowed: Vec<(usize, usize)> = if self.allowlist.is_empty() {
            Vec::new()
        } else {
            out.get(base..)
                .unwrap_or(&[])
                .iter()
                .filter(|f| {
                    text.get(f.start..f.end)
                        .is_some_and(|v| self.allowlist.contains(v))
                })
                .map(|f| (f.start, f.end))
                .collect()
        };
        for (s, e, kind) in learned {
            if let Some(value) = text.get(s..e) {
                let inside_allowed = allowed.iter().any(|(a, z)| *a <= s && e <= *z);
                if !self.allowlist.contains(value) && !inside_allowed {
                    known.learn(value, kind);
                }
            }
        }
        known.find_bare(text, out);
        for (regex, kind) in &self.custom {
            for m in regex.find_iter(text) {
                out.push(Finding {
                    start: m.start(),
                    end: m.end(),
                    kind: *kind,
                });
            }
        }
        self.resolve(text, base, out);
        if out.len() == base && known.len() == known_before {
            known.remember_clean(text, key);
        }
    }

    /// Scans every percent-encoded run of `text` decoded, mapping matches back.
    fn collect_encoded(&self, text: &str, key: Option<KeyInfo>, depth: u8, sink: &mut Sink<'_>) {
        let b = text.as_bytes();
        let has_percent = if b.len() < scan::SHORT {
            b.contains(&b'%')
        } else {
            memchr::memchr(b'%', b).is_some()
        };
        if depth > MAX_URL_DEPTH || !has_percent {
            return;
        }
        for run in urlenc::decoded_runs(text) {
            let mut inner = Vec::new();
            let mut inner_sink = Sink {
                out: &mut inner,
                learned: Vec::new(),
            };
            self.collect(&run.text, key, &mut inner_sink);
            self.collect_encoded(&run.text, key, depth + 1, &mut inner_sink);
            let Sink { learned, .. } = inner_sink;
            for f in inner {
                if let Some((s, e)) = run.encoded(f.start, f.end) {
                    sink.out.push(Finding {
                        start: s,
                        end: e,
                        kind: f.kind,
                    });
                }
            }
            for (s, e, kind) in learned {
                if let Some((es, ee)) = run.encoded(s, e) {
                    // Learn the decoded value only when it was written without escapes.
                    if ee - es == e - s {
                        sink.learned.push((es, ee, kind));
                    }
                }
            }
        }
    }

    /// Scans `text` with its JSON escapes decoded, when it still holds some after the decode
    /// its string had (JSON written into a string of a string: a Terraform plan's policy, a
    /// log line's `{\"SecretAccessKey\":...}`, Python's `'line\nAKIA...'`), mapping matches
    /// back: whoever reads it decoded sees `\n` as a line break and `\"` as a quote, so the
    /// identifier after one, or a key in quotes, is there for them.
    fn collect_escaped(&self, text: &str, key: Option<KeyInfo>, depth: u8, sink: &mut Sink<'_>) {
        if depth > MAX_ESCAPE_DEPTH || !has_json_escape(text.as_bytes()) {
            return;
        }
        let (mut decoded, mut map) = (String::new(), EscapeMap::default());
        decode_text_into(text, &mut decoded, &mut map);
        let mut inner = Vec::new();
        let mut inner_sink = Sink {
            out: &mut inner,
            learned: Vec::new(),
        };
        self.collect(&decoded, key, &mut inner_sink);
        self.collect_encoded(&decoded, key, 1, &mut inner_sink);
        self.collect_escaped(&decoded, key, depth + 1, &mut inner_sink);
        let Sink { learned, .. } = inner_sink;
        let len = text.len();
        let raw = |s: usize, e: usize| (map.start(s).min(len), map.end(e).min(len));
        for f in inner {
            let (start, end) = raw(f.start, f.end);
            sink.push(start, end, f.kind);
        }
        for (s, e, kind) in learned {
            let (start, end) = raw(s, e);
            // Learn the value only when it was written without escapes.
            if end - start == e - s {
                sink.learned.push((start, end, kind));
            }
        }
    }

    /// Drops disabled kinds, sorts, merges overlaps (the longer span's kind wins, and a
    /// partial overlap is widened to cover both, so nothing is left half-masked), then drops
    /// allowlisted values.
    fn resolve(&self, text: &str, base: usize, out: &mut Vec<Finding>) {
        // In place, on `out[base..]`: this runs for every text with a candidate.
        let enabled = |f: &Finding| {
            self.enabled
                .get(usize::from(f.kind.0))
                .copied()
                .unwrap_or(false)
                && f.start < f.end
        };
        keep_in_tail(out, base, enabled);
        if let Some(found) = out.get_mut(base..) {
            // Candidates arrive nearly in order: the stable sort is adaptive and runs in
            // about n (and needs no buffer for the few candidates of most texts).
            found.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        }
        let mut kept = base;
        for i in base..out.len() {
            let Some(&f) = out.get(i) else { break };
            match kept
                .checked_sub(1)
                .filter(|&k| k >= base)
                .and_then(|k| out.get_mut(k))
            {
                Some(last) if f.start < last.end => {
                    if f.end > last.end {
                        if f.end - f.start > last.end - last.start {
                            last.kind = f.kind;
                        }
                        last.end = f.end;
                    }
                }
                _ => {
                    if let Some(slot) = out.get_mut(kept) {
                        *slot = f;
                    }
                    kept += 1;
                }
            }
        }
        out.truncate(kept);
        keep_in_tail(out, base, |f| {
            text.is_char_boundary(f.start)
                && text.is_char_boundary(f.end)
                && (self.allowlist.is_empty()
                    || text
                        .get(f.start..f.end)
                        .is_none_or(|v| !self.allowlist.contains(v)))
        });
    }
}

/// Keeps, in order, the findings of `out[base..]` that `keep` accepts.
fn keep_in_tail(out: &mut Vec<Finding>, base: usize, keep: impl Fn(&Finding) -> bool) {
    let mut kept = base;
    for i in base..out.len() {
        let Some(&f) = out.get(i) else { break };
        if keep(&f) {
            if let Some(slot) = out.get_mut(kept) {
                *slot = f;
            }
            kept += 1;
        }
    }
    out.truncate(kept);
}

impl std::fmt::Debug for Detector {
    /// Counts only: allowlisted values may be identifiers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("kinds", &self.labels.len())
            .field("disabled", &self.enabled.iter().filter(|e| !**e).count())
            .field("allowlist", &self.allowlist.len())
            .field("custom_patterns", &self.custom.len())
            .field("bare_account_ids", &self.bare_account_ids)
            .finish()
    }
}

impl Scan for Detector {
    fn scan(&self, text: &str, key: Option<&str>, out: &mut Vec<Finding>) {
        Detector::scan_known(self, text, key, &mut KnownValues::default(), out);
    }

    fn scan_known(
        &self,
        text: &str,
        key: Option<&str>,
        known: &mut KnownValues,
        out: &mut Vec<Finding>,
    ) {
        Detector::scan_known(self, text, key, known, out);
    }

    /// The first test of [`Detector::scan_known`] (short texts without a byte a find
    /// starts at), without the memo.
    #[inline]
    fn nothing_in(&self, text: &str) -> bool {
        self.plainly_clean(text, None)
    }

    fn label(&self, kind: KindId) -> &str {
        self.labels
            .get(usize::from(kind.0))
            .map_or("UNKNOWN", String::as_str)
    }
}
