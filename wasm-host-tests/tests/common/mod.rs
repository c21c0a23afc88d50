//! Helpers shared by the host's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use wasm_host_tests::dispatch::{DispatchResult, ScriptedTransport};
use wasm_host_tests::fixtures::WatFilter;
use wasm_host_tests::{Filter, Host, HostConfig, LogLine, Report};

pub fn host(wat: &WatFilter, config: HostConfig) -> Host {
    host_with(wat, config, Vec::new())
}

pub fn host_with(wat: &WatFilter, config: HostConfig, script: Vec<DispatchResult>) -> Host {
    let filter = Filter::from_bytes("fixture", wat.build().as_bytes(), true).unwrap();
    Host::with_transport(filter, config, Arc::new(ScriptedTransport::new(script))).unwrap()
}

pub fn statuses_of(logs: &[LogLine]) -> Vec<String> {
    logs.iter()
        .filter_map(|l| l.message.strip_prefix("status="))
        .map(str::to_string)
        .collect()
}

pub fn statuses(report: &Report) -> Vec<String> {
    statuses_of(&report.logs)
}

/// `(call $status (local.get $<p>))`.
pub fn log_param(p: &str) -> String {
    format!("(call $status (local.get ${p}))")
}
