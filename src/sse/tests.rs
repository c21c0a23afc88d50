use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::placeholder::Placeholders;

const ORIGINALS: &[(&str, &str)] = &[
    ("EC2", "i-0b263919b6498b123"),
    ("VPC", "vpc-a01106c2"),
    ("ARN_IAM_ROLE", "arn:aws:iam::123456789012:role/S3Access"),
    ("CUSTOM", "say \"hi\" \\ there\n"),
];

fn setup() -> (Mapping, Vec<String>) {
    let keys = Placeholders::new(b"0123456789abcdef0123456789abcdef");
    let mut mapping = Mapping::default();
    let ps = ORIGINALS
        .iter()
        .map(|(l, o)| keys.issue(&mut mapping, l, o))
        .collect();
    (mapping, ps)
}

fn unmask(text: &str, ps: &[String]) -> String {
    ps.iter()
        .zip(ORIGINALS)
        .fold(text.to_owned(), |t, (p, (_, o))| t.replace(p.as_str(), o))
}

fn event(name: &str, data: &str, eol: &str) -> String {
    format!("event: {name}{eol}data: {data}{eol}{eol}")
}

fn delta(index: usize, kind: &str, field: &str, text: &str, eol: &str) -> String {
    let text = serde_json::to_string(text).unwrap();
    let data = format!(
        r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"{kind}","{field}":{text}}}}}"#
    );
    event("content_block_delta", &data, eol)
}

fn text_delta(index: usize, text: &str, eol: &str) -> String {
    delta(index, "text_delta", "text", text, eol)
}

fn stop(index: usize, eol: &str) -> String {
    event(
        "content_block_stop",
        &format!(r#"{{"type":"content_block_stop","index":{index}}}"#),
        eol,
    )
}

fn run(mapping: &Mapping, stream: &[u8], cuts: &[usize]) -> (Vec<u8>, SseRestorer) {
    let mut sse = SseRestorer::new();
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts.iter().chain([stream.len()].iter()) {
        sse.feed(mapping, &stream[at..c], &mut out);
        at = c;
    }
    sse.finish(mapping, &mut out);
    (out, sse)
}

/// A raw event of a stream and its joined data.
#[derive(Debug)]
struct Ev {
    raw: Vec<u8>,
    data: Option<String>,
}

impl Ev {
    /// `(index, field, text)` of a text or input_json delta.
    fn restorable(&self) -> Option<(u64, &'static str, String)> {
        let v: Value = serde_json::from_str(self.data.as_deref()?).ok()?;
        let field = match v["delta"]["type"].as_str()? {
            "text_delta" => "text",
            "input_json_delta" => "partial_json",
            _ => return None,
        };
        Some((
            v["index"].as_u64()?,
            field,
            v["delta"][field].as_str()?.to_owned(),
        ))
    }
}

/// Splits a complete SSE stream into events, independently of the code under test.
fn parse(bytes: &[u8]) -> Vec<Ev> {
    let (mut events, mut cur, mut data) = (Vec::new(), Vec::new(), Vec::<String>::new());
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
            i += 1;
        }
        let line = &bytes[start..i];
        if i < bytes.len() {
            i += if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
        }
        cur.extend_from_slice(&bytes[start..i]);
        if line.is_empty() {
            let joined = (!data.is_empty()).then(|| data.join("\n"));
            events.push(Ev {
                raw: std::mem::take(&mut cur),
                data: joined,
            });
            data.clear();
        } else if let Some(v) = line.strip_prefix(b"data:") {
            data.push(String::from_utf8(v.strip_prefix(b" ").unwrap_or(v).to_vec()).unwrap());
        }
    }
    assert!(
        cur.is_empty(),
        "stream ends mid-event: {:?}",
        String::from_utf8_lossy(&cur)
    );
    events
}

/// Concatenated restorable text per block index.
fn texts(events: &[Ev]) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = Vec::new();
    for (index, _, text) in events.iter().filter_map(Ev::restorable) {
        match out.iter_mut().find(|(i, _)| *i == index) {
            Some((_, t)) => t.push_str(&text),
            None => out.push((index, text)),
        }
    }
    out
}

