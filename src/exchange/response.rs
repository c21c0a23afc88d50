//! Response decisions: the plan from the response headers, and the per-chunk body machine.
//!
//! WasmX hands the body over chunk by chunk and each chunk can be replaced. When the upstream
//! sent a Content-Length, a body split in several chunks never sees end-of-stream, so the end
//! is `bytes_seen == content_length` (the length as it was before the filter removed the
//! header); without one, it is the final (usually empty) eos call.

use super::request::{content_length, is_identity, media_type};
use crate::placeholder::Mapping;
use crate::restore::{
    has_thinking, restore_document, restore_into, restored_capacity, Escape, RestoreStats,
    StreamRestorer, THINKING,
};
use crate::sse::SseRestorer;

/// The response headers a plan needs, as raw bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ResponseHeaders<'a> {
    /// `:status`.
    pub status: Option<&'a [u8]>,
    pub content_type: Option<&'a [u8]>,
    pub content_encoding: Option<&'a [u8]>,
    pub content_length: Option<&'a [u8]>,
    /// The request was a `HEAD`: the response has headers only.
    pub head_request: bool,
}

/// False for responses that never carry a body (HEAD, 1xx, 204, 304): their headers,
/// Content-Length included, stay as they are.
fn carries_body(headers: &ResponseHeaders<'_>) -> bool {
    let status = headers
        .status
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.trim().parse::<u16>().ok());
    !headers.head_request && !matches!(status, Some(100..=199 | 204 | 304))
}

/// How to treat the response body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponsePlan {
    /// Nothing to restore, or a binary body: leave it alone.
    Pass,
    /// Compressed: cannot be restored; pass unchanged and count it.
    SkipEncoded,
    /// JSON: hold the whole body (up to a limit), restore once.
    Whole,
    /// `text/event-stream`: restore incrementally, event by event.
    Sse,
    /// Other text: restore incrementally.
    Text,
    /// JSON Lines (`application/x-ndjson`, `application/jsonl`, `application/x-jsonlines`):
    /// restore line by line, each original JSON-escaped (a placeholder can only be inside a
    /// string there), a line's thinking block passed unchanged.
    JsonLines,
}

impl ResponsePlan {
    /// True when the body may change, so `content-length` must go.
    pub fn changes_body(self) -> bool {
        matches!(
            self,
            ResponsePlan::Whole | ResponsePlan::Sse | ResponsePlan::Text | ResponsePlan::JsonLines
        )
    }
}

/// Decides from the response headers. `has_mapping` is false when the exchange knows no
/// placeholder (nothing masked): then the body is never touched.
pub fn plan_response(headers: &ResponseHeaders<'_>, has_mapping: bool) -> ResponsePlan {
    if !has_mapping || !carries_body(headers) {
        return ResponsePlan::Pass;
    }
    if !is_identity(headers.content_encoding) {
        return ResponsePlan::SkipEncoded;
    }
    let media = match headers.content_type {
        None => return ResponsePlan::Text,
        Some(v) => media_type(v),
    };
    if media == "application/json" || media.ends_with("+json") {
        ResponsePlan::Whole
    } else if media == "text/event-stream" {
        ResponsePlan::Sse
    } else if matches!(
        media.as_str(),
        "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines"
    ) {
        ResponsePlan::JsonLines
    } else if media.starts_with("text/")
        || media.is_empty()
        || media.ends_with("+xml")
        || matches!(media.as_str(), "application/xml" | "application/javascript")
    {
        ResponsePlan::Text
    } else {
        ResponsePlan::Pass
    }
}

/// The Content-Length the upstream announced, for [`BodyEnd`].
pub fn announced_length(headers: &ResponseHeaders<'_>) -> Option<u64> {
    content_length(headers.content_length)
}

/// Finds the end of a response body under WasmX's end-of-stream rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyEnd {
    expected: Option<u64>,
    seen: u64,
}

impl BodyEnd {
    pub fn new(content_length: Option<u64>) -> Self {
        BodyEnd {
            expected: content_length,
            seen: 0,
        }
    }

    /// Records a chunk; true when it is the last one.
    pub fn on_chunk(&mut self, len: usize, eos: bool) -> bool {
        self.seen = self
            .seen
            .saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
        eos || self.expected.is_some_and(|n| self.seen >= n)
    }

