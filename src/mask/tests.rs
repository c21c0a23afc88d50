use super::*;
use serde_json::{json, Value};

use crate::detect;

#[path = "../../tests/common/fake.rs"]
mod fake;
use fake::FakeScanner;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn masker() -> Masker<FakeScanner> {
    Masker::new(FakeScanner::default(), Placeholders::new(SECRET), 1 << 24)
}

fn mask_json(body: &str) -> (String, Masked) {
    let m = masker().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out =
        String::from_utf8(m.body.clone().unwrap_or_else(|| body.as_bytes().to_vec())).unwrap();
    (out, m)
}

fn placeholder_of(m: &Masked, original: &str) -> String {
    m.mapping
        .iter()
        .find(|(_, o)| *o == original)
        .map(|(p, _)| p.to_owned())
        .unwrap_or_else(|| panic!("{original} not masked"))
}

#[test]
fn masks_values_and_keeps_every_other_byte() {
    let body = "{ \"model\" : \"claude\",\n  \"messages\": [{\"role\": \"user\", \"content\": \"stop i-0123abcd now\"}],\n  \"max_tokens\": 1024, \"x\": [true, null, -1.5e3] }";
    let (out, m) = mask_json(body);
    let p = placeholder_of(&m, "i-0123abcd");
    assert!(p.starts_with("AWS_EC2_"));
    assert_eq!(out, body.replace("i-0123abcd", &p));
    assert_eq!(m.counts.get("EC2"), 1);
    assert_eq!(m.counts.total(), 1);
    assert_eq!(m.mapping.len(), 1);
}

#[test]
fn nothing_found_means_no_new_body() {
    let body = r#"{"messages":[{"role":"user","content":"hello i-xyz, i-0123abc, xi-0123abcd"}]}"#;
    let m = masker().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    assert_eq!(m.body, None);
    assert!(m.mapping.is_empty());
    assert!(m.counts.is_empty());
}

#[test]
fn frozen_parts_pass_unchanged() {
    let id = "i-0123abcd";
    let body = json!({
        "model": id,
        "messages": [
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": format!("look at {id}"), "signature": id},
                {"type": "redacted_thinking", "data": id},
                {"type": "tool_use", "id": id, "name": "n", "input": {"id": id}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": id, "content": format!("{id} ok")},
                {"type": "image", "source": {"data": id, "type": "base64", "media_type": "image/png"}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": id}},
                {"type": "text", "text": "t", "cache_control": {"type": "ephemeral", "note": id}},
            ]},
        ],
    });
    let (out, m) = mask_json(&body.to_string());
    let p = placeholder_of(&m, id);
    let v: Value = serde_json::from_str(&out).unwrap();
    let msgs = &v["messages"];
    assert_eq!(v["model"], id);
    assert_eq!(msgs[0]["content"][0]["thinking"], format!("look at {id}"));
    assert_eq!(msgs[0]["content"][0]["signature"], id);
    assert_eq!(msgs[0]["content"][1]["data"], id);
    assert_eq!(msgs[0]["content"][2]["id"], id);
    assert_eq!(msgs[0]["content"][2]["input"]["id"], p.as_str());
    assert_eq!(msgs[1]["content"][0]["tool_use_id"], id);
    assert_eq!(msgs[1]["content"][0]["content"], format!("{p} ok"));
    assert_eq!(msgs[1]["content"][1]["source"]["data"], id);
    assert_eq!(msgs[1]["content"][2]["source"]["data"], p.as_str());
    assert_eq!(msgs[1]["content"][3]["cache_control"]["note"], id);
    assert_eq!(m.counts.get("EC2"), 3);
}