fn others(events: &[Ev]) -> Vec<&[u8]> {
    events
        .iter()
        .filter(|e| e.restorable().is_none())
        .map(|e| e.raw.as_slice())
        .collect()
}

#[test]
fn placeholder_split_at_every_offset_and_every_chunk_edge() {
    let (mapping, ps) = setup();
    let p = &ps[0];
    for eol in ["\n", "\r\n", "\r"] {
        for cut in 0..=p.len() {
            let stream = format!(
                "{}{}{}{}",
                text_delta(0, &format!("see {}", &p[..cut]), eol),
                event("ping", r#"{"type": "ping"}"#, eol),
                text_delta(0, &format!("{} ok", &p[cut..]), eol),
                stop(0, eol),
            );
            let want = format!("see {} ok", ORIGINALS[0].1);
            for edge in (0..=stream.len()).step_by(if cut % 5 == 0 { 1 } else { 17 }) {
                let (out, sse) = run(&mapping, stream.as_bytes(), &[edge]);
                let events = parse(&out);
                assert_eq!(
                    texts(&events),
                    [(0, want.clone())],
                    "cut {cut} edge {edge} eol {eol:?}"
                );
                let input = parse(stream.as_bytes());
                assert_eq!(others(&events), others(&input));
                assert_eq!(
                    sse.stats(),
                    RestoreStats {
                        restored: 1,
                        unknown: 0
                    }
                );
                assert_eq!(sse.malformed(), 0);
                // The split never needs a synthesized delta: the second delta carries it.
                assert_eq!(sse.synthesized(), 0);
            }
        }
    }
}

#[test]
fn byte_at_a_time_with_empty_chunks_keeps_line_endings() {
    let (mapping, ps) = setup();
    for eol in ["\n", "\r\n", "\r"] {
        let stream = format!(
            "{}{}{}",
            text_delta(0, &format!("a {} b", ps[1]), eol),
            event("ping", r#"{"type": "ping"}"#, eol),
            stop(0, eol)
        );
        let mut sse = SseRestorer::new();
        let mut out = Vec::new();
        for b in stream.as_bytes() {
            sse.feed(&mapping, &[*b], &mut out);
            sse.feed(&mapping, &[], &mut out);
        }
        sse.finish(&mapping, &mut out);
        let want = stream.replace(&ps[1], ORIGINALS[1].1);
        assert_eq!(String::from_utf8(out).unwrap(), want, "{eol:?}");
    }
}

#[test]
fn each_event_goes_out_as_soon_as_it_is_complete() {
    let (mapping, ps) = setup();
    let mut sse = SseRestorer::new();
    let mut out = Vec::new();
    let plain = text_delta(0, "no prefix here", "\n");
    sse.feed(&mapping, plain.as_bytes(), &mut out);
    assert_eq!(out, plain.as_bytes());
    // Only the possible placeholder start is held, not the event.
    out.clear();
    sse.feed(
        &mapping,
        text_delta(0, &format!("x {}", &ps[0][..10]), "\n").as_bytes(),
        &mut out,
    );
    assert_eq!(out, text_delta(0, "x ", "\n").as_bytes());
    out.clear();
    sse.feed(
        &mapping,
        text_delta(0, &format!("{} y", &ps[0][10..]), "\n").as_bytes(),
        &mut out,
    );
    assert_eq!(
        out,
        text_delta(0, &format!("{} y", ORIGINALS[0].1), "\n").as_bytes()
    );
    // An event not yet complete waits for its blank line.
    out.clear();
    let ping = event("ping", r#"{"type": "ping"}"#, "\n");
    sse.feed(&mapping, &ping.as_bytes()[..ping.len() - 1], &mut out);
    assert!(out.is_empty());
    sse.feed(&mapping, b"\n", &mut out);
    assert_eq!(out, ping.as_bytes());
}

#[test]
fn held_text_goes_out_before_the_block_stop() {
    let (mapping, ps) = setup();
    let stream = format!(
        "{}{}",
        text_delta(2, &format!("end {}", ps[1]), "\n"),
        stop(2, "\n")
    );
    let (out, sse) = run(&mapping, stream.as_bytes(), &[]);
    let events = parse(&out);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].restorable().unwrap().2, "end ");
    assert_eq!(
        events[1].restorable().unwrap(),
        (2, "text", ORIGINALS[1].1.to_owned())
    );
    assert_eq!(events[2].raw, stop(2, "\n").as_bytes());
    assert_eq!(sse.synthesized(), 1);
}

#[test]
fn input_json_originals_are_escaped_twice() {
    let (mapping, ps) = setup();
    let masked =
        serde_json::to_string(&serde_json::json!({ "cmd": format!("echo {}", ps[3]) })).unwrap();
    let (a, b) = masked.split_at(masked.find("AWS_").unwrap() + 7);
    let stream = format!(
        "{}{}{}",
        delta(1, "input_json_delta", "partial_json", a, "\n"),
        delta(1, "input_json_delta", "partial_json", b, "\n"),
        stop(1, "\n")
    );
    let (out, _) = run(&mapping, stream.as_bytes(), &[]);
    let events = parse(&out);
    let partial = &texts(&events)[0].1;
    let input: Value = serde_json::from_str(partial).unwrap();
    assert_eq!(input["cmd"], format!("echo {}", ORIGINALS[3].1));
    // On the wire, the quote of the original is escaped twice.
    assert!(String::from_utf8(out)
        .unwrap()
        .contains(r#"say \\\"hi\\\" \\\\ there\\n"#));
}

#[test]
fn text_originals_are_escaped_once_and_other_escapes_survive() {
    let (mapping, ps) = setup();
    let stream = text_delta(0, &format!("a\tb \"{}\" é\u{1}", ps[3]), "\n");
    let (out, _) = run(&mapping, stream.as_bytes(), &[]);
    let events = parse(&out);
    assert_eq!(
        texts(&events)[0].1,
        format!("a\tb \"{}\" é\u{1}", ORIGINALS[3].1)
    );
    assert!(String::from_utf8(out)
        .unwrap()
        .contains(r#""text":"a\tb \"say \"hi\" \\ there\n\" é\u0001"}"#));
}

#[test]
fn thinking_and_signature_are_never_changed() {
    let (mapping, ps) = setup();
    let stream = format!(
        "{}{}{}",
        delta(
            0,
            "thinking_delta",
            "thinking",
            &format!("look at {}", ps[0]),
            "\n"
        ),
        delta(0, "signature_delta", "signature", &ps[1], "\n"),
        stop(0, "\n"),
    );
    let (out, sse) = run(&mapping, stream.as_bytes(), &[]);
    assert_eq!(out, stream.as_bytes());
    assert_eq!(sse.stats(), RestoreStats::default());
}

#[test]
fn multi_line_data_comments_and_fields_pass_or_are_restored_in_place() {
    let (mapping, ps) = setup();
    let stream = format!(
        ": keep-alive\nid: 7\nretry: 100\nevent: content_block_delta\n\
         data: {{\"type\":\"content_block_delta\",\n\
         data:  \"index\":0,\"delta\":{{\"type\":\"text_delta\",\n\
         data: \"text\":\"x {} y\"}}}}\n\n: bye\n\n",
        ps[2]
    );
    let (out, _) = run(&mapping, stream.as_bytes(), &[]);
    let want = stream.replace(&ps[2], ORIGINALS[2].1);
    assert_eq!(String::from_utf8(out).unwrap(), want);
}

#[test]
fn error_event_flushes_held_text_then_passes() {
    let (mapping, ps) = setup();
    let error =
        r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#;
    let stream = format!(
        "{}{}",
        text_delta(0, &format!("x {}", &ps[0][..9]), "\r\n"),
        event("error", error, "\r\n")
    );
    let (out, sse) = run(&mapping, stream.as_bytes(), &[3]);
    let events = parse(&out);
    assert_eq!(events.len(), 3);
    assert_eq!(events[1].restorable().unwrap().2, &ps[0][..9]);
    assert!(events[1].raw.ends_with(b"\r\n\r\n"));
    assert_eq!(events[2].raw, event("error", error, "\r\n").as_bytes());
    assert_eq!(sse.stats().restored, 0);
}

#[test]
fn block_starts_message_deltas_and_errors_are_restored_but_never_thinking() {
    let (mapping, ps) = setup();
    // A server tool's result arrives whole in its block's start; a stop sequence and an
    // error message quote the text they saw; an original with quotes is escaped for JSON.
    let result = format!(
        r#"{{"type":"content_block_start","index":1,"content_block":{{"type":"web_fetch_tool_result","tool_use_id":"srvtoolu_1","content":{{"type":"web_fetch_result","url":"https://example.com","content":{{"type":"document","source":{{"type":"text","media_type":"text/plain","data":"{} and {}"}}}}}}}}}}"#,
        ps[0], ps[3]
    );
    let message_delta = format!(
        r#"{{"type":"message_delta","delta":{{"stop_reason":"stop_sequence","stop_sequence":"{}"}},"usage":{{"output_tokens":9}}}}"#,
        ps[1]
    );
    let error = format!(
        r#"{{"type":"error","error":{{"type":"invalid_request_error","message":"no tool for {}"}}}}"#,
        ps[2]
    );
    let thinking = format!(
        r#"{{"type":"content_block_start","index":0,"content_block":{{"type":"thinking","thinking":"{}","signature":""}}}}"#,
        ps[0]
    );
    let stream = format!(
        "{}{}{}{}",
        event("content_block_start", &thinking, "\n"),
        event("content_block_start", &result, "\n"),
        event("message_delta", &message_delta, "\n"),
        event("error", &error, "\n"),
    );
    let escaped = serde_json::to_string(ORIGINALS[3].1).unwrap();
    let want = format!(
        "{}{}{}{}",
        event("content_block_start", &thinking, "\n"),
        event(
            "content_block_start",
            &result
                .replace(&ps[0], ORIGINALS[0].1)
                .replace(&ps[3], &escaped[1..escaped.len() - 1]),
            "\n"
        ),
        event(
            "message_delta",
            &message_delta.replace(&ps[1], ORIGINALS[1].1),
            "\n"
        ),
        event("error", &error.replace(&ps[2], ORIGINALS[2].1), "\n"),
    );
    for cut in 0..=stream.len() {
        let (out, sse) = run(&mapping, stream.as_bytes(), &[cut]);
        assert_eq!(String::from_utf8_lossy(&out), want, "cut {cut}");
        assert_eq!(sse.stats().restored, 4, "cut {cut}");
    }
}

#[test]
fn stream_cut_mid_event() {
    let (mapping, ps) = setup();
    let whole = text_delta(0, &format!("then {} done", ps[0]), "\n");
    // Cut after the data line but before the blank line: the delta is restored.
    let cut = &whole[..whole.len() - 1];
    let (out, sse) = run(&mapping, cut.as_bytes(), &[20]);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        cut.replace(&ps[0], ORIGINALS[0].1)
    );
    assert_eq!(sse.stats().restored, 1);
    // Cut inside the JSON: held text of the block is flushed first, the fragment passes as is.
    let first = text_delta(0, &format!("then {}", &ps[1][..6]), "\n");
    let fragment = &whole[..40];
    let stream = format!("{first}{fragment}");
    let (out, sse) = run(&mapping, stream.as_bytes(), &[]);
    assert!(out.ends_with(fragment.as_bytes()));
    let events = parse(&out[..out.len() - fragment.len()]);
    assert_eq!(texts(&events), [(0, format!("then {}", &ps[1][..6]))]);
    assert_eq!(sse.malformed(), 1);
}

/// An event whose data is not the JSON expected (cut short, a bad escape) is restored as JSON
/// text, as a whole body that is not JSON is: no issued placeholder reaches the client in it.
/// One of an unknown type passes as it is, and so does one that holds thinking text.
#[test]
fn malformed_events_are_restored_as_text_and_unknown_ones_pass() {
    let (mapping, ps) = setup();
    let bad = |p: &str| {
        format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{p}"#
        )
    };
    let mystery = format!(r#"{{"type":"mystery","text":"{}"}}"#, ps[0]);
    let thinking = format!(
        r#"{{"type":"content_block_delta","index":1,"delta":{{"type":"thinking_delta","thinking":"{}"#,
        ps[0]
    );
    // A bad escape in a delta's text, before the placeholder.
    let escape = |p: &str| {
        format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"\x {p}"}}}}"#
        )
    };
    let stream = |p: &str| {
        [
            event("content_block_delta", &bad(p), "\n"),
            event("content_block_delta", &escape(p), "\n"),
            event("mystery", &mystery, "\n"),
            event("content_block_delta", &thinking, "\n"),
            "data: [DONE]\n\n".to_owned(),
        ]
        .concat()
    };
    let (out, sse) = run(&mapping, stream(&ps[0]).as_bytes(), &[]);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        stream(ORIGINALS[0].1),
        "the first two events restored"
    );
    // The two, the cut thinking delta and `[DONE]`.
    assert_eq!(sse.malformed(), 4);
    assert_eq!(sse.stats().restored, 2);
}

