//! The phase matrix of WASMX.md §3, enforced by the host: one test per host-call row, each running the call
//! in every phase through a small WAT filter.

use std::sync::Arc;

use wasm_host_tests::dispatch::{DispatchResponse, ScriptedTransport};
use wasm_host_tests::fixtures::{once, snippet, Callback, WatFilter};
use wasm_host_tests::matrix::{rule, HostCall, Phase, Rule};
use wasm_host_tests::{Filter, Host, HostConfig, LogLine, Request, UpstreamResponse};

/// WASMX.md §3 transcribed, one test per host-call row (`check_row`) and the whole table checked against
/// the host's data (`matrix_data_matches_wasmx_md`): `ok`, `T<n>`, `NF` (NotFound), `UR`/`UH` (until
/// response/headers), `ST` (stash), `RP` (replace), `NH` (no HTTP context).
macro_rules! matrix {
    ($($test:ident: $call:ident [$($cell:literal)*])*) => {
        const DOC: [(HostCall, [&str; 8]); HostCall::ALL.len()] = [$((HostCall::$call, [$($cell),*])),*];
        $(#[test] fn $test() { check_row(HostCall::$call); })*
    };
}

matrix! {
    //                                               VM   TICK RQH  RQB  CALL RSH  RSB    LOG
    row_dispatch: Dispatch                          ["T1" "ok" "ok" "ok" "ok" "T1" "T1"   "T1"]
    row_get_request_body: GetRequestBody            ["T2" "T2" "NF" "ok" "T2" "T2" "T2"   "ok"]
    row_set_request_body: SetRequestBody            ["T3" "T3" "ok" "ok" "T3" "T3" "T3"   "T3"]
    row_get_response_body: GetResponseBody          ["T4" "T4" "T4" "T4" "T4" "T4" "ok"   "T4"]
    row_set_response_body: SetResponseBody          ["T5" "T5" "T5" "T5" "T5" "T5" "ok"   "T5"]
    row_get_call_response_body: GetCallResponseBody ["T6" "T6" "T6" "T6" "ok" "T6" "T6"   "ok"]
    row_set_request_header: SetRequestHeader        ["T7" "T7" "ok" "ok" "UR" "T7" "T7"   "T7"]
    row_set_response_header: SetResponseHeader      ["T8" "T8" "ok" "ok" "UH" "ok" "T8"   "T8"]
    row_set_tick_period: SetTickPeriod              ["ok" "ok" "T9" "T9" "T9" "T9" "T9"   "T9"]
    row_send_local_response: SendLocalResponse      ["NH" "NH" "ST" "ST" "ST" "RP" "T10b" "T10b"]
    row_log: Log                                    ["ok" "ok" "ok" "ok" "ok" "ok" "ok"   "ok"]
    row_shared_data: SharedData                     ["ok" "ok" "ok" "ok" "ok" "ok" "ok"   "ok"]
}

fn code(r: Rule) -> String {
    use wasm_host_tests::matrix::trap as t;
    match r {
        Rule::Allow => "ok".into(),
        Rule::NotFound => "NF".into(),
        Rule::UntilResponseStarts(_) => "UR".into(),
        Rule::UntilHeadersSent(_) => "UH".into(),
        Rule::Stash => "ST".into(),
        Rule::Replace => "RP".into(),
        Rule::NoHttpContext => "NH".into(),
        Rule::Trap(m) => {
            let all = [
                ("T1", t::DISPATCH),
                ("T2", t::GET_REQUEST_BODY),
                ("T3", t::SET_REQUEST_BODY),
                ("T4", t::GET_RESPONSE_BODY),
                ("T5", t::SET_RESPONSE_BODY),
                ("T6", t::GET_CALL_BODY),
                ("T7", t::SET_REQUEST_HEADER),
                ("T8", t::SET_RESPONSE_HEADER),
                ("T9", t::TICK_ROOT_ONLY),
                ("T10b", t::RESPONSE_ALREADY_SENT),
            ];
            all.iter()
                .find(|(_, msg)| *msg == m)
                .map_or("T?", |(n, _)| n)
                .to_string()
        }
    }
}

#[test]
fn matrix_data_matches_wasmx_md() {
    for (call, row) in DOC {
        for (phase, want) in Phase::ALL.iter().zip(row) {
            assert_eq!(code(rule(call, *phase)), want, "{call:?} in {phase:?}");
        }
    }
}

#[test]
fn trap_messages_are_exact() {
    use wasm_host_tests::matrix::trap as t;
    assert_eq!(
        t::DISPATCH,
        "host trap (bad usage): can only send HTTP dispatch during \"on_request_headers\", \"on_request_body\", \"on_tick\", \"on_dispatch_response\", \"on_foreign_function\""
    );
    assert_eq!(
        t::TICK_ROOT_ONLY,
        "can only set tick_period in root context"
    );
    assert_eq!(
        t::RESPONSE_ALREADY_SENT,
        "host trap (bad usage): response already sent"
    );
}

#[allow(clippy::unwrap_used)]
/// Runs `call` in `phase` and returns the log lines of the run plus the client status.
fn run(call: HostCall, phase: Phase) -> (Vec<LogLine>, Option<u16>, Option<u16>) {
    let mut wat = WatFilter::new().on(
        Callback::VmStart,
        "(drop (call $proxy_set_tick_period_milliseconds (i32.const 1000)))",
    );
    let code = snippet(call);
    let target = Callback::of(phase);
    wat = match phase {
        Phase::CallResponse => wat
            .on(
                Callback::RequestHeaders,
                &once(0, &snippet(HostCall::Dispatch)),
            )
            .returns(Callback::RequestHeaders, 1)
            .on(target, &once(1, &code)),
        _ => wat.on(target, &code),
    };
    let filter = Filter::from_bytes("matrix", wat.build().as_bytes(), true).unwrap();
    let transport = Arc::new(ScriptedTransport::new(vec![
        Ok(DispatchResponse::new(200, b"pong")),
        Ok(DispatchResponse::new(200, b"pong")),
    ]));
    let config = HostConfig {
        shm_kv: Some(64 * 1024),
        ..HostConfig::default()
    };
    let host = Host::with_transport(filter, config, transport).unwrap();
    if phase == Phase::Tick {
        let logs = host.worker(0).tick();
        return (logs, None, None);
    }
    let report = host.exchange(
        Request::post("/p", b"hello"),
        UpstreamResponse::json(b"HelloWorld"),
    );
    let local = report.local_reply.as_ref().map(|l| l.status);
    (report.logs, report.response.map(|r| r.status), local)
}

fn statuses(logs: &[LogLine]) -> Vec<String> {
    logs.iter()
        .filter(|l| l.message.starts_with("status="))
        .map(|l| l.message.clone())
        .collect()
}

fn check_row(call: HostCall) {
    let mut failures = Vec::new();
    for phase in Phase::ALL {
        let (logs, status, local) = run(call, phase);
        let mut seen = statuses(&logs);
        if phase == Phase::CallResponse && !seen.is_empty() {
            seen.remove(0); // the dispatch that leads to the CALL phase
        }
        let trapped = |m: &str| logs.iter().any(|l| l.message == m);
        let ok = match rule(call, phase) {
            Rule::Trap(m) => trapped(m) && seen.is_empty(),
            Rule::NotFound => seen == ["status=01"],
            Rule::NoHttpContext => seen == ["status=10"],
            Rule::Stash => {
                seen.first().map(String::as_str) == Some("status=00")
                    && local == Some(403)
                    && status == Some(403)
            }
            Rule::Replace => seen == ["status=00"] && status == Some(403) && local.is_none(),
            Rule::Allow | Rule::UntilResponseStarts(_) | Rule::UntilHeadersSent(_) => {
                !seen.is_empty() && !logs.iter().any(|l| l.message.contains("trap"))
            }
        };
        if !ok {
            let lines: Vec<_> = logs.iter().map(|l| l.message.as_str()).collect();
            failures.push(format!(
                "{phase:?}: status {status:?} local {local:?} logs {lines:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{call:?}:\n{}", failures.join("\n"));
}