#[test]
fn escaped_identifiers_are_replaced_whole() {
    // (raw JSON string content, decoded original)
    let table: &[(&str, &str)] = &[
        (r"i\u002d0123abcd", "i-0123abcd"),
        (r"i-0123abc\u0064", "i-0123abcd"),
        (r"\u0069\u002d\u0030123abcd", "i-0123abcd"),
        (
            r"arn:aws:s3:::bucket\/logs\/x",
            "arn:aws:s3:::bucket/logs/x",
        ),
        (
            r"arn:aws:iam::123456789012:role\/\u00e9t\u00e9",
            "arn:aws:iam::123456789012:role/été",
        ),
        (r"arn:aws:x:::\ud83d\ude00", "arn:aws:x:::😀"),
    ];
    for &(raw, original) in table {
        let body = format!(r#"{{"content":"see {raw}\n"}}"#);
        let (out, m) = mask_json(&body);
        let p = placeholder_of(&m, original);
        assert_eq!(out, format!(r#"{{"content":"see {p}\n"}}"#), "{raw}");
    }
}

#[test]
fn json_inside_strings_is_masked_with_inner_context() {
    let cli = json!({"Buckets": [{"Name": "x"}], "Bucket": "my-logs-bucket", "Instances": [{"InstanceId": "i-0123abcd", "OwnerId": "123456789012"}]});
    let inner_args = json!({"BucketName": "other-bucket"}).to_string();
    let body = json!({
        "messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": serde_json::to_string_pretty(&cli).unwrap()},
            {"type": "text", "text": json!({"args": inner_args}).to_string()},
        ]}]
    })
    .to_string();
    let (out, m) = mask_json(&body);
    for original in [
        "my-logs-bucket",
        "i-0123abcd",
        "123456789012",
        "other-bucket",
    ] {
        let p = placeholder_of(&m, original);
        assert!(out.contains(&p));
        assert!(!out.contains(original), "{original} leaked");
    }
    // The inner documents stay valid JSON with the placeholders in place.
    let v: Value = serde_json::from_str(&out).unwrap();
    let inner: Value =
        serde_json::from_str(v["messages"][0]["content"][0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        inner["Bucket"],
        placeholder_of(&m, "my-logs-bucket").as_str()
    );
    assert_eq!(inner["Buckets"][0]["Name"], "x");
    let args: Value =
        serde_json::from_str(v["messages"][0]["content"][1]["text"].as_str().unwrap()).unwrap();
    let args: Value = serde_json::from_str(args["args"].as_str().unwrap()).unwrap();
    assert_eq!(
        args["BucketName"],
        placeholder_of(&m, "other-bucket").as_str()
    );
}

