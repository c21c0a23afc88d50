//! Property: for random JSON documents whose strings hold identifiers, escapes and JSON
//! documents of their own, the masked body is valid JSON, restoring its placeholders gives
//! the input back, and no masked identifier is left in it at any level of decoding.

// Helpers outside `#[test]` functions set up fixtures: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use aws_masker::mask::{BodyFormat, Masker};
use aws_masker::placeholder::Placeholders;
use common::fake::FakeScanner;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Text that JSON escapes or that tests UTF-8 and structure: each equally likely.
const AWKWARD: &[&str] = &["é", "😀", "\"q\"", "back\\slash", "a/b", "\n\t\u{1}", "{["];

fn awkward() -> impl Strategy<Value = String> {
    prop::sample::select(AWKWARD).prop_map(str::to_owned)
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,8}",
        3 => "i-[0-9a-f]{8}",
        1 => "i-[0-9a-f]{17}",
        1 => "arn:aws:s3:::[a-z]{3,6}/[a-z]{1,4}",
        7 => awkward(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..6).prop_map(|words| words.join(" "))
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z]{1,6}",
        1 => Just("Bucket".to_owned()),
        1 => Just("input".to_owned()),
        1 => Just("content".to_owned()),
        1 => "i-[0-9a-f]{8}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
        1 => Just(serde_json::json!(-1.5e-3)),
        // Bucket names appear only under a bucket key, so they are always in context.
        1 => "bkt-[0-9]{1,3}-logs".prop_map(|b| serde_json::json!({"Bucket": b})),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner.clone()), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
            // JSON inside a string (tool results, stringified arguments).
            inner.prop_map(|v| match v {
                Value::Array(_) | Value::Object(_) => Value::String(v.to_string()),
                other => other,
            }),
        ]
    })
}

/// A small xorshift generator: the serializer's choices follow from the seed.
struct Coin(u64);

impl Coin {
    fn flip(&mut self, one_in: u64) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % one_in == 0
    }
}

