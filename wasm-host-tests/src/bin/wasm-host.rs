//! `wasm-host`: serve HTTP through a proxy-wasm filter as Kong's WasmX engine runs it, or replay one
//! exchange offline. See `wasm-host --help`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(wasm_host_tests::cli::run(&args));
}