    pub fn seen(&self) -> u64 {
        self.seen
    }
}

/// Placeholders restored and unknown ones left as they were, and SSE events too long to
/// restore (passed as they came, their placeholders left).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreCounts {
    pub restored: u64,
    pub unknown: u64,
    pub oversized_events: u64,
}

/// An incremental restorer, as the body machine drives it.
pub trait Restore {
    /// Restores what it can of `chunk` into `out`, holding back a possibly split placeholder.
    fn feed(&mut self, mapping: &Mapping, chunk: &[u8], out: &mut Vec<u8>);
    /// Flushes everything held back.
    fn finish(&mut self, mapping: &Mapping, out: &mut Vec<u8>);
    /// Restores a whole body at once.
    fn whole(&mut self, mapping: &Mapping, body: &[u8], out: &mut Vec<u8>) {
        self.feed(mapping, body, out);
        self.finish(mapping, out);
    }
    fn counts(&self) -> RestoreCounts;
}

/// What to do with the current chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Emit {
    /// Leave the chunk as it is.
    Keep,
    /// Replace the chunk with these bytes (maybe empty: the chunk is held).
    Replace(Vec<u8>),
}

enum Phase {
    Hold { held: Vec<u8>, limit: usize },
    Stream,
    Done,
}

/// The per-response body machine: holds or streams, and flushes at the end.
pub struct ResponseBody<R> {
    end: BodyEnd,
    phase: Phase,
    restorer: R,
}

impl<R: Restore> ResponseBody<R> {
    /// Holds the body in filter memory and restores it once at the end. Past `limit` bytes
    /// it falls back to streaming, so no body is ever refused.
    pub fn whole(restorer: R, content_length: Option<u64>, limit: usize) -> Self {
        let capacity = content_length
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
            .min(limit);
        ResponseBody {
            end: BodyEnd::new(content_length),
            phase: Phase::Hold {
                held: Vec::with_capacity(capacity),
                limit,
            },
            restorer,
        }
    }

    /// Restores chunk by chunk.
    pub fn streaming(restorer: R, content_length: Option<u64>) -> Self {
        ResponseBody {
            end: BodyEnd::new(content_length),
            phase: Phase::Stream,
            restorer,
        }
    }

    /// Handles one `on_http_response_body` call.
    pub fn on_chunk(&mut self, mapping: &Mapping, chunk: &[u8], eos: bool) -> Emit {
        let last = self.end.on_chunk(chunk.len(), eos);
        let mut out = Vec::new();
        match &mut self.phase {
            Phase::Done => return Emit::Keep,
            Phase::Hold { held, limit } if held.len().saturating_add(chunk.len()) <= *limit => {
                if !last {
                    held.extend_from_slice(chunk);
                    return Emit::Replace(out);
                }
                // A body in one chunk (most answers) is restored where it is, not copied first.
                let whole: &[u8] = if held.is_empty() {
                    chunk
                } else {
                    held.extend_from_slice(chunk);
                    held
                };
                out.reserve(restored_capacity(whole.len()));
                self.restorer.whole(mapping, whole, &mut out);
                self.phase = Phase::Done;
                return Emit::Replace(out);
            }
            Phase::Hold { held, .. } => {
                // Over the limit: emit what is held and go on streaming.
                out.reserve(restored_capacity(held.len() + chunk.len()));
                self.restorer.feed(mapping, held, &mut out);
                self.phase = Phase::Stream;
            }
            Phase::Stream => out.reserve(restored_capacity(chunk.len())),
        }
        self.restorer.feed(mapping, chunk, &mut out);
        if last {
            self.restorer.finish(mapping, &mut out);
            self.phase = Phase::Done;
        }
        if out == chunk {
            Emit::Keep
        } else {
            Emit::Replace(out)
        }
    }

    /// True once the last chunk went out.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    pub fn counts(&self) -> RestoreCounts {
        self.restorer.counts()
    }
}

/// A JSON body past the hold limit, restored as text as it streams until a thinking block
/// shows; from there on it passes unchanged. Thinking text is signed and never masked in
/// requests: a placeholder the model wrote there and restored would go back to the API with
/// the client's next turn, its original unmasked.
pub struct JsonStream {
    stream: StreamRestorer,
    /// The last bytes fed (one short of the token), to find it across chunks.
    tail: Vec<u8>,
    passing: bool,
}

