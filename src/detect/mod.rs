//! Detection of AWS identifiers in text.
//!
//! CONTRACT (fixed; implementation in progress):
//!
//! - [`Detector::new`] compiles a [`DetectorConfig`] once (at `on_configure` time).
//! - [`Detector::scan`] appends to `out` the identifiers found in `text`, as byte spans with a
//!   kind, sorted by `start`, never overlapping: the enclosing identifier wins (an ARN, a
//!   hostname, an ECR URI is one unit) and the longest match wins.
//! - `key` is the JSON object key the text is the value of, when there is one: it enables the
//!   context-only kinds (`"Bucket"`, `"AccountId"`, `"OwnerId"`, ...).
//! - Labels: [`Detector::label`] gives the label of a kind (`EC2`, `ARN_IAM_ROLE`, ...).

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

/// Anything that finds identifiers in text. The JSON walker is generic over it.
pub trait Scan {
    /// Appends findings in `text` to `out`, sorted by start and non-overlapping.
    fn scan(&self, text: &str, key: Option<&str>, out: &mut Vec<Finding>);
    /// The label of `kind`.
    fn label(&self, kind: KindId) -> &str;
}
