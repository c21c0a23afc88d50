use proptest::prelude::*;

use super::*;

/// What a test sees of a site: role, key, object type, decoded text, frozen, nesting, and
/// the raw body bytes of the site's span.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    role: Role,
    key: Option<String>,
    ty: Option<String>,
    text: String,
    frozen: bool,
    nesting: usize,
    raw: String,
}

impl Seen {
    fn of(s: &Site<'_>, body: &str) -> Seen {
        Seen {
            role: s.role,
            key: s.key.map(str::to_owned),
            ty: s.object_type.map(str::to_owned),
            text: s.text.to_owned(),
            frozen: s.frozen(),
            nesting: s.nesting,
            raw: body[s.span()].to_owned(),
        }
    }
}

fn walk_with(body: &str, options: WalkOptions) -> Vec<Seen> {
    let doc = Document::parse(body.as_bytes()).unwrap();
    let mut seen = Vec::new();
    doc.walk(options, &mut |s: &Site<'_>| seen.push(Seen::of(s, body)));
    seen
}

fn walk(body: &str) -> Vec<Seen> {
    walk_with(body, WalkOptions::default())
}

/// (text, frozen) of every value.
fn values(body: &str) -> Vec<(String, bool)> {
    walk(body)
        .into_iter()
        .filter(|s| s.role == Role::Value)
        .map(|s| (s.text, s.frozen))
        .collect()
}

fn value(body: &str, text: &str) -> Seen {
    walk(body)
        .into_iter()
        .find(|s| s.role == Role::Value && s.text == text)
        .unwrap_or_else(|| panic!("no value {text:?} in {body}"))
}

#[test]
fn skip_rules_of_the_messages_api() {
    // (body, value text, frozen?)
    let table: &[(&str, &str, bool)] = &[
        (
            r#"{"model":"claude-sonnet-4-5","max_tokens":10}"#,
            "claude-sonnet-4-5",
            true,
        ),
        (
            r#"{"messages":[{"role":"user","content":"hi"}]}"#,
            "user",
            true,
        ),
        (
            r#"{"messages":[{"role":"user","content":"hi"}]}"#,
            "hi",
            false,
        ),
        (
            r#"{"content":[{"type":"text","text":"hello"}]}"#,
            "text",
            true,
        ),
        (
            r#"{"content":[{"type":"text","text":"hello"}]}"#,
            "hello",
            false,
        ),
        (
            r#"{"type":"tool_use","id":"toolu_01","name":"aws","input":{}}"#,
            "toolu_01",
            true,
        ),
        (
            r#"{"type":"tool_use","id":"toolu_01","name":"aws","input":{}}"#,
            "aws",
            false,
        ),
        (
            r#"{"type":"tool_result","tool_use_id":"toolu_01","content":"out"}"#,
            "toolu_01",
            true,
        ),
        (
            r#"{"type":"tool_result","tool_use_id":"toolu_01","content":"out"}"#,
            "out",
            false,
        ),
        (
            r#"{"type":"thinking","thinking":"hmm","signature":"Eq0B"}"#,
            "hmm",
            true,
        ),
        (
            r#"{"type":"thinking","thinking":"hmm","signature":"Eq0B"}"#,
            "Eq0B",
            true,
        ),
        (
            r#"{"type":"redacted_thinking","data":"EmwK"}"#,
            "EmwK",
            true,
        ),
        (
            r#"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}"#,
            "iVBOR",
            true,
        ),
        (
            r#"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}"#,
            "image/png",
            false,
        ),
        (
            r#"{"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"}}"#,
            "doc",
            false,
        ),
        (
            r#"{"type":"document","source":{"type":"url","url":"https://x/y"}}"#,
            "https://x/y",
            false,
        ),
        (
            r#"{"type":"text","text":"t","cache_control":{"type":"ephemeral","ttl":"5m"}}"#,
            "5m",
            true,
        ),
        (
            r#"{"type":"text","text":"t","cache_control":{"type":"ephemeral","ttl":"5m"}}"#,
            "t",
            false,
        ),
        // The request's thinking config is not a thinking block.
        (
            r#"{"thinking":{"type":"enabled","budget_tokens":1024},"system":"s"}"#,
            "s",
            false,
        ),
        // SSE event data (the restore side walks these).
        (
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"so"}}"#,
            "so",
            true,
        ),
        (
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"Eq"}}"#,
            "Eq",
            true,
        ),
        (
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"so"}}"#,
            "so",
            false,
        ),
        (
            r#"{"type":"web_search_tool_result","content":[{"type":"web_search_result","encrypted_content":"Eu8B","title":"T"}]}"#,
            "Eu8B",
            true,
        ),
        (
            r#"{"type":"web_search_tool_result","content":[{"type":"web_search_result","encrypted_content":"Eu8B","title":"T"}]}"#,
            "T",
            false,
        ),
        // Batches and metadata are scanned.
        (
            r#"{"requests":[{"custom_id":"req-1","params":{"model":"m"}}]}"#,
            "req-1",
            false,
        ),
        (
            r#"{"requests":[{"custom_id":"req-1","params":{"model":"m"}}]}"#,
            "m",
            true,
        ),
        (r#"{"metadata":{"user_id":"u-1"}}"#, "u-1", false),
        // An `id` outside typed objects is user data until proven otherwise.
        (
            r#"{"tools":[{"name":"x","input_examples":[{"id":"i-1"}]}]}"#,
            "i-1",
            false,
        ),
        (
            r#"{"id":"msg_1","type":"message","role":"assistant"}"#,
            "msg_1",
            true,
        ),
    ];
    for &(body, text, frozen) in table {
        assert_eq!(value(body, text).frozen, frozen, "{text:?} in {body}");
    }
}

