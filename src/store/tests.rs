use super::*;
use crate::config;
use crate::protocol::decode;

const P1: &str = "AWS_EC2_AAAAAAAAAAAAA";
const P2: &str = "AWS_VPC_BBBBBBBBBBBBB";
const P3: &str = "AWS_IAM_CCCCCCCCCCCCC";

fn store_config() -> Store {
    config::parse(
        br#"{"token_secret":"Xq3v9Jk2Lm8Np4Rs7Tu1Wy6Za5Bc0DeF","use_redis":true,"mapping_ttl":120}"#,
    )
    .unwrap()
    .store
}

fn mapping() -> Mapping {
    let mut m = Mapping::default();
    m.insert(P1.into(), "i-0abc".into()).unwrap();
    m.insert(P2.into(), "vpc-1".into()).unwrap();
    m
}

#[test]
fn request_carries_unstored_entries_and_unknown_placeholders() {
    let seen = vec![
        P3.to_owned(),
        P1.to_owned(),
        P3.to_owned(),
        "AWS_nope".to_owned(),
    ];
    let req = build_request(&store_config(), &mapping(), |p, _| p == P2, &seen).unwrap();
    assert_eq!(req.ttl, 120);
    assert_eq!(req.store.len(), 1);
    assert_eq!(
        (
            req.store[0].placeholder.as_str(),
            req.store[0].original.as_str()
        ),
        (P1, "i-0abc")
    );
    assert_eq!(
        req.lookup,
        vec![P3.to_owned()],
        "known, duplicate and malformed ones left out"
    );
    let body = encode_request(&req).unwrap();
    assert_eq!(decode::<MappingsRequest>(&body).unwrap(), req);
}

#[test]
fn nothing_to_store_or_look_up_is_no_call() {
    let cfg = store_config();
    assert_eq!(
        build_request(&cfg, &Mapping::default(), |_, _| false, &[]),
        None
    );
    assert_eq!(
        build_request(&cfg, &mapping(), |_, _| true, &[P1.to_owned()]),
        None
    );
    assert!(build_request(&cfg, &mapping(), |_, _| false, &[]).is_some());
}

