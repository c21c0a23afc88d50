//! The per-exchange decisions the glue acts on: what to do with a request from its headers
//! and body ([`request`]), and with a response from its headers and chunks ([`response`]).
//!
//! ```
//! use aws_masker::exchange::request::{plan_request, BodyKind, BodyPlan, HeadersDecision, RequestHeaders};
//! use aws_masker::block::BlockReason;
//!
//! let json = RequestHeaders { content_type: Some(b"application/json"), ..Default::default() };
//! assert_eq!(plan_request(&json, 1024), HeadersDecision::Expect(BodyPlan::Mask(BodyKind::Json)));
//!
//! let gzip = RequestHeaders { content_encoding: Some(b"gzip"), content_length: Some(b"10"), ..json };
//! assert_eq!(plan_request(&gzip, 1024), HeadersDecision::Block(BlockReason::UnsupportedContentEncoding));
//! ```

use std::borrow::Cow;

pub mod request;
pub mod response;

/// One header's lines, as the host lists a message's headers (name, value), names in any case.
pub fn header_lines<'h>(
    headers: &'h [(String, Vec<u8>)],
    name: &'h str,
) -> impl Iterator<Item = &'h [u8]> + 'h {
    headers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// The value of a list header (`Content-Encoding`, `Transfer-Encoding`) sent in several lines:
/// the lines joined with `, `, as HTTP reads them (RFC 9110, 5.3). WasmX's one-header getter
/// gives the first line only, which would hide a `gzip` after an `identity`.
///
/// ```
/// use aws_masker::exchange::joined_header;
///
/// assert_eq!(joined_header([&b"identity"[..], b"gzip"]).as_deref(), Some(&b"identity, gzip"[..]));
/// assert_eq!(joined_header([&b"br"[..]]).as_deref(), Some(&b"br"[..]));
/// assert_eq!(joined_header(std::iter::empty()), None);
/// ```
pub fn joined_header<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Option<Cow<'a, [u8]>> {
    let mut lines = lines.into_iter();
    let first = lines.next()?;
    let Some(second) = lines.next() else {
        return Some(Cow::Borrowed(first));
    };
    let mut joined = first.to_vec();
    for line in std::iter::once(second).chain(lines) {
        joined.extend_from_slice(b", ");
        joined.extend_from_slice(line);
    }
    Some(Cow::Owned(joined))
}