#[test]
fn sibling_order_does_not_matter() {
    let table: &[(&str, bool)] = &[
        (
            r#"{"data":"X","media_type":"image/png","type":"base64"}"#,
            true,
        ),
        (r#"{"data":"X","type":"text"}"#, false),
        (
            r#"{"signature":"S","thinking":"X","type":"thinking"}"#,
            true,
        ),
        (r#"{"data":"X","type":"redacted_thinking"}"#, true),
        // Nested containers before `type` are skipped by the lookahead.
        (
            r#"{"data":"X","extra":{"type":"text","a":[1,{"b":"c"}]},"type":"base64"}"#,
            true,
        ),
        // A `type` spelled with an escape is still `type`.
        (r#"{"data":"X","t\u0079pe":"base64"}"#, true),
        // Two different types: unknown, so nothing is frozen by type.
        (r#"{"type":"base64","data":"X","type":"text"}"#, false),
        (r#"{"type":"base64","data":"X","type":"base64"}"#, true),
        // A `type` that is not a string gives no type.
        (r#"{"type":{"a":"base64"},"data":"X"}"#, false),
    ];
    for &(body, frozen) in table {
        assert_eq!(value(body, "X").frozen, frozen, "{body}");
    }
    assert_eq!(
        value(r#"{"data":"X","type":"base64"}"#, "X").ty.as_deref(),
        Some("base64")
    );
}

#[test]
fn tool_inputs_and_schemas_are_user_data() {
    let body = r#"{"content":[{"type":"tool_use","id":"toolu_1","name":"ec2",
        "input":{"id":"i-1","type":"t1","model":"m1","cache_control":{"x":"c1"},"nested":{"id":"i-2"}}}],
        "tools":[{"name":"ec2","input_schema":{"type":"object","properties":{"id":{"type":"string"}}}}]}"#;
    let vals = values(body);
    for text in ["i-1", "t1", "m1", "c1", "i-2", "object", "string"] {
        assert!(
            vals.contains(&(text.to_owned(), false)),
            "{text} should be scanned"
        );
    }
    assert!(vals.contains(&("toolu_1".to_owned(), true)));
}

#[test]
fn keys_are_visited_and_values_know_their_key() {
    let body =
        r#"{"Reservations":[{"Instances":[{"InstanceId":"i-1","Tags":["a","b"]}]}],"i-key":1}"#;
    let seen = walk(body);
    let keys: Vec<&str> = seen
        .iter()
        .filter(|s| s.role == Role::Key)
        .map(|s| s.text.as_str())
        .collect();
    assert_eq!(
        keys,
        ["Reservations", "Instances", "InstanceId", "Tags", "i-key"]
    );
    assert!(seen
        .iter()
        .filter(|s| s.role == Role::Key)
        .all(|s| s.key.is_none()));
    assert_eq!(value(body, "i-1").key.as_deref(), Some("InstanceId"));
    // Array elements take the key of their array.
    assert_eq!(value(body, "b").key.as_deref(), Some("Tags"));
    // A root string has no key.
    assert_eq!(walk(r#""i-1""#)[0].key, None);
}

/// Skips the keys it is asked about that start with `s`, and records what it is asked
/// and what it visits.
#[derive(Default)]
struct SkipsS {
    asked: Vec<String>,
    visited: Vec<String>,
}

impl Visitor for SkipsS {
    fn visit(&mut self, site: &Site<'_>) {
        self.visited.push(site.text.to_owned());
    }
    fn skips_key(&mut self, text: &str) -> bool {
        self.asked.push(text.to_owned());
        text.starts_with('s')
    }
}

#[test]
fn keys_a_visitor_skips_are_not_visited() {
    // Asked: keys in place and not frozen, in the body and in JSON inside a string walked
    // in place. Not asked: values, an escaped key, frozen keys (under `cache_control`), the
    // keys of JSON that had to be decoded (`\u0073` is `s`).
    let body = r#"{"system":"s1","st\u0061te":"x","cache_control":{"saved":"y"},
        "messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t",
        "content":"{\"size\": \"big\", \"name\": \"n\"}"}]},
        {"role":"user","content":"[{\"\u0073ort\": \"\u0073\"}]"}]}"#;
    let doc = Document::parse(body.as_bytes()).unwrap();
    let mut v = SkipsS::default();
    doc.walk(WalkOptions::default(), &mut v);
    assert_eq!(
        v.asked,
        [
            "system",
            "cache_control",
            "messages",
            "role",
            "content",
            "type",
            "tool_use_id",
            "content",
            "size",
            "name",
            "role",
            "content"
        ]
    );
    for skipped in ["system", "size"] {
        assert!(!v.visited.iter().any(|t| t == skipped), "{skipped} visited");
    }
    for visited in ["s1", "state", "saved", "big", "name", "n", "sort", "s"] {
        assert!(
            v.visited.iter().any(|t| t == visited),
            "{visited} not visited"
        );
    }
    // The same walk with a visitor that skips nothing visits two keys more.
    let mut all = 0;
    doc.walk(WalkOptions::default(), &mut |_: &Site<'_>| all += 1);
    assert_eq!(all, v.visited.len() + 2);
}

#[test]
fn frozen_subtrees_freeze_their_keys_too() {
    let seen = walk(r#"{"cache_control":{"type":"ephemeral"}}"#);
    let inner_key = seen.iter().find(|s| s.text == "type").unwrap();
    assert!(inner_key.frozen);
    assert!(
        !seen
            .iter()
            .find(|s| s.text == "cache_control")
            .unwrap()
            .frozen
    );
}

#[test]
fn escapes_are_decoded_and_spans_cover_raw_bytes() {
    // (body, decoded value, raw span text)
    let table: &[(&str, &str, &str)] = &[
        (
            r#"["arn:aws:s3:::b\/logs"]"#,
            "arn:aws:s3:::b/logs",
            r"arn:aws:s3:::b\/logs",
        ),
        (r#"["i\u002d0b26"]"#, "i-0b26", r"i\u002d0b26"),
        (r#"["\ud83d\ude00 ok"]"#, "😀 ok", r"\ud83d\ude00 ok"),
        (r#"["tab\there"]"#, "tab\there", r"tab\there"),
        (r#"["q\"uote\\"]"#, "q\"uote\\", r#"q\"uote\\"#),
        (r#"["é€ unescaped"]"#, "é€ unescaped", "é€ unescaped"),
    ];
    for &(body, text, raw) in table {
        let s = value(body, text);
        assert_eq!(s.raw, raw, "{body}");
        assert!(!s.frozen);
    }
}

#[test]
fn sub_ranges_map_through_escapes() {
    let body = r#"{"a":"x \u0069-0b26\/y \ud83d\ude00 i-1234"}"#;
    let doc = Document::parse(body.as_bytes()).unwrap();
    let mut spans = Vec::new();
    doc.walk(WalkOptions::default(), &mut |s: &Site<'_>| {
        if s.role == Role::Value {
            assert_eq!(s.text, "x i-0b26/y 😀 i-1234");
            spans.push(&body[s.raw_span(2..8)]);
            spans.push(&body[s.raw_span(8..10)]);
            spans.push(&body[s.raw_span(11..15)]);
            spans.push(&body[s.raw_span(16..22)]);
            // Boundaries inside the emoji's bytes widen to the whole surrogate pair.
            spans.push(&body[s.raw_span(12..13)]);
        }
    });
    assert_eq!(
        spans,
        [
            r"\u0069-0b26",
            r"\/y",
            r"\ud83d\ude00",
            "i-1234",
            r"\ud83d\ude00"
        ]
    );
}

#[test]
fn json_inside_strings_is_walked_with_its_keys() {
    // Depth 1: a tool_result carrying CLI output.
    let cli = r#"{"Buckets":[{"Name":"my-bucket"}],"Owner":{"ID":"abc"}}"#;
    let body =
        serde_json::json!({"type": "tool_result", "tool_use_id": "t", "content": cli}).to_string();
    let s = value(&body, "my-bucket");
    assert_eq!(
        (s.key.as_deref(), s.nesting, s.frozen),
        (Some("Name"), 1, false)
    );
    assert_eq!(s.raw, "my-bucket");
    // Inner JSON is user data: its `ID` (and an `id`) are scanned.
    assert!(!value(&body, "abc").frozen);
    // The string itself is not visited as text.
    assert!(walk(&body).iter().all(|s| !s.text.contains("Buckets\"")));

    // Depth 2: stringified tool arguments inside a tool result string.
    let inner = serde_json::json!({"Bucket": "deep\"bucket", "n": 1}).to_string();
    let mid = serde_json::json!({"args": inner}).to_string();
    let body2 = serde_json::json!({"content": mid}).to_string();
    let s = value(&body2, "deep\"bucket");
    assert_eq!((s.key.as_deref(), s.nesting), (Some("Bucket"), 2));
    // The quote of `deep"bucket` is escaped three times in the body: 7 backslashes.
    assert_eq!(s.raw, format!("deep{}\"bucket", "\\".repeat(7)));

    // Depth 3, with escapes at every level.
    let l3 = serde_json::json!({"InstanceId": "i-0b26/x"})
        .to_string()
        .replace('/', "\\/");
    let l2 = serde_json::json!([l3]).to_string();
    let l1 = serde_json::json!({"out": l2}).to_string();
    let body3 = serde_json::json!({"content": l1}).to_string();
    let s = value(&body3, "i-0b26/x");
    assert_eq!((s.key.as_deref(), s.nesting), (Some("InstanceId"), 3));
    let raw: serde_json::Value = serde_json::from_str(&format!("\"{}\"", s.raw)).unwrap();
    // Decoding the raw span four times (body, levels 1, 2, 3) gives the value back.
    let mut text = raw.as_str().unwrap().to_owned();
    for _ in 0..3 {
        text = serde_json::from_str::<String>(&format!("\"{text}\"")).unwrap();
    }
    assert_eq!(text, "i-0b26/x");
}

#[test]
fn inner_json_inherits_the_outer_key_until_an_inner_key() {
    let body = serde_json::json!({"BucketNames": "[\"b1\", {\"Other\": \"b2\"}]"}).to_string();
    assert_eq!(value(&body, "b1").key.as_deref(), Some("BucketNames"));
    assert_eq!(value(&body, "b2").key.as_deref(), Some("Other"));
}

#[test]
fn json_nesting_is_bounded_and_invalid_inner_json_is_text() {
    let mut s = serde_json::json!({"k": "v"}).to_string();
    for _ in 0..6 {
        s = serde_json::json!({"k": s}).to_string();
    }
    let body = serde_json::json!({"content": s}).to_string();
    let seen = walk_with(
        &body,
        WalkOptions {
            rules: Rules::MessagesApi,
            max_nesting: 4,
            ..WalkOptions::default()
        },
    );
    let values: Vec<&Seen> = seen.iter().filter(|s| s.role == Role::Value).collect();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].nesting, 4);
    assert!(values[0].text.starts_with("{\"k\":"));
    // No nesting at all.
    let flat = walk_with(
        &body,
        WalkOptions {
            rules: Rules::MessagesApi,
            max_nesting: 0,
            ..WalkOptions::default()
        },
    );
    assert_eq!(flat.iter().filter(|s| s.role == Role::Value).count(), 1);
    assert_eq!(
        flat.iter().find(|s| s.role == Role::Value).unwrap().nesting,
        0
    );
    // Looks like JSON but is not: visited as text.
    let broken = r#"{"content":"{\"a\": \"i-1\",}"}"#;
    assert_eq!(value(broken, "{\"a\": \"i-1\",}").nesting, 0);
}

#[test]
fn rules_none_freezes_nothing() {
    let body = r#"{"type":"base64","data":"X","id":"i","model":"m"}"#;
    let seen = walk_with(
        body,
        WalkOptions {
            rules: Rules::None,
            max_nesting: 4,
            ..WalkOptions::default()
        },
    );
    assert!(seen.iter().all(|s| !s.frozen));
    assert_eq!(seen.len(), 8);
}

#[test]
fn scalars_and_whitespace_are_not_visited() {
    let body = " {\n\t\"a\" : [ 1, -2.5e+3, true, false, null, 0, 1E2, -0.0 ] , \"b\":\"x\" }\r\n";
    let seen = walk(body);
    assert_eq!(
        seen.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
        ["a", "b", "x"]
    );
    // Values after scalar siblings are still paired with their keys.
    let body = r#"{"a":1,"b":null,"c":"x","d":[],"e":{},"f":"y"}"#;
    assert_eq!(value(body, "x").key.as_deref(), Some("c"));
    assert_eq!(value(body, "y").key.as_deref(), Some("f"));
}

#[test]
fn whitespace_runs_of_any_length() {
    for n in 0..20 {
        let pad = " ".repeat(n);
        let body =
            format!("{pad}{{{pad}\"a\"{pad}:{pad}[{pad}1{pad},\n{pad}\"x\"{pad}]{pad}}}{pad}");
        assert_eq!(values(&body), [("x".to_owned(), false)], "{n} spaces");
        let bad = format!("[{pad}x]");
        assert_eq!(
            Document::parse(bad.as_bytes()).unwrap_err(),
            JsonError::Syntax {
                offset: 1 + n,
                what: "expected a value"
            }
        );
    }
}

#[test]
fn invalid_documents_give_offsets() {
    let syntax = |offset, what| Err(JsonError::Syntax { offset, what });
    let table: &[(&[u8], Result<(), JsonError>)] = &[
        (b"", syntax(0, "unexpected end of input")),
        (b"   ", syntax(3, "unexpected end of input")),
        (b"{", syntax(1, "unexpected end of input")),
        (b"{\"a\"}", syntax(4, "expected ':'")),
        (b"{\"a\":}", syntax(5, "expected a value")),
        (b"{\"a\":1,}", syntax(7, "expected a key")),
        (b"{1:2}", syntax(1, "expected a key or '}'")),
        (b"[1,]", syntax(3, "expected a value")),
        (b"[1 2]", syntax(3, "expected ',' or ']'")),
        (b"{\"a\":1 \"b\":2}", syntax(7, "expected ',' or '}'")),
        (b"[1]]", syntax(3, "trailing characters")),
        (b"{} x", syntax(3, "trailing characters")),
        (b"[01]", syntax(2, "expected ',' or ']'")),
        (b"[1.]", syntax(3, "invalid number")),
        (b"[1e]", syntax(3, "invalid number")),
        (b"[-]", syntax(2, "invalid number")),
        (b"[+1]", syntax(1, "expected a value")),
        (b"[tru]", syntax(1, "invalid literal")),
        (b"[nul", syntax(1, "invalid literal")),
        (b"[\"abc", syntax(1, "unterminated string")),
        (b"[\"a\x01b\"]", syntax(3, "control character in string")),
        (b"[\"a\nb\"]", syntax(3, "control character in string")),
        (b"[\"a\\qb\"]", syntax(3, "invalid escape")),
        (b"[\"\\u12x4\"]", syntax(2, "invalid \\u escape")),
        (b"[\"\\ud800\"]", syntax(2, "lone surrogate in \\u escape")),
        (
            b"[\"\\udc00\\ud800\"]",
            syntax(2, "lone surrogate in \\u escape"),
        ),
        (b"[\"ok\xff\"]", Err(JsonError::Utf8 { offset: 4 })),
        (b"\xc3(", Err(JsonError::Utf8 { offset: 0 })),
        (b"[\"ok\"]", Ok(())),
        (b"\"\\ud83d\\ude00\"", Ok(())),
        (b"-0.5e-7", Ok(())),
    ];
    for (body, want) in table {
        let got = Document::parse(body).map(|_| ());
        assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(body));
    }
}

#[test]
fn errors_in_long_strings_have_exact_offsets() {
    let syntax = |offset, what| Err(JsonError::Syntax { offset, what });
    let a40 = "a".repeat(40);
    let table: Vec<(String, Result<(), JsonError>)> = vec![
        (
            format!("[\"{a40}\u{1}\"]"),
            syntax(42, "control character in string"),
        ),
        (
            format!("[\"{a40}\\n{}\u{1f}\"]", "b".repeat(30)),
            syntax(74, "control character in string"),
        ),
        (
            format!("[\"{a40}\u{1f}{a40}\\x\"]"),
            syntax(42, "control character in string"),
        ),
        (
            format!("[\"{a40}\\x{a40}\u{1f}\"]"),
            syntax(42, "invalid escape"),
        ),
        (format!("[\"{a40}{a40}"), syntax(1, "unterminated string")),
        (format!("[\"{a40}\\\"{a40}\"]"), Ok(())),
    ];
    for (body, want) in table {
        assert_eq!(
            Document::parse(body.as_bytes()).map(|_| ()),
            want,
            "{body:?}"
        );
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_an_error() {
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(Document::parse(ok.as_bytes()).is_ok());
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert_eq!(
        Document::parse(deep.as_bytes()).unwrap_err(),
        JsonError::TooDeep {
            offset: MAX_DEPTH,
            max: MAX_DEPTH
        }
    );
    // Objects count too, and a million-deep body fails fast instead of overflowing a stack.
    let objects = "{\"a\":".repeat(1_000_000);
    assert!(matches!(
        Document::parse(objects.as_bytes()),
        Err(JsonError::TooDeep { .. })
    ));
    // Walking the deepest accepted document works.
    let deep_ok = format!(
        "{}\"x\"{}",
        "{\"a\":".repeat(MAX_DEPTH),
        "}".repeat(MAX_DEPTH)
    );
    assert_eq!(walk(&deep_ok).len(), MAX_DEPTH + 1);
}

#[test]
fn huge_strings() {
    let big = "word ".repeat(400_000);
    let body = format!(r#"{{"a":"{big}\n\u00e9 i-1234","b":"{big}"}}"#);
    let seen = walk(&body);
    let a = seen.iter().find(|s| s.key.as_deref() == Some("a")).unwrap();
    assert_eq!(a.text.len(), big.len() + 1 + 2 + 7);
    assert!(a.raw.ends_with(r"\n\u00e9 i-1234"));
    let b = seen.iter().find(|s| s.key.as_deref() == Some("b")).unwrap();
    assert_eq!(b.text, big);
}

#[test]
fn errors_display_numbers_not_content() {
    let err = Document::parse(b"{\"secret-i-0123\" x").unwrap_err();
    let msg = err.to_string();
    assert_eq!(msg, "invalid json at byte 17: expected ':'");
    assert_eq!(
        JsonError::Utf8 { offset: 3 }.to_string(),
        "invalid utf-8 at byte 3"
    );
}

/// Every site of `body` as [`walk`] sees it, with the raw bytes of a few sub-ranges too.
fn sites(body: &str, decoding: bool) -> Vec<(Seen, Vec<String>)> {
    let doc = Document::parse(body.as_bytes()).unwrap();
    let mut seen = Vec::new();
    let mut visit = |s: &Site<'_>| {
        let cuts: Vec<usize> = (0..=s.text.len())
            .filter(|&i| s.text.is_char_boundary(i))
            .step_by(3)
            .collect();
        let subs = cuts
            .windows(2)
            .map(|w| body[s.raw_span(w[0]..w[1])].to_owned())
            .collect();
        if s.in_place() {
            assert_eq!(&body[s.span()], s.text);
        }
        seen.push((Seen::of(s, body), subs));
    };
    if decoding {
        doc.walk_decoding(WalkOptions::default(), &mut visit);
    } else {
        doc.walk(WalkOptions::default(), &mut visit);
    }
    seen
}

/// True when the tokenizer read the JSON inside the string value of `{"content": ...}`.
fn read_inline(body: &str) -> bool {
    let doc = Document::parse(body.as_bytes()).unwrap();
    let tok = doc.tape[2];
    assert!(!tok.is_container() && !tok.is_key(), "{body}");
    doc.quoted
        .docs
        .iter()
        .any(|(start, _)| *start as usize == tok.start())
}

#[test]
fn json_in_strings_is_tokenized_escaped_when_its_strings_hold_no_escape() {
    let cli = serde_json::to_string_pretty(&serde_json::json!({
        "Reservations": [{"Instances": [{"InstanceId": "i-0b263919b6498b123", "State": {"Code": 16},
            "Tags": [], "Ok": true, "None": null, "Ratio": -1.5e3}], "OwnerId": "123456789012"}]
    }))
    .unwrap();
    let accepted = [
        cli.clone(),
        cli.replace('\n', "\r\n"),
        cli.replace("  ", "\t"),
        "[]".to_owned(),
        " \n [\"a\", {}] \n ".to_owned(),
        "{\"a\":[[[\"b\"]]]}".to_owned(),
    ];
    for inner in &accepted {
        assert!(
            read_inline(&serde_json::json!({ "content": inner }).to_string()),
            "{inner}"
        );
    }
    let refused = [
        // Escapes inside its strings, or spelled other than the short way.
        "{\"a\":\"x\\ny\"}".to_owned(),
        "{\"a\":\"say \\\"hi\\\"\"}".to_owned(),
        "{\"a\":\"\u{1}\"}".to_owned(),
        // Not an object or array, or not JSON.
        "plain text".to_owned(),
        "\"a string\"".to_owned(),
        "42".to_owned(),
        "{\"a\": 1,}".to_owned(),
        "{\"a\": 1} trailing".to_owned(),
        "[1, 2".to_owned(),
        "{\"a\" 1}".to_owned(),
        "[tru]".to_owned(),
        // Deeper than the limit.
        format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1)),
    ];
    for inner in &refused {
        assert!(
            !read_inline(&serde_json::json!({ "content": inner }).to_string()),
            "{inner}"
        );
    }
    // `\/` and `\u` escapes in the outer string: decoded instead.
    for raw in [
        r#"{"content":"[\"a\/b\"]"}"#,
        r#"{"content":"[\"\u0041\"]"}"#,
        r#"{"content":"\u005b1]"}"#,
        r#"{"content":"[1,\/ 2]"}"#,
    ] {
        assert!(!read_inline(raw), "{raw}");
    }
}

#[test]
fn a_string_read_with_its_json_is_still_a_valid_string() {
    // What the outer string must not hold, wherever the inner document is.
    let bad: [&[u8]; 8] = [
        b"{\"content\":\"[\\\"a\x01\\\"]\"}",
        b"{\"content\":\"[1,\n2]\"}",
        b"{\"content\":\"[1,\t2]\"}",
        b"{\"content\":\"[1]\x1f\"}",
        b"{\"content\":\"[1]",
        b"{\"content\":\"[\\\"a\\\"]",
        b"{\"content\":\"[1]\\\"}",
        b"{\"content\":\"[1] \\q\"}",
    ];
    for body in bad {
        assert!(serde_json::from_slice::<serde_json::Value>(body).is_err());
        assert!(
            Document::parse(body).is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

/// Strings for the JSON inside strings: plain, empty, and with everything that needs an
/// escape at some level.
fn inner_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 .:/_-]{0,12}",
        1 => Just(String::new()),
        1 => prop::sample::select(vec![
            "a\"b", "back\\slash", "line\nbreak", "tab\there", "sl/ash", "\u{1}", "é", "😀",
            "{\"k\": \"v\"}", "[1, \"x\"]",
        ])
        .prop_map(str::to_owned),
    ]
}

fn inner_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        inner_string().prop_map(Value::String),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(4, 24, 4, |v| {
        prop_oneof![
            prop::collection::vec(v.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[A-Za-z]{1,6}", v), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Walking JSON inside strings in its escaped form sees what decoding it sees: the same
    /// sites, texts, keys, nesting and raw spans, sub-ranges included.
    #[test]
    fn quoted_walk_equals_decoded_walk(
        inner in inner_json(),
        pretty in any::<bool>(),
        twice in any::<bool>(),
        slash in any::<bool>(),
    ) {
        let mut text = if pretty {
            serde_json::to_string_pretty(&inner).unwrap()
        } else {
            serde_json::to_string(&inner).unwrap()
        };
        if twice {
            text = serde_json::json!({ "args": text, "n": 1 }).to_string();
        }
        let mut body = serde_json::json!({
            "messages": [{"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t", "content": text}
            ]}]
        })
        .to_string();
        if slash {
            body = body.replace('/', "\\/");
        }
        prop_assert_eq!(sites(&body, false), sites(&body, true));
    }

    /// A body holding JSON in a string, with one byte changed anywhere, is a document
    /// exactly when serde_json says it is JSON (the string is validated as it is read).
    #[test]
    fn mutated_bodies_are_valid_exactly_when_serde_json_says_so(
        inner in inner_json(),
        pretty in any::<bool>(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(vec![b'"', b'\\', b'\n', b'\t', 0x01, b' ', b'{', b']', b',', b':', b'n', b'u', b'/', b'x', b'1']),
    ) {
        let text = if pretty {
            serde_json::to_string_pretty(&inner).unwrap()
        } else {
            serde_json::to_string(&inner).unwrap()
        };
        let mut body = serde_json::json!({"content": text}).to_string().into_bytes();
        let i = at.index(body.len());
        body[i] = byte;
        let ours = Document::parse(&body).is_ok();
        let theirs = serde_json::from_slice::<serde_json::Value>(&body).is_ok();
        prop_assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn integers_that_may_be_accounts_are_visited_in_user_data_when_asked() {
    let body = r#"{"max_tokens": 123456789012, "input": {"a": 123456789012, "b": [12345678,
        123456789, 1234567890123, -123456789, 123456789.5, 1234567890e2, 123456789.00,
        123456789.0e1, -123456789.0, 1234567890123.0, "s"],
        "type": 987654321}, "content": "{\"c\": 210987654321}"}"#;
    let doc = Document::parse(body.as_bytes()).unwrap();
    let options = WalkOptions {
        numbers: true,
        ..WalkOptions::default()
    };
    let mut numbers = Vec::new();
    let mut strings = 0;
    doc.walk(options, &mut |s: &Site<'_>| {
        if s.number {
            assert_eq!(&body[s.span()], s.text);
            assert_eq!(s.role, Role::Value);
            numbers.push((s.key.map(str::to_owned), s.text.to_owned(), s.nesting));
        } else {
            strings += 1;
        }
    });
    let key = |k: &str| Some(k.to_owned());
    assert_eq!(
        numbers,
        [
            (key("a"), "123456789012".to_owned(), 0),
            (key("b"), "123456789".to_owned(), 0),
            (key("b"), "123456789.00".to_owned(), 0),
            (key("type"), "987654321".to_owned(), 0),
            (key("c"), "210987654321".to_owned(), 1),
        ]
    );
    // Keys and the one string value, as without numbers.
    let mut without = 0;
    doc.walk(WalkOptions::default(), &mut |s: &Site<'_>| {
        assert!(!s.number);
        without += 1;
    });
    assert_eq!(strings, without);
}

#[test]
fn a_number_type_is_no_object_type() {
    // `type` given as a number says nothing: `id` is scanned as in an untyped object.
    let body = r#"{"messages":[{"type":123456789,"id":"i-1"}]}"#;
    assert!(!value(body, "i-1").frozen);
}