impl JsonStream {
    fn new() -> Self {
        JsonStream {
            stream: StreamRestorer::new(Escape::Json),
            tail: Vec::new(),
            passing: false,
        }
    }

    fn feed(&mut self, mapping: &Mapping, chunk: &[u8], out: &mut Vec<u8>) {
        if self.passing {
            out.extend_from_slice(chunk);
            return;
        }
        // Where the token starts in this chunk (0 if it began in the last one).
        let keep = THINKING.len() - 1;
        let head = chunk.get(..keep).unwrap_or(chunk);
        let mut seam = std::mem::take(&mut self.tail);
        let before = seam.len();
        seam.extend_from_slice(head);
        let at = memchr::memmem::find(&seam, THINKING)
            .map(|i| i.saturating_sub(before))
            .or_else(|| memchr::memmem::find(chunk, THINKING));
        let Some(at) = at else {
            // The last `keep` bytes fed: of this chunk, or of the seam when it is short.
            match chunk.get(chunk.len().saturating_sub(keep)..) {
                Some(last) if chunk.len() >= keep => {
                    seam.clear();
                    seam.extend_from_slice(last);
                }
                _ => {
                    seam.drain(..seam.len().saturating_sub(keep));
                }
            }
            self.tail = seam;
            self.stream.feed(mapping, chunk, out);
            return;
        };
        // What comes before the token is restored; nothing from it on.
        let (restored, passed) = chunk.split_at(at.min(chunk.len()));
        self.stream.feed(mapping, restored, out);
        self.stream.finish(mapping, out);
        self.passing = true;
        out.extend_from_slice(passed);
    }

    fn finish(&mut self, mapping: &Mapping, out: &mut Vec<u8>) {
        if !self.passing {
            self.stream.finish(mapping, out);
        }
    }

    /// Feeds JSON Lines: each line is a [`JsonStream`] of its own, so a line with a thinking
    /// block passes unchanged from its token on, and the next line is restored again.
    fn feed_lines(&mut self, mapping: &Mapping, chunk: &[u8], out: &mut Vec<u8>) {
        let mut rest = chunk;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let (line_end, after) = rest.split_at(nl + 1);
            self.feed(mapping, line_end, out);
            // A line ends in a byte no placeholder holds: nothing is held back here.
            self.finish(mapping, out);
            self.passing = false;
            self.tail.clear();
            rest = after;
        }
        self.feed(mapping, rest, out);
    }
}

/// The restorer a response plan picks.
pub enum Restorer {
    /// JSON held whole and restored as a document: thinking blocks and signatures stay
    /// untouched. Past the hold limit it streams ([`JsonStream`]).
    Json {
        stream: JsonStream,
        whole: RestoreStats,
    },
    /// Other text, restored as it streams.
    Text(StreamRestorer),
    /// JSON Lines: line by line, each as a JSON body past the hold limit is.
    Lines(JsonStream),
    /// `text/event-stream`, event by event.
    Sse(Box<SseRestorer>),
}

impl Restore for Restorer {
    fn feed(&mut self, mapping: &Mapping, chunk: &[u8], out: &mut Vec<u8>) {
        match self {
            Restorer::Json { stream, .. } => stream.feed(mapping, chunk, out),
            Restorer::Text(r) => r.feed(mapping, chunk, out),
            Restorer::Lines(r) => r.feed_lines(mapping, chunk, out),
            Restorer::Sse(r) => r.feed(mapping, chunk, out),
        }
    }

    fn finish(&mut self, mapping: &Mapping, out: &mut Vec<u8>) {
        match self {
            Restorer::Json { stream, .. } => stream.finish(mapping, out),
            Restorer::Text(r) => r.finish(mapping, out),
            Restorer::Lines(r) => r.finish(mapping, out),
            Restorer::Sse(r) => r.finish(mapping, out),
        }
    }