#[test]
fn keys_are_masked_too() {
    let body = r#"{"input":{"i-0123abcd":{"State":"running"}},"content":"i-0123abcd"}"#;
    let (out, m) = mask_json(body);
    let p = placeholder_of(&m, "i-0123abcd");
    assert_eq!(
        out,
        format!(r#"{{"input":{{"{p}":{{"State":"running"}}}},"content":"{p}"}}"#)
    );
    assert_eq!(m.counts.get("EC2"), 2);
    assert_eq!(m.mapping.len(), 1);
}

#[test]
fn repeated_identifiers_share_a_placeholder_and_are_stable() {
    let body = r#"["i-0123abcd i-0123abcd","i-0123abcd","i-89abcdef"]"#;
    let (out, m) = mask_json(body);
    let (out2, _) = mask_json(body);
    assert_eq!(out, out2);
    assert_eq!(m.mapping.len(), 2);
    assert_eq!(m.counts.get("EC2"), 4);
    let p = placeholder_of(&m, "i-0123abcd");
    assert_eq!(out.matches(&p).count(), 3);
}

#[test]
fn text_bodies_are_scanned_whole() {
    let body = "instance i-0123abcd in arn:aws:ec2:us-east-1:123456789012:instance/i-89abcdef\n";
    let m = masker().mask(body.as_bytes(), BodyFormat::Text).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    let p1 = placeholder_of(&m, "i-0123abcd");
    let p2 = placeholder_of(&m, "arn:aws:ec2:us-east-1:123456789012:instance/i-89abcdef");
    assert_eq!(out, format!("instance {p1} in {p2}\n"));
    assert_eq!((m.counts.get("EC2"), m.counts.get("ARN")), (1, 1));
    // Text is not JSON: quotes and braces are just text.
    let m = masker()
        .mask(b"{\"broken i-0123abcd", BodyFormat::Text)
        .unwrap();
    assert!(m.body.is_some());
}

#[test]
fn a_json_document_sent_as_text_is_masked_as_json() {
    // Read as JSON upstream, `\ni-...` and `\u0069-...` are instance ids; in the raw text the
    // first follows an `n` and the second is not spelled out.
    let real = Masker::new(
        detect::Detector::new(&detect::DetectorConfig::default()).unwrap(),
        Placeholders::new(SECRET),
        1 << 24,
    );
    // Every string, as a scan of the text would: thinking included.
    let body = r#" {"messages":[{"role":"user","content":"hosts:\ni-0123456789abcdef0 and \u0069-0fedcba9876543210"},{"role":"assistant","content":[{"type":"thinking","thinking":"i-0aaaabbbbccccddd1","signature":"s"}]}]}"#;
    let m = real.mask(body.as_bytes(), BodyFormat::Text).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    assert!(
        !out.contains("0123456789abcdef0")
            && !out.contains("0fedcba9876543210")
            && !out.contains("0aaaabbbbccccddd1"),
        "{out}"
    );
    assert_eq!(m.counts.get("EC2"), 3);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert!(doc["messages"][0]["content"]
        .as_str()
        .unwrap()
        .starts_with("hosts:\nAWS_EC2_"));

    // Too deep to walk: refused, as under a JSON content type; the text scan would not see
    // the escaped id that a parser allowing the depth decodes.
    let depth = crate::json::MAX_DEPTH + 1;
    let deep = format!(
        r#"{}"\u0069-0123456789abcdef0"{}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    for format in [BodyFormat::Text, BodyFormat::Json] {
        let err = real.mask(deep.as_bytes(), format).unwrap_err();
        assert_eq!(err.code(), "nesting_too_deep", "{format:?}");
    }
    // Not JSON after all (a sentence in brackets, JSON lines): scanned as text.
    for text in [
        "[see i-0123456789abcdef0] and more",
        "{\"a\":1}\n{\"b\":\"i-0123456789abcdef0\"}",
        // Escapes a JSON reader of each line decodes are seen through as well.
        "{\"a\":1}\n{\"b\":\"\\u0069-0123456789abcdef0\"}",
    ] {
        let m = real.mask(text.as_bytes(), BodyFormat::Text).unwrap();
        let out = String::from_utf8(m.body.unwrap()).unwrap();
        assert!(!out.contains("0123456789abcdef0"), "{out}");
    }
}

#[test]
fn errors_have_codes_and_numbers_only() {
    let small = Masker::new(FakeScanner::default(), Placeholders::new(SECRET), 10);
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let table: Vec<(&[u8], BodyFormat, MaskError, &str, &str)> = vec![
        (
            b"{\"i-0123abcd\":12345}",
            BodyFormat::Json,
            MaskError::TooLarge { len: 20, max: 10 },
            "body_too_large",
            "body of 20 bytes is over the limit of 10 bytes",
        ),
        (
            b"i-0123abcd\xff",
            BodyFormat::Text,
            MaskError::TooLarge { len: 11, max: 10 },
            "body_too_large",
            "body of 11 bytes is over the limit of 10 bytes",
        ),
    ];
    for (body, format, want, code, msg) in table {
        let err = small.mask(body, format).unwrap_err();
        assert_eq!(
            (err, err.code(), err.to_string().as_str()),
            (want, code, msg)
        );
    }
    let table: Vec<(&[u8], BodyFormat, MaskError, &str, &str)> = vec![
        (
            b"{\"a\":\"i-0123abcd\",}",
            BodyFormat::Json,
            MaskError::InvalidJson {
                offset: 18,
                what: "expected a key",
            },
            "invalid_json",
            "invalid json at byte 18: expected a key",
        ),
        (
            b"[\"i-0123abcd\xff\"]",
            BodyFormat::Json,
            MaskError::InvalidUtf8 { offset: 12 },
            "invalid_utf8",
            "invalid utf-8 at byte 12",
        ),
        (
            b"i-0123abcd \xc3",
            BodyFormat::Text,
            MaskError::InvalidUtf8 { offset: 11 },
            "invalid_utf8",
            "invalid utf-8 at byte 11",
        ),
        (
            deep.as_bytes(),
            BodyFormat::Json,
            MaskError::TooDeep {
                offset: 128,
                max: 128,
            },
            "nesting_too_deep",
            "json nested deeper than 128 levels at byte 128",
        ),
        (
            b"",
            BodyFormat::Json,
            MaskError::InvalidJson {
                offset: 0,
                what: "unexpected end of input",
            },
            "invalid_json",
            "invalid json at byte 0: unexpected end of input",
        ),
    ];
    for (body, format, want, code, msg) in table {
        let err = masker().mask(body, format).unwrap_err();
        assert_eq!(
            (err, err.code(), err.to_string().as_str()),
            (want, code, msg)
        );
        assert!(!msg.contains("i-0123abcd"));
    }
    // An empty text body is fine.
    assert_eq!(masker().mask(b"", BodyFormat::Text).unwrap().body, None);
}

#[test]
fn placeholders_already_in_the_body_are_reported() {
    let body = r#"{"content":"AWS_EC2_ABCDEFGHIJKLM and AWS_EC2_ABCDEFGHIJKLM, XAWS_EC2_ABCDEFGHIJKLM, AWS_REGION, AWS_ARN_IAM_ROLE_2345672345672 i-0123abcd"}"#;
    let m = masker().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    assert_eq!(
        m.seen_placeholders,
        ["AWS_ARN_IAM_ROLE_2345672345672", "AWS_EC2_ABCDEFGHIJKLM"]
    );
    // Issued placeholders are not "seen": they were not in the request.
    assert_eq!(m.mapping.len(), 1);
    let m = masker()
        .mask(b"AWS_S3_URI_AAAAAAAAAAAAA", BodyFormat::Text)
        .unwrap();
    assert_eq!(m.seen_placeholders, ["AWS_S3_URI_AAAAAAAAAAAAA"]);
}

/// Returns whatever findings it was built with, whatever the text: out of order,
/// overlapping, off character boundaries, past the end.
/// Only `text` gets findings (not the JSON keys).
struct Unruly(Vec<(usize, usize)>, &'static str);

impl Scan for Unruly {
    fn scan(&self, text: &str, _key: Option<&str>, out: &mut Vec<Finding>) {
        if text != self.1 {
            return;
        }
        out.extend(self.0.iter().map(|&(start, end)| Finding {
            start,
            end,
            kind: KindId(7),
        }));
    }
    fn label(&self, _kind: KindId) -> &str {
        "ODD"
    }
}

#[test]
fn misbehaving_scanners_cannot_break_the_output() {
    // (findings, text, originals expected)
    type Case<'a> = (&'a [(usize, usize)], &'static str, &'a [&'a str]);
    let table: &[Case] = &[
        (&[(4, 6), (0, 2)], "abcdefgh", &["ab", "ef"]),
        (&[(0, 4), (2, 6)], "abcdefgh", &["abcdef"]),
        (&[(0, 4), (1, 2)], "abcdefgh", &["abcd"]),
        // 'é' is 2 bytes at 1..3: a boundary inside it widens.
        (&[(2, 4)], "aébc", &["éb"]),
        (&[(3, 99)], "abcdef", &["def"]),
        (&[(5, 5), (9, 3), (50, 60)], "abcdef", &[]),
    ];
    for &(findings, text, originals) in table {
        let masker = Masker::new(
            Unruly(findings.to_vec(), text),
            Placeholders::new(SECRET),
            1 << 20,
        );
        for format in [BodyFormat::Json, BodyFormat::Text] {
            let body = match format {
                BodyFormat::Json => json!({"content": text}).to_string(),
                BodyFormat::Text => text.to_owned(),
            };
            let m = masker.mask(body.as_bytes(), format).unwrap();
            let mut got: Vec<&str> = m.mapping.iter().map(|(_, o)| o).collect();
            got.sort_unstable();
            assert_eq!(got, originals, "{findings:?} {format:?}");
            if let Some(out) = &m.body {
                let out = std::str::from_utf8(out).unwrap();
                if format == BodyFormat::Json {
                    serde_json::from_str::<Value>(out).unwrap();
                }
                for o in originals {
                    assert!(!out.contains(o), "{o} left in {out}");
                }
            }
        }
    }
}

#[test]
fn sanitize_sorts_merges_and_rounds() {
    let f = |start, end| Finding {
        start,
        end,
        kind: KindId(1),
    };
    let mut spans = Vec::new();
    sanitize("aébcdef", &[f(6, 8), f(2, 3), f(7, 9), f(0, 0)], &mut spans);
    assert_eq!(spans, [(1, 3, KindId(1)), (6, 8, KindId(1))]);
}

fn real() -> Masker {
    let detector = detect::Detector::new(&detect::DetectorConfig::default()).unwrap();
    Masker::new(detector, Placeholders::new(SECRET), 1 << 24)
}

#[test]
fn values_learned_in_one_string_are_masked_in_every_string() {
    // The bare account and bucket come before the strings that give their context.
    let body = json!({"messages": [
        {"role": "user", "content": "is 123456789012 the account that owns my-team-logs?"},
        {"role": "assistant", "content": "see arn:aws:iam::123456789012:role/Admin"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
            "content": "{\"Location\": \"s3://my-team-logs/a.txt\"}"}]},
        {"role": "user", "content": "and again: 123456789012, my-team-logs"},
    ]})
    .to_string();
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    for original in ["123456789012", "my-team-logs"] {
        assert!(!out.contains(original), "{original} left in {out}");
    }
    let account = placeholder_of(&m, "123456789012");
    assert_eq!(out.matches(&account).count(), 2);
    assert_eq!(m.counts.get("ACCOUNT"), 2);
    assert_eq!(m.counts.get("BUCKET"), 2);
}

#[test]
fn strings_without_later_values_keep_their_first_pass_edits() {
    // The EC2 id in the first string is found once; learning an account later must not
    // change or duplicate it.
    let body = json!({"messages": [
        {"role": "user", "content": "stop i-0b263919b6498b123"},
        {"role": "user", "content": "arn:aws:iam::123456789012:role/Admin"},
    ]})
    .to_string();
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    assert_eq!(m.counts.get("EC2"), 1);
    assert_eq!(m.counts.total(), 2);
    let ec2 = placeholder_of(&m, "i-0b263919b6498b123");
    assert_eq!(out.matches(&ec2).count(), 1);
}

#[test]
fn the_default_masker_uses_the_detector() {
    let m: Masker = real();
    let masked = m
        .mask(b"host ip-10-0-1-17.ec2.internal", BodyFormat::Text)
        .unwrap();
    assert_eq!(masked.counts.total(), 1);
}

#[test]
fn values_written_with_escapes_in_earlier_strings_are_found() {
    // `\u0031` is `1`, `\/` is `/`: the raw bytes do not show the value, the text does.
    let body = r#"{"messages":[{"role":"user","content":"see \u0031\u00323456789012"},
        {"role":"user","content":"x\/my-team-\u006cogs"},
        {"role":"user","content":"arn:aws:iam::123456789012:role/A s3://my-team-logs/k"}]}"#;
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    let first = v["messages"][0]["content"].as_str().unwrap();
    assert!(!first.contains("123456789012"), "{first}");
    let second = v["messages"][1]["content"].as_str().unwrap();
    assert!(!second.contains("my-team-logs"), "{second}");
    assert_eq!(m.counts.get("ACCOUNT"), 1, "{:?}", m.counts);
    assert_eq!(m.counts.get("BUCKET"), 1);
}

