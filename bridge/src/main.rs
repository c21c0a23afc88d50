//! `aws-masker-bridge`: the HTTP sidecar through which the aws-masker filter stores and looks
//! up placeholder mappings in Redis or AWS ElastiCache (Kong's WasmX gives filters no sockets,
//! only HTTP dispatches). The filter sends its Redis settings in every call, so the bridge
//! itself needs none; `--allow-redis` restricts which endpoints those settings may name.
//!
//! ```text
//! aws-masker-bridge --listen 127.0.0.1:7380 --allow-redis redis.internal:6379
//! curl -s 127.0.0.1:7380/v1/mappings -d '{"profile":{"host":"redis.internal"},"ttl":60,
//!      "store":[{"placeholder":"AWS_EC2_ABCDEFGHIJKLM","original":"i-0b263919b6498b123"}]}'
//! {"stored":1,"refreshed":0,"conflicts":[],"found":[]}
//! ```

mod backend;
mod cli;
mod metrics;
mod restore;
mod server;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use backend::{Pool, PoolSettings};
use cli::{Command, RedisOptions, RestoreOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("aws-masker-bridge: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    // One provider for every TLS connection; an error only means one is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("aws-masker-bridge: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("aws-masker-bridge {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Serve(options) => {
            let settings =
                match pool_settings(&options.redis, options.max_profiles, options.profile_idle) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("aws-masker-bridge: {e}");
                        return ExitCode::from(2);
                    }
                };
            let state = Arc::new(server::State {
                pool: Pool::new(settings),
                metrics: metrics::Metrics::default(),
                options,
                stopping: std::sync::atomic::AtomicBool::new(false),
            });
            match runtime.block_on(server::serve(state)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("aws-masker-bridge: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Restore(options) => match runtime.block_on(run_restore(&options)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("aws-masker-bridge restore: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn pool_settings(
    redis: &RedisOptions,
    max_profiles: usize,
    idle: Duration,
) -> Result<PoolSettings, String> {
    let ca_pem = match &redis.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| format!("cannot read --redis-ca-file {}: {e}", path.display()))?,
        ),
        None => None,
    };
    Ok(PoolSettings {
        ca_pem,
        timeout: redis.timeout,
        max_profiles,
        idle,
    })
}

async fn run_restore(options: &RestoreOptions) -> Result<(), Box<dyn std::error::Error>> {
    let restore::ProfileFile {
        profile,
        token_secret,
    } = restore::read_profile(&options.profile_file)?;
    let keys = token_secret.map(|s| aws_masker::placeholder::Placeholders::new(s.as_bytes()));
    if keys.is_none() {
        eprintln!(
            "aws-masker-bridge restore: the originals Redis answers are not checked (the profile \
             file has no token_secret; give the filter's config to check them)"
        );
    }
    let text = std::fs::read(&options.input)
        .map_err(|e| format!("cannot read {}: {e}", options.input.display()))?;
    let json = restore::is_json(options.format, &options.input, &text);
    let pool = Pool::new(pool_settings(&options.redis, 1, Duration::MAX)?);
    let backend = pool.get(&profile).await?;
    let (out, summary) = restore::restore(&backend, &text, json, keys.as_ref()).await?;
    if summary.known == 0 && summary.rejected > 0 {
        // Every entry failed the check: most likely the secret is not the one that issued them
        // (rotated, another deployment's, or a reference the config file does not resolve).
        return Err(format!(
            "no entry passed the check ({} rejected): a wrong or rotated token_secret, or only \
             entries written by someone else",
            summary.rejected
        )
        .into());
    }
    match &options.output {
        Some(path) => std::fs::write(path, &out).map_err(restore::RestoreError::Write)?,
        None => {
            use std::io::Write;
            std::io::stdout()
                .lock()
                .write_all(&out)
                .map_err(restore::RestoreError::Write)?;
        }
    }
    let rejected = match keys {
        Some(_) => format!(
            "; {} entries rejected (not derived with token_secret)",
            summary.rejected
        ),
        None => String::new(),
    };
    eprintln!(
        "restored {} occurrences of {} known placeholders; {} unknown occurrences left{rejected}",
        summary.replaced, summary.known, summary.unknown
    );
    Ok(())
}
