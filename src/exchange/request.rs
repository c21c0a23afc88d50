//! Request decisions: from headers, then from the body the host hands over.
//!
//! WasmX calls `on_http_request_body` once with the whole body, and not at all for an empty
//! body. Headers cannot always tell whether a body follows (HTTP/2 needs no Content-Length),
//! so a plan that rejects the body blocks at the headers only when a body is announced, and
//! otherwise when the body arrives.

use crate::block::BlockReason;
use crate::config::Mode;

/// How the masker reads the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Text,
}

/// The request headers a plan needs, as raw bytes (untrusted, maybe not UTF-8).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestHeaders<'a> {
    pub content_type: Option<&'a [u8]>,
    /// Content-Type came in more than one line: which one the upstream reads is its choice,
    /// so the body's type is not known.
    pub content_type_repeated: bool,
    /// Every line of a list header joined (see [`super::joined_header`]).
    pub content_encoding: Option<&'a [u8]>,
    pub content_length: Option<&'a [u8]>,
    pub transfer_encoding: Option<&'a [u8]>,
}

/// What to do with a body if one arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyPlan {
    Mask(BodyKind),
    Reject(BlockReason),
}

/// The decision at the request headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadersDecision {
    /// Block now: a body is announced and cannot be masked.
    Block(BlockReason),
    /// Continue, and apply the plan to the body if one arrives.
    Expect(BodyPlan),
}

/// The media type, lowercased, without parameters.
pub(crate) fn media_type(value: &[u8]) -> String {
    let end = value.iter().position(|b| *b == b';').unwrap_or(value.len());
    let essence = value.get(..end).unwrap_or_default();
    String::from_utf8_lossy(essence).trim().to_ascii_lowercase()
}

/// True for a missing, empty or `identity` content-encoding.
pub(crate) fn is_identity(encoding: Option<&[u8]>) -> bool {
    match encoding {
        None => true,
        Some(v) => {
            let v = media_type(v);
            v.is_empty() || v == "identity"
        }
    }
}

/// A Content-Length value; `None` when absent or not a plain decimal number.
pub(crate) fn content_length(value: Option<&[u8]>) -> Option<u64> {
    let text = std::str::from_utf8(value?).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// True when the `charset` parameter of a Content-Type names an encoding whose text is
/// no ASCII superset (UTF-16, UTF-32, UCS-2/4, UTF-7): such a body can be valid UTF-8 (a
/// NUL between letters) and hold identifiers no scan reads, so it is refused.
fn foreign_charset(value: &[u8]) -> bool {
    let params = String::from_utf8_lossy(value).to_ascii_lowercase();
    params.split(';').skip(1).any(|param| {
        let Some((name, charset)) = param.split_once('=') else {
            return false;
        };
        let charset = charset.trim().trim_matches('"');
        let wide = [
            "utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4", "ucs4",
        ];
        name.trim() == "charset"
            && (charset == "unicode"
                || charset == "utf-7"
                || wide.iter().any(|f| charset.starts_with(f)))
    })
}

fn body_kind(content_type: Option<&[u8]>) -> Option<BodyKind> {
    let value = content_type?;
    if foreign_charset(value) {
        return None;
    }
    let media = media_type(value);
    if media == "application/json" || media.ends_with("+json") {
        Some(BodyKind::Json)
    } else if media.starts_with("text/") {
        Some(BodyKind::Text)
    } else {
        None
    }
}

/// Decides from the request headers.
pub fn plan_request(headers: &RequestHeaders<'_>, max_body_bytes: usize) -> HeadersDecision {
    let length = content_length(headers.content_length);
    let announced = length.is_some_and(|n| n > 0) || headers.transfer_encoding.is_some();
    let plan = if !is_identity(headers.content_encoding) {
        BodyPlan::Reject(BlockReason::UnsupportedContentEncoding)
    } else if headers.content_type_repeated {
        BodyPlan::Reject(BlockReason::UnsupportedContentType)
    } else {
        match body_kind(headers.content_type) {
            Some(kind) => BodyPlan::Mask(kind),
            None => BodyPlan::Reject(BlockReason::UnsupportedContentType),
        }
    };
    let too_large = length.is_some_and(|n| usize::try_from(n).map_or(true, |n| n > max_body_bytes));
    match plan {
        BodyPlan::Reject(reason) if announced => HeadersDecision::Block(reason),
        BodyPlan::Mask(_) if too_large => HeadersDecision::Block(BlockReason::BodyTooLarge {
            limit: max_body_bytes,
        }),
        plan => HeadersDecision::Expect(plan),
    }
}

/// Decides on the body WasmX delivered: `body_size` from the callback, `body` from
/// `get_http_request_body(0, body_size)`. A spooled body reads as `None`.
pub fn check_body(
    plan: BodyPlan,
    body_size: usize,
    body: Option<&[u8]>,
    max_body_bytes: usize,
) -> Result<BodyKind, BlockReason> {
    let kind = match plan {
        BodyPlan::Reject(reason) => return Err(reason),
        BodyPlan::Mask(kind) => kind,
    };
    if body_size > max_body_bytes {
        return Err(BlockReason::BodyTooLarge {
            limit: max_body_bytes,
        });
    }
    match body {
        Some(bytes) if bytes.len() == body_size => Ok(kind),
        _ => Err(BlockReason::BodyUnreadable),
    }
}

/// What the glue does with a block decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send the block reply.
    Block(BlockReason),
    /// Detect mode: log the code it would have blocked with, forward unchanged.
    WouldBlock(BlockReason),
}