#[test]
fn strings_scanned_before_any_value_was_learned_keep_or_redo_their_edits() {
    // Nothing is recorded for the first two strings (nothing was known when they were
    // scanned): the first keeps its edit, the second holds the bucket learned later and is
    // scanned again, its own EC2 id masked once. The escaped third string is recorded.
    let body = r#"{"messages":[{"role":"user","content":"stop i-0b263919b6498b123"},
        {"role":"user","content":"i-0aaa1111bbbb22223 writes to my-team-logs"},
        {"role":"user","content":"a\/b my-team-logs"},
        {"role":"user","content":"s3://my-team-logs/k"},
        {"role":"user","content":"my-team-logs again, i-0b263919b6498b123"}]}"#;
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    for original in ["my-team-logs", "i-0b263919b6498b123", "i-0aaa1111bbbb22223"] {
        assert!(!out.contains(original), "{original} left in {out}");
    }
    assert_eq!(m.counts.get("EC2"), 3, "{:?}", m.counts);
    assert_eq!(m.counts.get("BUCKET"), 3, "{:?}", m.counts);
    assert_eq!(m.counts.get("S3_URI"), 1, "{:?}", m.counts);
    let second = placeholder_of(&m, "i-0aaa1111bbbb22223");
    assert_eq!(out.matches(&second).count(), 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let bucket = placeholder_of(&m, "my-team-logs");
    assert_eq!(v["messages"][2]["content"], format!("a/b {bucket}"));
}