#[test]
fn failures_are_classified() {
    assert_eq!(
        interpret(None, Some(b"timeout"), b"", &[]),
        Err(Failure::Timeout)
    );
    assert_eq!(
        interpret(None, Some(b"broken connection"), b"", &[]),
        Err(Failure::Unreachable)
    );
    assert_eq!(interpret(None, None, b"", &[]), Err(Failure::Unreachable));
    assert_eq!(
        interpret(Some(b"x"), None, b"", &[]),
        Err(Failure::Unreachable)
    );
    assert_eq!(
        interpret(Some(b"503"), None, b"{}", &[]),
        Err(Failure::Status(503, None))
    );
    assert_eq!(
        interpret(Some(b"302"), None, b"", &[]),
        Err(Failure::Status(302, None))
    );
    assert_eq!(
        interpret(
            Some(b"403"),
            None,
            br#"{"error":{"code":"endpoint_not_allowed","message":"not in the allowlist"}}"#,
            &[]
        ),
        Err(Failure::Status(403, Some(ErrorCode::EndpointNotAllowed)))
    );
    assert_eq!(
        interpret(
            Some(b"502"),
            None,
            br#"{"error":{"code":"redis_new_thing","message":"m"}}"#,
            &[]
        ),
        Err(Failure::Status(502, Some(ErrorCode::Unknown)))
    );
    assert_eq!(
        interpret(Some(b"200"), None, b"garbage", &[]),
        Err(Failure::Malformed)
    );
    assert_eq!(
        interpret(Some(b"200"), None, br#"{"stored":"x"}"#, &[]),
        Err(Failure::Malformed)
    );
    let sent = [P1.to_owned(), P2.to_owned()];
    let conflict = format!(r#"{{"stored":0,"refreshed":0,"conflicts":["{P1}","{P2}"]}}"#);
    assert_eq!(
        interpret(Some(b"200"), None, conflict.as_bytes(), &sent),
        Err(Failure::Conflict(2))
    );
    // Each entry sent is accounted for once, or the answer is not the bridge's.
    let answer = |stored: u32, refreshed: u32, conflicts: &[&str]| {
        let conflicts: Vec<String> = conflicts.iter().map(|c| format!("\"{c}\"")).collect();
        format!(
            r#"{{"stored":{stored},"refreshed":{refreshed},"conflicts":[{}]}}"#,
            conflicts.join(",")
        )
    };
    let cases: [(String, &[String], bool); 8] = [
        (answer(1, 1, &[]), &sent, true),
        (answer(2, 0, &[]), &sent, true),
        (answer(0, 0, &[]), &[], true),
        (answer(0, 0, &[]), &sent, false),
        (answer(1, 0, &[]), &sent, false),
        (answer(3, 0, &[]), &sent, false),
        (answer(1, 0, &[P3]), &sent, false),
        (answer(0, 0, &[P1, P1]), &sent, false),
    ];
    for (body, sent, ok) in cases {
        let got = interpret(Some(b"200"), None, body.as_bytes(), sent);
        assert_eq!(got.is_ok(), ok, "{body} for {} sent: {got:?}", sent.len());
        if !ok {
            assert_eq!(got, Err(Failure::Malformed), "{body}");
        }
    }
    let codes: Vec<&str> = [
        Failure::Dispatch,
        Failure::Timeout,
        Failure::Unreachable,
        Failure::Status(1, None),
        Failure::Malformed,
        Failure::Conflict(1),
        Failure::Encode,
    ]
    .iter()
    .map(|f| f.code())
    .collect();
    assert_eq!(codes, FAILURE_CODES);
    let outages: Vec<bool> = [
        Failure::Dispatch,
        Failure::Timeout,
        Failure::Unreachable,
        Failure::Malformed,
        Failure::Status(502, Some(ErrorCode::RedisUnreachable)),
        Failure::Status(403, Some(ErrorCode::EndpointNotAllowed)),
        Failure::Encode,
        Failure::Conflict(1),
        Failure::Status(413, Some(ErrorCode::PayloadTooLarge)),
        Failure::Status(400, None),
    ]
    .iter()
    .map(|f| f.is_outage())
    .collect();
    assert_eq!(
        outages,
        [true, true, true, true, true, true, false, false, false, false]
    );
}

#[test]
fn found_entries_join_the_mapping_only_when_asked_and_derived_with_our_secret() {
    let keys = Placeholders::new(b"Xq3v9Jk2Lm8Np4Rs7Tu1Wy6Za5Bc0DeF");
    let genuine = keys.derive("ARN_IAM_ROLE", "arn:x", 0);
    let forged = keys.derive("EC2", "i-0real", 0);
    let other_secret =
        Placeholders::new(b"another secret of at least 32 bytes!").derive("EC2", "i-0b", 0);
    let body = format!(
        r#"{{"stored":1,"refreshed":0,"found":[{{"placeholder":"{genuine}","original":"arn:x"}},{{"placeholder":"{P2}","original":"other"}},{{"placeholder":"{forged}","original":"i-0attacker"}},{{"placeholder":"{other_secret}","original":"i-0b"}}]}}"#
    );
    let answer = interpret(Some(b"200"), None, body.as_bytes(), &[P1.to_owned()]).unwrap();
    let mut m = mapping();
    let asked = [genuine.clone(), forged.clone(), other_secret.clone()];
    let merged = merge_found(&answer, &asked, &keys, &mut m);
    assert_eq!(
        merged,
        Merged {
            added: 1,
            foreign: 2
        }
    );
    assert_eq!(m.original(&genuine), Some("arn:x"));
    assert_eq!(
        m.original(&forged),
        None,
        "Redis cannot choose what a placeholder restores to"
    );
    assert_eq!(m.original(&other_secret), None);
    assert_eq!(
        m.original(P2),
        Some("vpc-1"),
        "an entry not asked for never replaces ours"
    );
}

#[test]
fn policy() {
    assert_eq!(
        on_failure(OnStoreFailure::Block),
        Decision::Block(BlockReason::StoreFailed)
    );
    assert_eq!(on_failure(OnStoreFailure::Continue), Decision::Resume);
}