/// Detect mode never blocks: it reports and forwards.
pub fn verdict(mode: Mode, reason: BlockReason) -> Verdict {
    match mode {
        Mode::Enforce => Verdict::Block(reason),
        Mode::Detect => Verdict::WouldBlock(reason),
    }
}

/// What the glue does next in a request step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Go on (forward what the host has).
    Continue,
    /// Mask the body read in this step as `BodyKind`, then go on.
    Mask(BodyKind),
    /// Send the block reply (then go on: never Pause without a dispatch).
    Block(BlockReason),
    /// Detect mode: report the code, forward unchanged.
    WouldBlock(BlockReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Headers not seen yet.
    Start,
    /// Headers accepted: apply this plan to a body if one arrives.
    Expect(BodyPlan),
    /// Decided: later request callbacks do nothing.
    Settled,
}

/// The per-request state machine: headers, then at most one body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFlow {
    mode: Mode,
    max_body_bytes: usize,
    state: State,
}

impl RequestFlow {
    pub fn new(mode: Mode, max_body_bytes: usize) -> Self {
        RequestFlow {
            mode,
            max_body_bytes,
            state: State::Start,
        }
    }

    fn refuse(&mut self, reason: BlockReason) -> Step {
        self.state = State::Settled;
        match verdict(self.mode, reason) {
            Verdict::Block(r) => Step::Block(r),
            Verdict::WouldBlock(r) => Step::WouldBlock(r),
        }
    }

    /// The request headers arrived.
    pub fn on_headers(&mut self, headers: &RequestHeaders<'_>) -> Step {
        if self.state != State::Start {
            return Step::Continue;
        }
        match plan_request(headers, self.max_body_bytes) {
            HeadersDecision::Block(reason) => self.refuse(reason),
            HeadersDecision::Expect(plan) => {
                self.state = State::Expect(plan);
                Step::Continue
            }
        }
    }

    /// Whether to read the body of `body_size` bytes from the host at all (a body over the
    /// limit is refused unread).
    pub fn wants_body(&self, body_size: usize) -> bool {
        matches!(self.state, State::Expect(BodyPlan::Mask(_))) && body_size <= self.max_body_bytes
    }

    /// The body callback: `body` is what the host returned for the whole body, if read.
    pub fn on_body(&mut self, body_size: usize, end_of_stream: bool, body: Option<&[u8]>) -> Step {
        let plan = match self.state {
            State::Settled => return Step::Continue,
            // A body without a headers step: nothing was checked, so nothing may pass.
            State::Start => return self.refuse(BlockReason::Internal),
            State::Expect(plan) => plan,
        };
        if !end_of_stream {
            // WasmX delivers the whole body at once. A host that streams it would forward
            // this part before it is masked: refuse rather than wait.
            return self.refuse(BlockReason::Internal);
        }
        match check_body(plan, body_size, body, self.max_body_bytes) {
            Ok(kind) => {
                self.state = State::Settled;
                Step::Mask(kind)
            }
            Err(reason) => self.refuse(reason),
        }
    }