#[test]
fn a_key_passed_over_before_its_value_was_learned_is_masked() {
    // `mybucket` has no byte a find starts at: while nothing is known, the key is skipped
    // unvisited; the bucket learned later sends the second walk back to it.
    let body = r#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t",
        "content":"{\"mybucket\": 3}"}]},
        {"role":"user","content":"s3://mybucket/k"}]}"#;
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    assert!(!out.contains("mybucket"), "{out}");
    let bucket = placeholder_of(&m, "mybucket");
    assert!(out.contains(&format!(r#"{{\"{bucket}\": 3}}"#)), "{out}");
}

/// `s` JSON-escaped once.
fn escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

#[test]
fn an_account_written_as_a_number_is_masked_as_a_string() {
    // Tool inputs and tool results are user data: an integer under an account key is an
    // account (also one that lost leading zeros); elsewhere it is a number like any other.
    let body = r#"{"max_tokens":1024,"messages":[{"role":"assistant","content":[
        {"type":"tool_use","id":"t1","name":"lookup","input":{"AccountId":123456789012,
        "OwnerId":12345678901,"Count":123456789012,"Limit":-123456789012,"Size":1234567890.5}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1",
        "content":"{\"Reservations\": [{\"OwnerId\": 210987654321, \"Size\": 7}]}"}]}]}"#;
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    let v: Value = serde_json::from_str(&out).expect("still JSON");
    let input = &v["messages"][0]["content"][0]["input"];
    assert_eq!(
        input["AccountId"],
        placeholder_of(&m, "123456789012"),
        "{out}"
    );
    assert_eq!(input["OwnerId"], placeholder_of(&m, "12345678901"));
    // Learned from `AccountId`: the same digits under another key are the same account.
    assert_eq!(input["Count"], placeholder_of(&m, "123456789012"));
    assert_eq!(input["Limit"], json!(-123456789012i64));
    // Keys that name an application's own users and owners keep their numbers.
    let own = r#"{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1",
        "name":"n","input":{"userId":123456789,"owner":987654321,"UserId":123456789012}}]}]}"#;
    assert_eq!(
        real().mask(own.as_bytes(), BodyFormat::Json).unwrap().body,
        None
    );
    // Every other key of the account rule does name one.
    let keys = [
        "RegistryId",
        "ExpectedBucketOwner",
        "AWS",
        "Owners",
        "aws_account_id",
    ];
    for key in keys {
        let body = format!(
            r#"{{"messages":[{{"role":"assistant","content":[{{"type":"tool_use","id":"t1","name":"n","input":{{"{key}":[137112412989]}}}}]}}]}}"#
        );
        let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
        assert_eq!(m.counts.get("ACCOUNT"), 1, "{key}");
    }
    assert_eq!(input["Size"], json!(1234567890.5));
    assert_eq!(v["max_tokens"], json!(1024));
    // One level in: the quotes the number gets are escaped once.
    let inner = v["messages"][1]["content"][0]["content"].as_str().unwrap();
    let inner: Value = serde_json::from_str(inner).expect("inner JSON");
    assert_eq!(
        inner["Reservations"][0]["OwnerId"],
        placeholder_of(&m, "210987654321")
    );
    assert_eq!(inner["Reservations"][0]["Size"], json!(7));
    assert_eq!(m.counts.get("ACCOUNT"), 4, "{:?}", m.counts);
}