/// Serializes like any JSON writer, but (with `escapes`) writes some characters as `\uXXXX`
/// (surrogate pairs beyond the BMP) or `\/`, and puts whitespace between some tokens.
fn write(v: &Value, out: &mut String, coin: &mut Coin, escapes: bool) {
    if coin.flip(4) {
        out.push_str(if coin.flip(2) { " " } else { "\n  " });
    }
    match v {
        Value::String(s) => write_str(s, out, coin, escapes),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out, coin, escapes);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out, coin, escapes);
                out.push_str(if coin.flip(3) { " : " } else { ":" });
                write(item, out, coin, escapes);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn write_str(s: &str, out: &mut String, coin: &mut Coin, escapes: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if escapes && coin.flip(2) => out.push_str("\\/"),
            c if (c as u32) < 0x20 || (escapes && coin.flip(5)) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn is_masked_kind(original: &str) -> bool {
    original.starts_with("i-") || original.starts_with("arn:") || original.starts_with("bkt-")
}

fn check(value: &Value, seed: u64, escapes: bool) -> Result<(), TestCaseError> {
    let mut body = String::new();
    write(value, &mut body, &mut Coin(seed | 1), escapes);
    let masker = Masker::new(
        FakeScanner::default(),
        Placeholders::new(b"proptest secret, 32 bytes or more"),
        1 << 24,
    );
    let masked = masker
        .mask(body.as_bytes(), BodyFormat::Json)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let out = match &masked.body {
        Some(out) => {
            String::from_utf8(out.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?
        }
        None => {
            prop_assert!(masked.mapping.is_empty());
            body.clone()
        }
    };
    let out_value: Value =
        serde_json::from_str(&out).map_err(|e| TestCaseError::fail(format!("{e}: {out}")))?;
    prop_assert_eq!(&common::restore_value(&out_value, &masked.mapping), value);
    if !escapes {
        // No escape inside an identifier: the restore is byte for byte.
        prop_assert_eq!(common::restore_text(&out, &masked.mapping), body.clone());
    }
    let mut all = vec![out.clone()];
    common::texts(&out_value, &mut all);
    let mut expected = Vec::new();
    common::texts(value, &mut expected);
    for (_, original) in masked.mapping.iter().filter(|(_, o)| is_masked_kind(o)) {
        if let Some(t) = all.iter().find(|t| t.contains(original)) {
            return Err(TestCaseError::fail(format!("{original} left in {t}")));
        }
    }
    // Every identifier of the input was masked, bucket names (always under a bucket key,
    // possibly inside JSON inside strings) included.
    for t in &expected {
        for word in t.split([' ', '"', '\\', '\n', '{', '[']) {
            if (word.starts_with("i-") && word.len() >= 10)
                || word.starts_with("arn:aws:")
                || word.starts_with("bkt-")
            {
                prop_assert!(
                    masked.mapping.iter().any(|(_, o)| o == word),
                    "{} not masked",
                    word
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn masked_json_restores_to_the_input(value in document(), seed in any::<u64>()) {
        check(&value, seed, true)?;
    }

    #[test]
    fn without_escapes_the_restore_is_byte_exact(value in document(), seed in any::<u64>()) {
        check(&value, seed, false)?;
    }
}

/// The invariant with the real `Detector`: Messages API bodies whose strings hold
/// identifiers of many kinds among noise, escapes and JSON inside strings.
mod detector {
    use super::Coin;
    use aws_masker::detect::{Detector, DetectorConfig};
    use aws_masker::mask::{BodyFormat, Masker};
    use aws_masker::placeholder::{Mapping, Placeholders};
    use aws_masker::restore::{
        restore_document, restore_into, Escape, RestoreStats, StreamRestorer,
    };
    use aws_masker::sse::SseRestorer;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn masker() -> Masker {
        let detector = Detector::new(&DetectorConfig::default()).unwrap();
        Masker::new(
            detector,
            Placeholders::new(b"proptest secret, 32 bytes or more"),
            1 << 24,
        )
    }

    fn octet() -> impl Strategy<Value = u8> {
        1u8..=254
    }

    fn account() -> impl Strategy<Value = String> {
        "[1-9][0-9]{11}"
    }

    /// An identifier the detector finds by its shape or its own context.
    fn identifier() -> impl Strategy<Value = String> {
        prop_oneof![
            "i-[0-9a-f]{17}",
            "i-[0-9a-f]{8}",
            "(vpc|subnet|sg|vol|eni)-[0-9a-f]{17}",
            "ami-[0-9a-f]{8}",
            (
                prop_oneof![Just("aws"), Just("aws-cn"), Just("aws-us-gov")],
                account(),
                "[A-Za-z][A-Za-z0-9+=,.@_-]{0,15}"
            )
                .prop_map(|(p, a, r)| format!("arn:{p}:iam::{a}:role/{r}")),
            (account(), "[a-z][a-z0-9-]{2,12}")
                .prop_map(|(a, f)| format!("arn:aws:lambda:us-west-2:{a}:function:{f}")),
            "arn:aws:s3:::[a-z][a-z0-9]{2,8}-[a-z0-9]{2,8}/[a-z]{1,6}",
            "(AKIA|ASIA)[A-Z2-7]{16}",
            (octet(), octet(), octet()).prop_map(|(a, b, c)| format!("10.{a}.{b}.{c}")),
            (octet(), octet()).prop_map(|(a, b)| format!("192.168.{a}.{b}")),
            (16u8..=31, octet(), octet()).prop_map(|(a, b, c)| format!("172.{a}.{b}.{c}")),
            (octet(), octet(), octet())
                .prop_map(|(a, b, c)| format!("ip-10-{a}-{b}-{c}.ec2.internal")),
            (octet(), octet(), octet())
                .prop_map(|(a, b, c)| format!("ip-10-{a}-{b}-{c}.eu-west-1.compute.internal")),
            "[a-z]{3,8}\\.c[a-z0-9]{11}\\.us-east-1\\.rds\\.amazonaws\\.com",
            "s3://[a-z][a-z0-9]{2,8}-[a-z0-9]{2,8}(/[a-z0-9]{1,6}){0,2}",
            // A bucket name without a byte a find starts at: as a key, skipped until learned.
            "s3://[a-z]{3}[0-9]{4}[a-z]{2}(/[a-z0-9]{1,6}){0,2}",
        ]
    }

    fn noise() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[a-z]{1,9}",
            1 => Just("us-east-1".to_owned()),
            1 => Just("v2.15.3".to_owned()),
            1 => Just("12:30:00".to_owned()),
            1 => Just("multi-az".to_owned()),
            7 => super::awkward(),
        ]
    }

    /// Text and the identifiers written into it.
    fn text() -> impl Strategy<Value = (String, Vec<String>)> {
        prop::collection::vec(
            prop_oneof![2 => noise().prop_map(|n| (n, false)), 1 => identifier().prop_map(|i| (i, true))],
            0..10,
        )
        .prop_map(|parts| {
            let ids = parts.iter().filter(|p| p.1).map(|p| p.0.clone()).collect();
            let words: Vec<String> = parts.into_iter().map(|p| p.0).collect();
            (words.join(" "), ids)
        })
    }

    struct Body {
        json: String,
        ids: Vec<String>,
        /// The first user message's text: what the SSE test streams back.
        reply: String,
    }

    /// A Messages API body; `escapes` writes some characters as `\uXXXX` or `\/`.
    fn body(
        parts: Vec<(String, Vec<String>)>,
        accounts: Vec<String>,
        seed: u64,
        escapes: bool,
    ) -> Body {
        let mut ids: Vec<String> = parts.iter().flat_map(|p| p.1.clone()).collect();
        ids.extend(accounts.iter().cloned());
        let t = |i: usize| parts.get(i).map_or(String::new(), |p| p.0.clone());
        let accounts_json: Vec<Value> = accounts
            .iter()
            .map(|a| json!({"AccountId": a, "Note": "n"}))
            .collect();
        // JSON inside a string, itself written with escapes at random.
        let inner = json!({"Items": accounts_json, "Output": t(4), "Log": t(5), "OwnerId": accounts.first()});
        // Values learned later in the body (an account under `AccountId`, a bucket after
        // `s3://`) written bare in the first string: only the second pass can find them.
        let buckets: Vec<String> = ids
            .iter()
            .filter_map(|i| i.strip_prefix("s3://"))
            .filter_map(|r| r.split('/').next())
            .map(str::to_owned)
            .collect();
        let mut first = t(1);
        for bare in accounts.iter().chain(&buckets) {
            first.push_str(&format!(" (see {bare})"));
            ids.push(bare.clone());
        }
        // The same values as keys of the tool input, before the tool result that teaches the
        // accounts (and maybe buckets): keys passed over at first, found by the second pass.
        let sizes: serde_json::Map<String, Value> = buckets
            .iter()
            .chain(&accounts)
            .enumerate()
            .map(|(n, name)| (name.clone(), json!(n)))
            .collect();
        let mut coin = Coin(seed | 1);
        let mut inner_text = String::new();
        super::write(&inner, &mut inner_text, &mut coin, escapes);
        let value = json!({
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 1024,
            "system": t(0),
            "messages": [
                {"role": "user", "content": first},
                {"role": "assistant", "content": [
                    {"type": "text", "text": t(2)},
                    {"type": "tool_use", "id": "toolu_01", "name": "aws_cli",
                     "input": {"command": t(3), "sizes": sizes}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": inner_text},
                ]},
            ],
        });
        let mut json = String::new();
        super::write(&value, &mut json, &mut coin, escapes);
        Body {
            json,
            ids,
            reply: first,
        }
    }

    /// Text and the identifiers written into it.
    type Text = (String, Vec<String>);

    fn masked_parts() -> impl Strategy<Value = (Vec<Text>, Vec<String>, u64)> {
        (
            prop::collection::vec(text(), 6),
            prop::collection::vec(account(), 0..3),
            any::<u64>(),
        )
    }

    fn restore_json(masked: &[u8], mapping: &Mapping) -> Result<Vec<u8>, TestCaseError> {
        let mut out = Vec::new();
        let mut stats = RestoreStats::default();
        restore_document(masked, mapping, &mut out, &mut stats)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        Ok(out)
    }

    /// Every string of `value` and of JSON inside its strings, decoded, and the raw text.
    fn all_texts(raw: &str) -> Result<Vec<String>, TestCaseError> {
        let value: Value =
            serde_json::from_str(raw).map_err(|e| TestCaseError::fail(format!("{e}: {raw}")))?;
        let mut all = vec![raw.to_owned()];
        crate::common::texts(&value, &mut all);
        Ok(all)
    }

    /// `value` with every string that holds a JSON object or array replaced by its value.
    fn deep(value: Value) -> Value {
        match value {
            Value::String(s) => match serde_json::from_str::<Value>(&s) {
                Ok(inner @ (Value::Object(_) | Value::Array(_))) => deep(inner),
                _ => Value::String(s),
            },
            Value::Array(items) => Value::Array(items.into_iter().map(deep).collect()),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, deep(v))).collect())
            }
            other => other,
        }
    }

    fn check_body(body: &Body, escapes: bool) -> Result<(), TestCaseError> {
        let masked = masker()
            .mask(body.json.as_bytes(), BodyFormat::Json)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let out = masked
            .body
            .clone()
            .unwrap_or_else(|| body.json.clone().into_bytes());
        let out_text =
            String::from_utf8(out.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for t in all_texts(&out_text)? {
            for id in &body.ids {
                prop_assert!(!t.contains(id.as_str()), "{} left in {}", id, t);
            }
        }
        let restored = restore_json(&out, &masked.mapping)?;
        if escapes {
            let a: Value = serde_json::from_slice(&restored)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let b: Value =
                serde_json::from_str(&body.json).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Equal once JSON inside strings is parsed too: an identifier written with
            // escapes in a JSON string inside a string comes back unescaped.
            prop_assert_eq!(deep(a), deep(b));
        } else {
            prop_assert_eq!(String::from_utf8_lossy(&restored), body.json.as_str());
        }
        check_sse(body, &out_text, &masked.mapping)
    }

    /// The masked first user message streamed back as `text_delta`s cut at random places,
    /// the stream fed in random chunks: the client sees the original text.
    fn check_sse(body: &Body, masked: &str, mapping: &Mapping) -> Result<(), TestCaseError> {
        let value: Value =
            serde_json::from_str(masked).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = value["messages"][0]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut coin = Coin(text.len() as u64 * 7919 + 1);
        let mut stream = String::from("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[]}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
        let chars: Vec<char> = text.chars().collect();
        let mut piece = String::new();
        for (i, c) in chars.iter().enumerate() {
            piece.push(*c);
            if coin.flip(6) || i + 1 == chars.len() {
                let data = json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": piece}});
                stream.push_str(&format!("event: content_block_delta\ndata: {data}\n\n"));
                piece.clear();
            }
        }
        stream.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        let mut sse = SseRestorer::new();
        let mut out = Vec::new();
        let mut rest = stream.as_bytes();
        while !rest.is_empty() {
            let n = 1 + (coin.0 as usize % 97).min(rest.len() - 1);
            coin.flip(2);
            let (chunk, tail) = rest.split_at(n);
            sse.feed(mapping, chunk, &mut out);
            rest = tail;
        }
        sse.finish(mapping, &mut out);
        let out = String::from_utf8(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut got = String::new();
        for line in out.lines().filter_map(|l| l.strip_prefix("data: ")) {
            let v: Value = serde_json::from_str(line)
                .map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
            if v["type"] == "content_block_delta" {
                got.push_str(v["delta"]["text"].as_str().unwrap_or_default());
            }
        }
        prop_assert_eq!(got, body.reply.clone());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn masked_bodies_restore_byte_for_byte((parts, accounts, seed) in masked_parts()) {
            check_body(&body(parts, accounts, seed, false), false)?;
        }

        #[test]
        fn masked_bodies_with_escapes_restore_parse_equal((parts, accounts, seed) in masked_parts()) {
            check_body(&body(parts, accounts, seed, true), true)?;
        }

        /// Accounts a tool wrote as JSON numbers, at any depth of JSON inside strings, in a
        /// text/* JSON body (all user data): every level of the masked body is still JSON,
        /// each account is a placeholder string there, and restoring the deepest level gives
        /// the digits back; other numbers stay numbers.
        #[test]
        fn account_numbers_become_placeholder_strings_at_every_depth(
            accounts in prop::collection::vec(100_000_000_000u64..1_000_000_000_000, 1..4),
            others in prop::collection::vec(any::<u32>(), 0..4),
            depth in 0usize..4,
        ) {
            let mut doc = json!({
                "OwnerIds": accounts,
                "Instances": accounts.iter().map(|a| json!({"OwnerId": a})).collect::<Vec<_>>(),
                "Sizes": others,
            });
            for _ in 0..depth {
                doc = json!({"output": doc.to_string()});
            }
            let body = doc.to_string();
            let masked = masker().mask(body.as_bytes(), BodyFormat::Text)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let out = String::from_utf8(masked.body.clone().unwrap_or_default())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut level: Value = serde_json::from_str(&out)
                .map_err(|e| TestCaseError::fail(format!("{e}: {out}")))?;
            for _ in 0..depth {
                let inner = level["output"].as_str().unwrap_or_default().to_owned();
                level = serde_json::from_str(&inner)
                    .map_err(|e| TestCaseError::fail(format!("{e}: {inner}")))?;
            }
            for (i, account) in accounts.iter().enumerate() {
                let digits = account.to_string();
                for held in [&level["OwnerIds"][i], &level["Instances"][i]["OwnerId"]] {
                    let placeholder = held.as_str().unwrap_or_default();
                    prop_assert!(placeholder.starts_with("AWS_ACCOUNT_"), "{}", out);
                    prop_assert_eq!(masked.mapping.original(placeholder), Some(digits.as_str()));
                }
                prop_assert!(!out.contains(&digits), "{} left in {}", digits, out);
            }
            prop_assert_eq!(&level["Sizes"], &json!(others));
        }

        /// A small text body restored by a `StreamRestorer` split at every point.
        #[test]
        fn text_restores_at_every_split((text, ids) in text()) {
            let masked = masker().mask(text.as_bytes(), BodyFormat::Text)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let out = masked.body.clone().unwrap_or_else(|| text.clone().into_bytes());
            let out_text = String::from_utf8_lossy(&out).into_owned();
            for id in &ids {
                prop_assert!(!out_text.contains(id.as_str()), "{} left in {}", id, out_text);
            }
            let mut whole = Vec::new();
            restore_into(&out, &masked.mapping, Escape::None, &mut whole, &mut RestoreStats::default());
            prop_assert_eq!(String::from_utf8_lossy(&whole), text.as_str());
            for cut in 0..=out.len() {
                let mut stream = StreamRestorer::new(Escape::None);
                let mut got = Vec::new();
                let (a, b) = out.split_at(cut);
                stream.feed(&masked.mapping, a, &mut got);
                stream.feed(&masked.mapping, b, &mut got);
                stream.finish(&masked.mapping, &mut got);
                prop_assert_eq!(&got, &whole, "split at {}", cut);
            }
        }
    }
}