    /// Masking failed with `MaskError::code()`.
    pub fn on_mask_error(&mut self, code: &str) -> Step {
        self.refuse(BlockReason::from_mask_code(code, self.max_body_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1000;

    fn headers<'a>(
        ct: Option<&'a str>,
        ce: Option<&'a str>,
        cl: Option<&'a str>,
        te: Option<&'a str>,
    ) -> RequestHeaders<'a> {
        RequestHeaders {
            content_type: ct.map(str::as_bytes),
            content_type_repeated: false,
            content_encoding: ce.map(str::as_bytes),
            content_length: cl.map(str::as_bytes),
            transfer_encoding: te.map(str::as_bytes),
        }
    }

    #[test]
    fn headers_table() {
        use BlockReason::*;
        use HeadersDecision::{Block, Expect};
        let json = Expect(BodyPlan::Mask(BodyKind::Json));
        let text = Expect(BodyPlan::Mask(BodyKind::Text));
        let cases: &[(RequestHeaders<'_>, HeadersDecision)] = &[
            (
                headers(Some("application/json"), None, Some("10"), None),
                json,
            ),
            (
                headers(
                    Some("Application/JSON; charset=utf-8"),
                    None,
                    Some("10"),
                    None,
                ),
                json,
            ),
            (
                headers(
                    Some("application/vnd.api+json"),
                    None,
                    None,
                    Some("chunked"),
                ),
                json,
            ),
            (
                headers(Some("text/plain"), Some("identity"), Some("10"), None),
                text,
            ),
            (
                headers(
                    Some("application/json"),
                    Some(" IDENTITY "),
                    Some("10"),
                    None,
                ),
                json,
            ),
            (
                headers(Some("application/json"), Some("gzip"), Some("10"), None),
                Block(UnsupportedContentEncoding),
            ),
            (
                headers(
                    Some("application/json"),
                    Some("identity, gzip"),
                    None,
                    Some("chunked"),
                ),
                Block(UnsupportedContentEncoding),
            ),
            (
                headers(Some("application/json"), Some("br"), None, None),
                Expect(BodyPlan::Reject(UnsupportedContentEncoding)),
            ),
            (
                headers(Some("application/octet-stream"), None, Some("5"), None),
                Block(UnsupportedContentType),
            ),
            // A body in UTF-16 can be valid UTF-8 (a NUL between letters) that no scan reads.
            (
                headers(Some("text/plain; charset=utf-16le"), None, Some("5"), None),
                Block(UnsupportedContentType),
            ),
            (
                headers(
                    Some("application/json;Charset=\"UTF-32\""),
                    None,
                    Some("5"),
                    None,
                ),
                Block(UnsupportedContentType),
            ),
            (
                headers(
                    Some("text/plain; format=flowed; charset=UCS-2"),
                    None,
                    Some("5"),
                    None,
                ),
                Block(UnsupportedContentType),
            ),
            (
                headers(
                    Some("text/plain; charset=iso-8859-1"),
                    None,
                    Some("5"),
                    None,
                ),
                Expect(BodyPlan::Mask(BodyKind::Text)),
            ),
            (
                RequestHeaders {
                    content_type_repeated: true,
                    ..headers(Some("application/json"), None, Some("5"), None)
                },
                Block(UnsupportedContentType),
            ),
            (
                headers(
                    Some("multipart/form-data; boundary=x"),
                    None,
                    None,
                    Some("chunked"),
                ),
                Block(UnsupportedContentType),
            ),
            (
                headers(None, None, Some("5"), None),
                Block(UnsupportedContentType),
            ),
            // No body announced: a GET without a type goes through; a body would still be checked.
            (
                headers(None, None, None, None),
                Expect(BodyPlan::Reject(UnsupportedContentType)),
            ),
            (
                headers(Some("image/png"), None, Some("0"), None),
                Expect(BodyPlan::Reject(UnsupportedContentType)),
            ),
            (
                headers(Some("application/json"), None, Some("1000"), None),
                json,
            ),
            (
                headers(Some("application/json"), None, Some("1001"), None),
                Block(BodyTooLarge { limit: MAX }),
            ),
            (
                headers(
                    Some("application/json"),
                    None,
                    Some("99999999999999999999999"),
                    None,
                ),
                json,
            ),
            (
                headers(Some("application/json"), None, Some("abc"), None),
                json,
            ),
        ];
        for (h, expected) in cases {
            assert_eq!(plan_request(h, MAX), *expected, "{h:?}");
        }
    }

    #[test]
    fn body_checks() {
        use BlockReason::*;
        let json = BodyPlan::Mask(BodyKind::Json);
        assert_eq!(check_body(json, 3, Some(b"{}x"), MAX), Ok(BodyKind::Json));
        assert_eq!(check_body(json, 3, None, MAX), Err(BodyUnreadable));
        assert_eq!(check_body(json, 3, Some(b"{}"), MAX), Err(BodyUnreadable));
        assert_eq!(
            check_body(json, MAX + 1, None, MAX),
            Err(BodyTooLarge { limit: MAX })
        );
        let reject = BodyPlan::Reject(UnsupportedContentType);
        assert_eq!(
            check_body(reject, 2, Some(b"ab"), MAX),
            Err(UnsupportedContentType)
        );
    }

    #[test]
    fn detect_mode_never_blocks() {
        let r = BlockReason::InvalidJson;
        assert_eq!(verdict(Mode::Enforce, r), Verdict::Block(r));
        assert_eq!(verdict(Mode::Detect, r), Verdict::WouldBlock(r));
    }

    #[test]
    fn helpers() {
        assert_eq!(content_length(Some(b" 42 ")), Some(42));
        assert_eq!(content_length(Some(b"-1")), None);
        assert_eq!(content_length(Some(b"")), None);
        assert_eq!(content_length(None), None);
        assert_eq!(
            media_type(b"Text/Event-Stream ; charset=utf-8"),
            "text/event-stream"
        );
        assert_eq!(media_type(&[0xff, b';']), "\u{fffd}");
        assert!(is_identity(Some(b"")));
        assert!(!is_identity(Some(b"deflate")));
    }

    #[test]
    fn flow_sequences() {
        use BlockReason::*;
        let json = headers(Some("application/json"), None, Some("2"), None);
        // Enforce: headers, then the body is masked once; later calls do nothing.
        let mut f = RequestFlow::new(Mode::Enforce, MAX);
        assert_eq!(f.on_headers(&json), Step::Continue);
        assert!(f.wants_body(2));
        assert_eq!(f.on_body(2, true, Some(b"{}")), Step::Mask(BodyKind::Json));
        assert_eq!(f.on_body(2, true, Some(b"{}")), Step::Continue);
        assert!(!f.wants_body(2));

        // Spooled body.
        let mut f = RequestFlow::new(Mode::Enforce, MAX);
        f.on_headers(&json);
        assert_eq!(f.on_body(900, true, None), Step::Block(BodyUnreadable));
        assert_eq!(f.on_body(900, true, None), Step::Continue);

        // Too large without Content-Length: refused unread.
        let mut f = RequestFlow::new(Mode::Enforce, MAX);
        f.on_headers(&headers(
            Some("application/json"),
            None,
            None,
            Some("chunked"),
        ));
        assert!(!f.wants_body(MAX + 1));
        assert_eq!(
            f.on_body(MAX + 1, true, None),
            Step::Block(BodyTooLarge { limit: MAX })
        );

        // Blocked at the headers: the body step does nothing.
        let mut f = RequestFlow::new(Mode::Enforce, MAX);
        assert_eq!(
            f.on_headers(&headers(
                Some("application/json"),
                Some("gzip"),
                Some("2"),
                None
            )),
            Step::Block(UnsupportedContentEncoding)
        );
        assert_eq!(f.on_body(2, true, Some(b"{}")), Step::Continue);

        // Unsupported type found only when the body arrives (HTTP/2, no length).
        let mut f = RequestFlow::new(Mode::Enforce, MAX);
        assert_eq!(
            f.on_headers(&headers(Some("image/png"), None, None, None)),
            Step::Continue
        );
        assert!(!f.wants_body(3));
        assert_eq!(
            f.on_body(3, true, None),
            Step::Block(UnsupportedContentType)
        );

        // A body without headers, or in pieces, is refused.
        let mut f = RequestFlow::new(Mode::Enforce, MAX);
        assert_eq!(f.on_body(2, true, Some(b"{}")), Step::Block(Internal));
        let mut f = RequestFlow::new(Mode::Enforce, MAX);
        f.on_headers(&json);
        assert_eq!(f.on_body(1, false, Some(b"{")), Step::Block(Internal));

        // Mask errors block with their code.
        let mut f = RequestFlow::new(Mode::Enforce, MAX);
        f.on_headers(&json);
        f.on_body(2, true, Some(b"{}"));
        assert_eq!(f.on_mask_error("invalid_json"), Step::Block(InvalidJson));
    }

    #[test]
    fn flow_in_detect_mode_reports_instead_of_blocking() {
        let mut f = RequestFlow::new(Mode::Detect, MAX);
        assert_eq!(
            f.on_headers(&headers(
                Some("application/json"),
                Some("gzip"),
                Some("2"),
                None
            )),
            Step::WouldBlock(BlockReason::UnsupportedContentEncoding)
        );
        assert_eq!(f.on_body(2, true, Some(b"{}")), Step::Continue);
        let mut f = RequestFlow::new(Mode::Detect, MAX);
        f.on_headers(&headers(Some("application/json"), None, Some("2"), None));
        assert_eq!(f.on_body(2, true, Some(b"{}")), Step::Mask(BodyKind::Json));
        assert_eq!(
            f.on_mask_error("invalid_utf8"),
            Step::WouldBlock(BlockReason::InvalidUtf8)
        );
    }
}