#[test]
fn citations_are_restored_in_place() {
    let (mapping, ps) = setup();
    let data = format!(
        r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"citations_delta","citation":{{"type":"char_location","cited_text":"{} is up","document_index":0}}}}}}"#,
        ps[0]
    );
    let stream = event("content_block_delta", &data, "\n");
    let (out, sse) = run(&mapping, stream.as_bytes(), &[]);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        stream.replace(&ps[0], ORIGINALS[0].1)
    );
    assert_eq!(sse.stats().restored, 1);
}

#[test]
fn unknown_placeholders_are_counted() {
    let (mapping, _) = setup();
    let stream = format!(
        "{}{}",
        text_delta(0, "AWS_EC2_ABCDEFGHIJ", "\n"),
        text_delta(0, "KLM.", "\n")
    );
    let (out, sse) = run(&mapping, stream.as_bytes(), &[]);
    assert_eq!(texts(&parse(&out))[0].1, "AWS_EC2_ABCDEFGHIJKLM.");
    assert_eq!(
        sse.stats(),
        RestoreStats {
            restored: 0,
            unknown: 1
        }
    );
}

#[derive(Clone, Debug)]
enum Kind2 {
    Text,
    Json,
    Thinking,
}

fn masked_text() -> impl Strategy<Value = Vec<Option<String>>> {
    // None = a known placeholder slot (filled by index later), Some = filler.
    prop::collection::vec(
        prop_oneof![
            2 => "[a-z \"\\\\\né😀AWS_]{0,10}".prop_map(Some),
            1 => Just(None),
        ],
        0..10,
    )
}

