//! Helpers shared by the integration tests.
#![allow(dead_code)]

use aws_masker::detect;
use aws_masker::placeholder::Mapping;
use serde_json::Value;

// A small stand-in scanner: the masker's own tests (and the fake-scanner properties) do
// not depend on what the real `Detector` finds.
pub mod fake;

/// Replaces every placeholder of `mapping` in `text` by its original.
pub fn restore_text(text: &str, mapping: &Mapping) -> String {
    let mut out = text.to_owned();
    for (placeholder, original) in mapping.iter() {
        out = out.replace(placeholder, original);
    }
    out
}

/// `value` with every string (keys too) restored; JSON inside strings is restored as text.
pub fn restore_value(value: &Value, mapping: &Mapping) -> Value {
    match value {
        Value::String(s) => Value::String(restore_text(s, mapping)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| restore_value(v, mapping)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (restore_text(k, mapping), restore_value(v, mapping)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every key and string of `value`, and of JSON documents inside its strings, decoded.
pub fn texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Ok(inner @ (Value::Object(_) | Value::Array(_))) =
                serde_json::from_str::<Value>(s)
            {
                texts(&inner, out);
            }
            out.push(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| texts(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                texts(v, out);
            }
        }
        _ => {}
    }
}