    fn whole(&mut self, mapping: &Mapping, body: &[u8], out: &mut Vec<u8>) {
        match self {
            Restorer::Json { whole, .. } => {
                let start = out.len();
                let mut stats = RestoreStats::default();
                if restore_document(body, mapping, out, &mut stats).is_ok() {
                    whole.add(stats);
                } else {
                    // Not a JSON document (a proxy's error page, a cut body): restore the text
                    // with JSON escaping, which is what a JSON string would need; unless it
                    // holds thinking text, which passes unchanged (see `JsonStream`).
                    out.truncate(start);
                    if has_thinking(body) {
                        out.extend_from_slice(body);
                    } else {
                        restore_into(body, mapping, Escape::Json, out, whole);
                    }
                }
            }
            other => {
                other.feed(mapping, body, out);
                other.finish(mapping, out);
            }
        }
    }

    fn counts(&self) -> RestoreCounts {
        let (stats, oversized_events) = match self {
            Restorer::Json { stream, whole } => {
                let mut s = stream.stream.stats();
                s.add(*whole);
                (s, 0)
            }
            Restorer::Text(r) => (r.stats(), 0),
            Restorer::Lines(r) => (r.stream.stats(), 0),
            Restorer::Sse(r) => (r.stats(), r.oversized()),
        };
        RestoreCounts {
            restored: stats.restored,
            unknown: stats.unknown,
            oversized_events,
        }
    }
}

/// The least memory one SSE event may take before it passes unrestored, however small the
/// hold limit: the API's events (a server tool's result) can take hundreds of KiB.
const MIN_EVENT_LIMIT: usize = 1 << 20;

/// The most bytes one SSE event may take before it passes unrestored, for a hold limit of
/// `hold_limit` bytes.
pub fn event_limit(hold_limit: usize) -> usize {
    hold_limit.max(MIN_EVENT_LIMIT)
}