fn block() -> impl Strategy<
    Value = (
        Kind2,
        Vec<Option<String>>,
        Vec<prop::sample::Index>,
        Vec<bool>,
    ),
> {
    (
        prop_oneof![Just(Kind2::Text), Just(Kind2::Json), Just(Kind2::Thinking)],
        masked_text(),
        prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        prop::collection::vec(any::<bool>(), 0..8),
    )
}

fn split_chars(s: &str, cuts: &[prop::sample::Index]) -> Vec<String> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(s.len() + 1)).collect();
    for p in points.iter_mut() {
        while !s.is_char_boundary(*p) {
            *p -= 1;
        }
    }
    points.sort_unstable();
    let mut at = 0;
    let mut out = Vec::new();
    for p in points {
        out.push(s[at..p].to_owned());
        at = p;
    }
    out.push(s[at..].to_owned());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn restored_stream_keeps_every_invariant(
        blocks in prop::collection::vec(block(), 1..4),
        eol in prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        chunk_cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
        pick in prop::collection::vec(0..ORIGINALS.len(), 10),
    ) {
        let (mapping, ps) = setup();
        let mut stream = event("message_start", r#"{"type":"message_start","message":{"id":"msg_1","content":[]}}"#, eol);
        let mut want = Vec::new();
        let mut known = 0;
        for (i, (kind, pieces, cuts, pings)) in blocks.iter().enumerate() {
            let mut slot = 0;
            let masked: String = pieces.iter().map(|p| match p {
                Some(t) => t.clone(),
                None => { slot += 1; ps[pick[slot - 1]].clone() }
            }).collect();
            let (name, dtype, field, body) = match kind {
                Kind2::Text => ("text", "text_delta", "text", masked.clone()),
                Kind2::Json => ("tool_use", "input_json_delta", "partial_json",
                    serde_json::to_string(&serde_json::json!({ "q": masked })).unwrap()),
                Kind2::Thinking => ("thinking", "thinking_delta", "thinking", masked.clone()),
            };
            match kind {
                Kind2::Text => { known += slot; want.push((i as u64, unmask(&body, &ps))) }
                Kind2::Json => {
                    known += slot;
                    let q = unmask(&masked, &ps);
                    want.push((i as u64, serde_json::to_string(&serde_json::json!({ "q": q })).unwrap()));
                }
                Kind2::Thinking => {}
            }
            stream.push_str(&event("content_block_start",
                &format!(r#"{{"type":"content_block_start","index":{i},"content_block":{{"type":"{name}"}}}}"#), eol));
            for (n, piece) in split_chars(&body, cuts).iter().enumerate() {
                stream.push_str(&delta(i, dtype, field, piece, eol));
                if pings.get(n).copied().unwrap_or(false) {
                    stream.push_str(&event("ping", r#"{"type": "ping"}"#, eol));
                }
            }
            if let Kind2::Thinking = kind {
                stream.push_str(&delta(i, "signature_delta", "signature", "EqQBCgIYAhIM", eol));
            }
            stream.push_str(&stop(i, eol));
        }
        stream.push_str(&event("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#, eol));
        stream.push_str(&event("message_stop", r#"{"type":"message_stop"}"#, eol));

        let mut cuts: Vec<usize> = chunk_cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let (out, sse) = run(&mapping, stream.as_bytes(), &cuts);

        let events = parse(&out);
        for e in &events {
            if let Some(d) = &e.data {
                prop_assert!(serde_json::from_str::<Value>(d).is_ok(), "bad data {:?}", d);
            }
        }
        let mut got = texts(&events);
        got.retain(|(_, t)| !t.is_empty());
        want.retain(|(_, t)| !t.is_empty());
        prop_assert_eq!(got, want);
        // Thinking, signatures, starts, stops, pings, message events: identical and in order.
        let input = parse(stream.as_bytes());
        prop_assert_eq!(others(&events), others(&input));
        prop_assert_eq!(sse.stats().restored, known as u64);
        prop_assert_eq!(sse.malformed(), 0);
    }
}

#[test]
fn the_compact_shape_is_read_as_the_member_scan_reads_it() {
    let compact = [
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        r#"{"type":"content_block_delta","index":12,"delta":{"type":"text_delta","text":"a\"b\\"}}"#,
        r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"k\":"}}"#,
        r#"{"type":"content_block_delta","index":7,"delta":{"type":"text_delta","text":""}}"#,
    ];
    for data in compact {
        let fast = classify_compact_delta(data.as_bytes());
        assert!(fast.is_some(), "{data}");
        assert_eq!(fast, Some(classify_members(data.as_bytes())), "{data}");
    }
    // Other spellings, and near misses, are left to the member scan.
    let other = [
        r#"{"type": "content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        r#"{"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}"#,
        r#"{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"Hi"}}"#,
        r#"{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"Hi"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}} "#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"},"x":1}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hi"}}"#,
        r#"{"type":"content_block_delta","index":1234567890,"delta":{"type":"text_delta","text":"Hi"}}"#,
    ];
    for data in other {
        assert_eq!(classify_compact_delta(data.as_bytes()), None, "{data}");
    }
}

#[test]
fn only_text_that_may_hold_a_placeholder_is_restored() {
    for raw in [
        "AWS_",
        "x AWS_EC2",
        "ends in A",
        "ends in AW",
        "ends in AWS",
        r"\u0041WS_",
    ] {
        assert!(scan_delta(raw.as_bytes()).1, "{raw}");
        assert_eq!(scan_delta(raw.as_bytes()).0, raw.contains('\\'), "{raw}");
    }
    for raw in [
        "",
        "Amazon Web Services",
        "AWS is",
        "AWSX",
        r#"a \"quoted\" \n"#,
        "ABAB",
    ] {
        assert!(!scan_delta(raw.as_bytes()).1, "{raw}");
        assert_eq!(scan_delta(raw.as_bytes()).0, raw.contains('\\'), "{raw}");
    }
    // An escape after the placeholder is still seen (the scan does not stop at the first).
    assert_eq!(scan_delta(br"AWS_EC2 \n"), (true, true));
}

#[test]
fn whole_events_in_a_chunk_are_read_as_the_line_by_line_path_reads_them() {
    let (mapping, ps) = setup();
    let d = |text: &str| {
        format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{text}"}}}}"#
        )
    };
    let p = &ps[2];
    let streams = [
        // Line endings mixed inside one event: `\r` ends a line too.
        format!("event: content_block_delta\ndata: {}\r\n\n", d(&format!("a {p}"))),
        format!("data: {}\rdata: x\n\n", d(p)),
        format!("data: {}\r\rdata: {}\n\n", d(p), d(p)),
        format!("data: {}\r\n\r\ndata: {}\n\n", d(p), d("b")),
        // Several data lines, none, an empty one, comments, an event of no line.
        format!("data: {{\"type\":\"content_block_delta\",\ndata: \"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{p}\"}}}}\n\n"),
        format!("event: ping\n\n: comment\n\ndata\n\n\n\ndata:{}\n\n", d(p)),
        // The API's own spelling, and near misses of it: a raw line break inside the string
        // (ends the line), `\r\n` after it, no blank line yet, another event name.
        format!("event: content_block_delta\ndata: {}\n\n", d(&format!("x {p} y"))),
        format!("event: content_block_delta\ndata: {}\n\n", d(&format!("x\n{p}"))),
        format!("event: content_block_delta\ndata: {}\n\n", d(&format!("x\r{p}"))),
        format!("event: content_block_delta\ndata: {}\r\n\n", d(p)),
        format!("event: content_block_delta\ndata: {}\ndata: {{}}\n\n", d(p)),
        format!("event: content_block_delta\ndata: {}\n", d(p)),
        format!("event: content_block_deltas\ndata: {}\n\n", d(p)),
        // Held text, then the stop, in one chunk.
        format!("data: {}\n\ndata: {}\n\n{}", d(&p[..6]), d(&p[6..]), stop(0, "\n")),
    ];
    for stream in &streams {
        let whole = run(&mapping, stream.as_bytes(), &[]).0;
        let cuts: Vec<usize> = (1..stream.len()).collect();
        let bytewise = run(&mapping, stream.as_bytes(), &cuts).0;
        assert_eq!(
            String::from_utf8(whole).unwrap(),
            String::from_utf8(bytewise).unwrap(),
            "{stream:?}"
        );
    }
}

#[test]
fn an_event_over_the_limit_passes_unchanged_and_reading_resumes_after_it() {
    let (mapping, ps) = setup();
    for eol in ["\n", "\r\n", "\r"] {
        let held = text_delta(0, &format!("see {}", &ps[0][..8]), eol);
        // A server tool's result far over the limit, with a placeholder in it.
        let big = event(
            "content_block_start",
            &format!(
                r#"{{"type":"content_block_start","index":1,"content_block":{{"type":"web_fetch_tool_result","content":"{} {}"}}}}"#,
                "x".repeat(600),
                ps[1]
            ),
            eol,
        );
        let after = text_delta(2, &format!("then {}", ps[2]), eol);
        let stream = format!("{held}{big}{after}");
        let limit = 200;
        for step in [1, 7, 64, 199, 1000, stream.len()] {
            let mut sse = SseRestorer::with_event_limit(limit);
            let mut out = Vec::new();
            let mut peak = 0;
            for chunk in stream.as_bytes().chunks(step) {
                sse.feed(&mapping, chunk, &mut out);
                peak = peak.max(sse.event.capacity()).max(sse.data.capacity());
            }
            sse.finish(&mapping, &mut out);
            let what = format!("eol {eol:?}, chunks of {step}");
            assert!(
                peak <= 2 * limit + step.min(limit) + 64,
                "{what}: held {peak}"
            );
            // An event whole in one chunk may be read where it is, whatever its size; one
            // gathered from smaller chunks is given up on past the limit.
            let whole = sse.oversized() == 0;
            assert!(!whole || step > limit, "{what}");
            let events = parse(&out);
            // The held text went out (in a delta of its own) before the big event, which
            // passed as it came, and the event after it was restored.
            assert_eq!(events.len(), 5, "{what}: {}", String::from_utf8_lossy(&out));
            assert_eq!(
                texts(&events),
                [
                    (0, format!("see {}", &ps[0][..8])),
                    (2, format!("then {}", ORIGINALS[2].1))
                ],
                "{what}"
            );
            let want = if whole {
                unmask(&big, &ps)
            } else {
                big.clone()
            };
            let at = events.iter().position(|e| e.raw == want.as_bytes());
            // Spilled, it comes right after the held text; whole, the held text waits for
            // its block's next event (here the end).
            assert_eq!(at, Some(if whole { 1 } else { 2 }), "{what}");
        }
    }
}

#[test]
fn a_stream_without_blank_lines_holds_no_more_than_the_limit() {
    let (mapping, _) = setup();
    let mut sse = SseRestorer::with_event_limit(1000);
    let mut out = Vec::new();
    let line = "data: x\n".repeat(64);
    for _ in 0..1000 {
        sse.feed(&mapping, line.as_bytes(), &mut out);
        assert!(sse.event.capacity() <= 4 * 1000 && sse.data.capacity() <= 4 * 1000);
    }
    sse.finish(&mapping, &mut out);
    assert_eq!(out, line.repeat(1000).as_bytes());
}

#[test]
fn held_text_goes_out_in_its_own_event_before_an_event_cut_short() {
    let (mapping, ps) = setup();
    let first = text_delta(0, &format!("then {}", &ps[1][..6]), "\n");
    // The last event's data line is whole but its blank line never comes: SSE readers drop
    // it, so the held text of the complete event before it must not be merged into it.
    let cut = text_delta(0, " ok", "\n");
    let cut = &cut[..cut.len() - 1];
    let stream = format!("{first}{cut}");
    for at in 0..stream.len() {
        let (out, _) = run(&mapping, stream.as_bytes(), &[at]);
        let out = String::from_utf8(out).unwrap();
        assert!(out.ends_with(cut), "cut at {at}: {out}");
        let events = parse(&out.as_bytes()[..out.len() - cut.len()]);
        assert_eq!(
            texts(&events),
            [(0, format!("then {}", &ps[1][..6]))],
            "cut at {at}"
        );
    }
}

#[test]
fn held_text_goes_out_before_a_delta_that_cannot_be_decoded() {
    let (mapping, ps) = setup();
    let lone = event(
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\ud83d!"}}"#,
        "\n",
    );
    let stream = format!(
        "{}{lone}{}",
        text_delta(0, &format!("see {}", &ps[0][..6]), "\n"),
        text_delta(0, " end", "\n")
    );
    let (out, sse) = run(&mapping, stream.as_bytes(), &[]);
    let out = String::from_utf8(out).unwrap();
    let held = out.find(&ps[0][..6]).unwrap();
    let passed = out.find("\\ud83d!").unwrap();
    assert!(held < passed, "{out}");
    assert_eq!(sse.malformed(), 1);
}