#[test]
fn an_account_written_as_a_float_is_masked_as_its_integer() {
    // Data frames print integers as floats: `123456789012.0` is the account, and gets the
    // account's placeholder. Other fractions and exponents are numbers.
    let body = r#"{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1",
        "name":"n","input":{"AccountId":123456789012.0,"OwnerId":123456789012,
        "aws_account_id":[210987654321.000],"Size":123456789012.5,"Big":1234567890.0e2}}]}]}"#;
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    let v: Value = serde_json::from_str(&out).expect("still JSON");
    let input = &v["messages"][0]["content"][0]["input"];
    assert_eq!(
        input["AccountId"],
        placeholder_of(&m, "123456789012"),
        "{out}"
    );
    assert_eq!(input["OwnerId"], input["AccountId"]);
    assert_eq!(
        input["aws_account_id"][0],
        placeholder_of(&m, "210987654321")
    );
    assert!(
        !out.contains("123456789012.0") && !out.contains("210987654321"),
        "{out}"
    );
    assert_eq!(input["Size"], json!(123456789012.5));
    assert_eq!(m.counts.get("ACCOUNT"), 3, "{:?}", m.counts);
}

#[test]
fn numbers_in_the_api_structure_stay_numbers() {
    // A learned account's digits as `max_tokens` (or any parameter the API reads) are not
    // user data: turning them into a string would break the request.
    let body = r#"{"max_tokens":123456789012,"messages":[{"role":"user","content":"hello"},
        {"role":"user","content":"arn:aws:iam::123456789012:role/A"}]}"#;
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    assert!(out.starts_with(r#"{"max_tokens":123456789012,"#), "{out}");
    // The second walk the digits cause changes nothing else.
    assert_eq!(m.counts.total(), 1, "{:?}", m.counts);
    assert!(out.contains(r#""content":"hello"}"#), "{out}");
}

#[test]
fn an_array_of_numbers_in_a_string_is_walked_for_accounts() {
    // No string inside, so no escape: still JSON inside a string, and its numbers are read.
    let body = r#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t",
        "content":"[123456789012, [210987654321], 7]"}]},
        {"role":"assistant","content":[{"type":"tool_use","id":"u","name":"n",
        "input":{"AccountIds":" [123456789013]","Other":"[1, not json"}}]}]}"#;
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    let v: Value = serde_json::from_str(&out).expect("still JSON");
    let inner: Value =
        serde_json::from_str(v["messages"][0]["content"][0]["content"].as_str().unwrap()).unwrap();
    // Under `content` the numbers say nothing: unmasked. Under `AccountIds` they are accounts.
    assert_eq!(inner, json!([123456789012i64, [210987654321i64], 7]));
    let ids: Value = serde_json::from_str(
        v["messages"][1]["content"][0]["input"]["AccountIds"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ids, json!([placeholder_of(&m, "123456789013")]));
    assert_eq!(
        v["messages"][1]["content"][0]["input"]["Other"],
        "[1, not json"
    );
    assert_eq!(m.counts.total(), 1, "{:?}", m.counts);
}