/// The body machine for `plan`, or `None` when the body passes untouched. `hold_limit` caps
/// the bytes a JSON body may occupy in filter memory before it streams, and one SSE event
/// (at least [`MIN_EVENT_LIMIT`]) before it passes through unrestored.
pub fn body_for(
    plan: ResponsePlan,
    content_length: Option<u64>,
    hold_limit: usize,
) -> Option<ResponseBody<Restorer>> {
    match plan {
        ResponsePlan::Pass | ResponsePlan::SkipEncoded => None,
        ResponsePlan::Whole => Some(ResponseBody::whole(
            Restorer::Json {
                stream: JsonStream::new(),
                whole: RestoreStats::default(),
            },
            content_length,
            hold_limit,
        )),
        ResponsePlan::Sse => Some(ResponseBody::streaming(
            Restorer::Sse(Box::new(SseRestorer::with_event_limit(event_limit(
                hold_limit,
            )))),
            content_length,
        )),
        ResponsePlan::Text => Some(ResponseBody::streaming(
            Restorer::Text(StreamRestorer::new(Escape::None)),
            content_length,
        )),
        ResponsePlan::JsonLines => Some(ResponseBody::streaming(
            Restorer::Lines(JsonStream::new()),
            content_length,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uppercases and holds back the last byte of each feed: enough to see hold-back and flush.
    #[derive(Default)]
    struct Upper {
        pending: Option<u8>,
        feeds: u64,
        wholes: u64,
    }

    impl Restore for Upper {
        fn feed(&mut self, _: &Mapping, chunk: &[u8], out: &mut Vec<u8>) {
            self.feeds += 1;
            for b in chunk {
                if let Some(p) = self.pending.replace(b.to_ascii_uppercase()) {
                    out.push(p);
                }
            }
        }
        fn finish(&mut self, _: &Mapping, out: &mut Vec<u8>) {
            out.extend(self.pending.take());
        }
        fn whole(&mut self, m: &Mapping, body: &[u8], out: &mut Vec<u8>) {
            self.wholes += 1;
            self.feed(m, body, out);
            self.finish(m, out);
        }
        fn counts(&self) -> RestoreCounts {
            RestoreCounts {
                restored: self.wholes,
                unknown: self.feeds,
                oversized_events: 0,
            }
        }
    }

    /// Feeds `chunks` as WasmX would (eos only on the given flag per call) and returns what
    /// the client receives plus the per-call emits.
    fn run(body: &mut ResponseBody<Upper>, calls: &[(&[u8], bool)]) -> (Vec<u8>, Vec<Emit>) {
        let mapping = Mapping::default();
        let mut client = Vec::new();
        let mut emits = Vec::new();
        for (chunk, eos) in calls {
            let emit = body.on_chunk(&mapping, chunk, *eos);
            match &emit {
                Emit::Keep => client.extend_from_slice(chunk),
                Emit::Replace(bytes) => client.extend_from_slice(bytes),
            }
            emits.push(emit);
        }
        (client, emits)
    }

    fn splits(body: &[u8]) -> Vec<Vec<&[u8]>> {
        let mut all = vec![vec![body]];
        for i in 1..body.len() {
            all.push(vec![&body[..i], &body[i..]]);
            for j in i + 1..body.len() {
                all.push(vec![&body[..i], &body[i..j], &body[j..]]);
            }
        }
        all
    }

    const BODY: &[u8] = b"{\"a\":\"xyz\"}";
    const RESTORED: &[u8] = b"{\"A\":\"XYZ\"}";

    #[test]
    fn content_length_end_is_found_without_eos() {
        for parts in splits(BODY) {
            // WasmX: with Content-Length, eos is true only when one chunk is the whole body.
            let calls: Vec<(&[u8], bool)> =
                parts.iter().map(|p| (*p, p.len() == BODY.len())).collect();
            for whole in [true, false] {
                let length = Some(BODY.len() as u64);
                let mut body = if whole {
                    ResponseBody::whole(Upper::default(), length, 1 << 20)
                } else {
                    ResponseBody::streaming(Upper::default(), length)
                };
                let (client, _) = run(&mut body, &calls);
                assert_eq!(client, RESTORED, "{parts:?}");
                assert!(body.is_done());
            }
        }
    }

    #[test]
    fn chunked_end_is_the_final_eos_call() {
        for parts in splits(BODY) {
            let mut calls: Vec<(&[u8], bool)> = parts.iter().map(|p| (*p, false)).collect();
            calls.push((b"", true));
            let mut body = ResponseBody::streaming(Upper::default(), None);
            let (client, emits) = run(&mut body, &calls);
            assert_eq!(client, RESTORED);
            // The held-back last byte comes out on the final empty call.
            assert_eq!(emits.last(), Some(&Emit::Replace(b"}".to_vec())));
        }
    }

    #[test]
    fn whole_holds_everything_until_the_end_and_restores_once() {
        let mut body = ResponseBody::whole(Upper::default(), None, 1 << 20);
        let (client, emits) = run(
            &mut body,
            &[(b"{\"a\":", false), (b"\"xyz\"}", false), (b"", true)],
        );
        assert_eq!(client, RESTORED);
        assert_eq!(emits[0], Emit::Replace(Vec::new()));
        assert_eq!(emits[1], Emit::Replace(Vec::new()));
        assert_eq!(emits[2], Emit::Replace(RESTORED.to_vec()));
        assert_eq!(body.counts().restored, 1);
    }

    #[test]
    fn whole_over_the_limit_falls_back_to_streaming() {
        for limit in 0..BODY.len() {
            for parts in splits(BODY) {
                let calls: Vec<(&[u8], bool)> = parts.iter().map(|p| (*p, false)).collect();
                let mut body =
                    ResponseBody::whole(Upper::default(), Some(BODY.len() as u64), limit);
                let (client, _) = run(&mut body, &calls);
                assert_eq!(client, RESTORED, "limit {limit} {parts:?}");
                assert!(body.is_done());
                assert_eq!(body.counts().restored, 0, "no whole restore past the limit");
            }
        }
    }

    #[test]
    fn calls_after_the_end_pass_unchanged() {
        let mut body = ResponseBody::streaming(Upper::default(), Some(3));
        let (client, emits) = run(&mut body, &[(b"abc", true), (b"", true), (b"zz", false)]);
        assert_eq!(client, b"ABCzz");
        assert_eq!(emits[1], Emit::Keep);
        assert_eq!(emits[2], Emit::Keep);
    }

    #[test]
    fn unchanged_chunks_are_kept() {
        let mut body = ResponseBody::streaming(Upper::default(), None);
        // "X" is held, then "XX" comes out as "XX": the same bytes, so the chunk is kept.
        let (client, emits) = run(&mut body, &[(b"aX", false), (b"XX", false), (b"", true)]);
        assert_eq!(
            emits,
            [
                Emit::Replace(b"A".to_vec()),
                Emit::Keep,
                Emit::Replace(b"X".to_vec())
            ]
        );
        assert_eq!(client, b"AXXX");
    }

    #[test]
    fn body_end_counts_bytes() {
        let mut end = BodyEnd::new(Some(5));
        assert!(!end.on_chunk(2, false));
        assert!(!end.on_chunk(0, false));
        assert!(end.on_chunk(3, false));
        assert_eq!(end.seen(), 5);
        let mut end = BodyEnd::new(None);
        assert!(!end.on_chunk(100, false));
        assert!(end.on_chunk(0, true));
    }

    #[test]
    fn response_plans() {
        let h = |ct: Option<&'static str>, ce: Option<&'static str>| ResponseHeaders {
            status: Some(b"200"),
            content_type: ct.map(str::as_bytes),
            content_encoding: ce.map(str::as_bytes),
            ..Default::default()
        };
        use ResponsePlan::*;
        let cases = [
            (h(Some("application/json"), None), true, Whole),
            (h(Some("application/json"), None), false, Pass),
            (
                h(Some("application/json; charset=utf-8"), Some("identity")),
                true,
                Whole,
            ),
            (h(Some("application/problem+json"), None), true, Whole),
            (h(Some("text/event-stream; charset=utf-8"), None), true, Sse),
            (h(Some("text/plain"), None), true, Text),
            (h(Some("application/x-ndjson"), None), true, JsonLines),
            (
                h(Some("application/jsonl; charset=utf-8"), None),
                true,
                JsonLines,
            ),
            (h(None, None), true, Text),
            (h(Some("application/json"), Some("gzip")), true, SkipEncoded),
            (h(Some("text/event-stream"), Some("br")), true, SkipEncoded),
            (h(Some("image/png"), None), true, Pass),
            (h(Some("application/octet-stream"), None), true, Pass),
        ];
        for (headers, has_mapping, expected) in cases {
            assert_eq!(
                plan_response(&headers, has_mapping),
                expected,
                "{headers:?}"
            );
        }
        assert!(Whole.changes_body() && Sse.changes_body() && Text.changes_body());
        assert!(!Pass.changes_body() && !SkipEncoded.changes_body());
        let json = h(Some("application/json"), None);
        for status in ["204", "304", "101", " 304 "] {
            let bodyless = ResponseHeaders {
                status: Some(status.as_bytes()),
                ..json
            };
            assert_eq!(plan_response(&bodyless, true), Pass, "{status}");
        }
        let head = ResponseHeaders {
            head_request: true,
            ..json
        };
        assert_eq!(plan_response(&head, true), Pass);
        let error = ResponseHeaders {
            status: Some(b"529"),
            ..json
        };
        assert_eq!(plan_response(&error, true), Whole);
        let no_status = ResponseHeaders {
            status: None,
            ..json
        };
        assert_eq!(plan_response(&no_status, true), Whole);
        let cl = ResponseHeaders {
            content_length: Some(b"12"),
            ..Default::default()
        };
        assert_eq!(announced_length(&cl), Some(12));
    }

    fn real_mapping() -> (Mapping, String) {
        let keys = crate::placeholder::Placeholders::new(b"0123456789abcdef0123456789abcdef");
        let mut m = Mapping::default();
        let p = keys.issue(&mut m, "EC2", "i-0abc\"quoted\"");
        (m, p)
    }

    /// Feeds `body` split at `cut` the way WasmX does for `framing_cl` (Content-Length: no
    /// eos) or chunked (final empty eos call), returning what the client receives.
    fn through(
        plan: ResponsePlan,
        body: &[u8],
        cut: usize,
        framing_cl: bool,
        limit: usize,
        m: &Mapping,
    ) -> (Vec<u8>, RestoreCounts) {
        let length = framing_cl.then_some(body.len() as u64);
        let mut machine = body_for(plan, length, limit).unwrap();
        let mut calls: Vec<(&[u8], bool)> = [&body[..cut], &body[cut..]]
            .into_iter()
            .filter(|c| !c.is_empty())
            .map(|c| (c, framing_cl && c.len() == body.len()))
            .collect();
        if !framing_cl {
            calls.push((b"", true));
        }
        let mut client = Vec::new();
        for (chunk, eos) in calls {
            match machine.on_chunk(m, chunk, eos) {
                Emit::Keep => client.extend_from_slice(chunk),
                Emit::Replace(b) => client.extend_from_slice(&b),
            }
        }
        assert!(machine.is_done());
        (client, machine.counts())
    }

    /// [`through`] at every cut, Content-Length and chunked: the client gets `expected`
    /// each time; the counts of each run go to `counted`.
    fn at_every_cut(
        plan: ResponsePlan,
        body: &str,
        limit: usize,
        m: &Mapping,
        expected: &str,
        counted: impl Fn(RestoreCounts, &str),
    ) {
        for framing_cl in [true, false] {
            for cut in 0..=body.len() {
                let (client, counts) = through(plan, body.as_bytes(), cut, framing_cl, limit, m);
                let at = format!("{plan:?} cut {cut} cl {framing_cl} limit {limit}");
                assert_eq!(String::from_utf8_lossy(&client), expected, "{at}");
                counted(counts, &at);
            }
        }
    }

    #[test]
    fn real_restorers_split_everywhere() {
        let (m, p) = real_mapping();
        let json = format!(
            r#"{{"content":[{{"type":"text","text":"id {p} and AWS_EC2_ZZZZZZZZZZZZZ"}}]}}"#
        );
        let json_expected = json.replace(&p, r#"i-0abc\"quoted\""#);
        let text = format!("plain {p}.");
        let text_expected = text.replace(&p, r#"i-0abc"quoted""#);
        let lines = format!("{{\"text\":\"{p}\"}}\n{{\"text\":\"x\"}}\n");
        let lines_expected = lines.replace(&p, r#"i-0abc\"quoted\""#);
        let sse = format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{p} ok\"}}}}\n\n");
        let sse_expected = sse.replace(&p, r#"i-0abc\"quoted\""#);
        let cases = [
            (ResponsePlan::Whole, &json, &json_expected, 1 << 20),
            (ResponsePlan::Whole, &json, &json_expected, 10),
            (ResponsePlan::Text, &text, &text_expected, 0),
            (ResponsePlan::JsonLines, &lines, &lines_expected, 0),
            (ResponsePlan::Sse, &sse, &sse_expected, 0),
        ];
        for (plan, body, expected, limit) in cases {
            at_every_cut(plan, body, limit, &m, expected, |counts, at| {
                assert_eq!(counts.restored, 1, "{at}");
            });
        }
        let (_, counts) = through(ResponsePlan::Whole, json.as_bytes(), 5, true, 1 << 20, &m);
        assert_eq!(counts.unknown, 1);
    }

    #[test]
    fn json_lines_restore_every_line_but_a_thinking_block() {
        let (m, p) = real_mapping();
        let restored = r#"i-0abc\"quoted\""#;
        let lines = [
            format!(r#"{{"text":"see {p}"}}"#),
            format!(r#"{{"type":"thinking","text":"{p}","thinking":"{p}"}}"#),
            format!(r#"{{"text":"{p}","thinking":"{p}"}}"#),
            format!(r#"{{"text":"{p} again"}}"#),
        ];
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        // Before a line's first token it is restored; from it on, to the line's end, not.
        let expected = [
            lines[0].replace(&p, restored),
            lines[1].clone(),
            lines[2].replacen(&p, restored, 1),
            lines[3].replace(&p, restored),
        ]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect::<String>();
        at_every_cut(
            ResponsePlan::JsonLines,
            &body,
            0,
            &m,
            &expected,
            |counts, at| {
                assert_eq!(counts.restored, 3, "{at}");
            },
        );
    }

    #[test]
    fn thinking_text_is_never_restored_when_json_cannot_be_held_or_read() {
        let (m, p) = real_mapping();
        let restored = r#"i-0abc\"quoted\""#;
        let body = format!(
            r#"{{"content":[{{"type":"text","text":"see {p}"}},{{"type":"thinking","thinking":"{p}","signature":"s"}},{{"type":"text","text":"{p}"}}]}}"#
        );
        // Past the hold limit (10 bytes), streamed: restored up to the thinking block, then
        // passed unchanged, wherever the chunks are cut (the token across a cut included).
        let expected = body.replacen(&p, restored, 1);
        at_every_cut(
            ResponsePlan::Whole,
            &body,
            10,
            &m,
            &expected,
            |counts, at| {
                assert!(counts.restored <= 1, "{at}");
            },
        );
        // Byte by byte: the token spans many calls.
        let mut machine = body_for(ResponsePlan::Whole, None, 10).unwrap();
        let mut client = Vec::new();
        for byte in body.as_bytes().chunks(1).chain([&b""[..]]) {
            match machine.on_chunk(&m, byte, byte.is_empty()) {
                Emit::Keep => client.extend_from_slice(byte),
                Emit::Replace(b) => client.extend_from_slice(&b),
            }
        }
        assert_eq!(String::from_utf8_lossy(&client), expected, "byte by byte");
        // Not a JSON document, held whole: with thinking, unchanged; without, restored.
        let broken = format!("{body}<cut>");
        let (client, _) = through(
            ResponsePlan::Whole,
            broken.as_bytes(),
            7,
            false,
            1 << 20,
            &m,
        );
        assert_eq!(String::from_utf8_lossy(&client), broken);
        let plain = format!(r#"{{"content":[{{"type":"text","text":"{p}"}}<cut>"#);
        let (client, _) = through(ResponsePlan::Whole, plain.as_bytes(), 7, false, 1 << 20, &m);
        assert_eq!(
            String::from_utf8_lossy(&client),
            plain.replace(&p, restored)
        );
    }

    #[test]
    fn a_restored_answer_longer_than_its_body_fits_the_first_reserve() {
        // Originals longer than their placeholders, as in most answers: the output grows by
        // a few percent, which must not double its buffer (2 MiB for a 1 MiB answer).
        let keys = crate::placeholder::Placeholders::new(b"0123456789abcdef0123456789abcdef");
        let mut m = Mapping::default();
        let original = "arn:aws:iam::123456789012:role/service-role-with-a-long-name";
        let p = keys.issue(&mut m, "IAM_ROLE", original);
        // One placeholder in about 400 bytes: the answer grows by under 10%.
        let prose = "The role above is used by the nightly export job. ".repeat(8);
        let text = format!("{p} {prose}").repeat(2000);
        let body = format!(r#"{{"content":[{{"type":"text","text":"{text}"}}]}}"#);
        let mut machine = body_for(ResponsePlan::Whole, Some(body.len() as u64), 1 << 20).unwrap();
        // Content-Length in one chunk: the last, without end-of-stream (as WasmX calls it).
        let Emit::Replace(out) = machine.on_chunk(&m, body.as_bytes(), false) else {
            panic!("the whole body was not restored");
        };
        assert_eq!(out.len(), body.len() + 2000 * (original.len() - p.len()));
        assert!(
            out.len() > body.len() && out.len() < body.len() + body.len() / 10,
            "{} bytes restored from {}",
            out.len(),
            body.len()
        );
        assert!(
            out.capacity() <= restored_capacity(body.len()),
            "{} bytes reserved for {} restored",
            out.capacity(),
            out.len()
        );
    }

    #[test]
    fn pass_plans_have_no_machine() {
        assert!(body_for(ResponsePlan::Pass, None, 10).is_none());
        assert!(body_for(ResponsePlan::SkipEncoded, Some(3), 10).is_none());
    }

    #[test]
    fn whole_json_is_restored_as_a_document() {
        let (m, p) = real_mapping();
        let body = format!(
            r#"{{"content":[{{"type":"thinking","thinking":"{p}","signature":"s"}},{{"type":"text","text":"see {p}"}}]}}"#
        );
        let expected = body.replacen(&format!("see {p}"), r#"see i-0abc\"quoted\""#, 1);
        at_every_cut(
            ResponsePlan::Whole,
            &body,
            1 << 20,
            &m,
            &expected,
            |counts, at| {
                assert_eq!(counts.restored, 1, "{at}");
            },
        );
        // Not JSON: every placeholder restored with JSON escaping.
        let broken = format!("<html>{p}</html>");
        let (client, _) = through(
            ResponsePlan::Whole,
            broken.as_bytes(),
            3,
            false,
            1 << 20,
            &m,
        );
        assert_eq!(
            String::from_utf8_lossy(&client),
            r#"<html>i-0abc\"quoted\"</html>"#
        );
    }
}
