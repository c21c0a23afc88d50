//! Property: for random JSON documents whose strings hold identifiers, escapes and JSON
//! documents of their own, the masked body is valid JSON, restoring its placeholders gives
//! the input back, and no masked identifier is left in it at any level of decoding.

mod common;

use aws_masker::mask::{BodyFormat, Masker};
use aws_masker::placeholder::Placeholders;
use common::fake::FakeScanner;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,8}",
        3 => "i-[0-9a-f]{8}",
        1 => "i-[0-9a-f]{17}",
        1 => "arn:aws:s3:::[a-z]{3,6}/[a-z]{1,4}",
        1 => Just("é".to_owned()),
        1 => Just("😀".to_owned()),
        1 => Just("\"q\"".to_owned()),
        1 => Just("back\\slash".to_owned()),
        1 => Just("a/b".to_owned()),
        1 => Just("\n\t\u{1}".to_owned()),
        1 => Just("{[".to_owned()),
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