#[test]
fn schema_bounds_stay_numbers() {
    let body = r#"{"tools":[{"name":"t","input_schema":{"type":"object","properties":{
        "account":{"type":"integer","maximum":123456789012,"default":123456789012}}}}],
        "messages":[{"role":"user","content":"arn:aws:iam::123456789012:role/A"}]}"#;
    let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
    let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    let account = &v["tools"][0]["input_schema"]["properties"]["account"];
    assert_eq!(account["maximum"], json!(123456789012i64), "{out}");
    assert_eq!(account["default"], placeholder_of(&m, "123456789012"));
}

#[test]
fn numbers_are_quoted_for_every_level_of_json_inside_strings() {
    for depth in 0..4 {
        let mut doc = r#"{"awsAccountId": 123456789012, "n": 123456789012.0, "f": 123456789012.5}"#
            .to_owned();
        for _ in 0..depth {
            doc = format!(r#"{{"v": "{}"}}"#, escaped(&doc));
        }
        let body = format!(
            r#"{{"messages":[{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"t","content":"{}"}}]}}]}}"#,
            escaped(&doc)
        );
        let m = real().mask(body.as_bytes(), BodyFormat::Json).unwrap();
        let out = String::from_utf8(m.body.clone().unwrap()).unwrap();
        let p = placeholder_of(&m, "123456789012");
        let mut v: Value = serde_json::from_str(&out).unwrap();
        v = serde_json::from_str(v["messages"][0]["content"][0]["content"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("depth {depth}: {e}: {out}"));
        for _ in 0..depth {
            v = serde_json::from_str(v["v"].as_str().unwrap()).unwrap();
        }
        assert_eq!(v["awsAccountId"], json!(p), "depth {depth}: {out}");
        // The same account written as a float; a fraction makes another number.
        assert_eq!(v["n"], json!(p), "depth {depth}");
        assert_eq!(v["f"], json!(123456789012.5), "depth {depth}");
    }
}

#[test]
fn quotes_are_escaped_once_per_level() {
    let mut want = String::from("\"");
    for quoted in 1..8u8 {
        let mut out = Vec::new();
        push_quote(&mut out, quoted);
        assert_eq!(String::from_utf8(out).unwrap(), want, "{quoted}");
        assert_eq!(quote_len(quoted), want.len());
        want = escaped(&want);
    }
    let mut out = Vec::new();
    push_quote(&mut out, 0);
    assert!(out.is_empty());
    assert_eq!(quote_len(0), 0);
}
