//! One simulated nginx worker: one filter instance shared by the root context and every request
//! context, recycled after a trap (WASMX.md §2).

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::{Func, Instance, Store, StoreLimitsBuilder, Trap, Val};

use crate::dispatch::Transport;
use crate::filter::Filter;
use crate::matrix::Phase;
use crate::memory::HostTrap;
use crate::metrics::Metrics;
use crate::shm::SharedKv;
use crate::state::{CurrentCall, HostState, HttpState, Level, LogLine, Settings, Source};

/// Limits applied to every instance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub fuel_per_callback: Option<u64>,
    pub max_memory: usize,
}

pub(crate) struct Live {
    pub store: Store<HostState>,
    pub instance: Instance,
    pub loaded: bool,
    /// Exports looked up so far, by name (`None`: not exported), as an engine resolves its
    /// callbacks once per instance rather than once per call.
    exports: HashMap<String, Option<Export>>,
}

/// A callback export: the function, which of its parameters are `i64` (bit k for parameter
/// k), and how many parameters and results it has.
#[derive(Clone, Copy)]
struct Export {
    func: Func,
    wide: u32,
    params: usize,
    results: usize,
}

/// A simulated worker. Drive exchanges through it with [`Worker::begin`] and the response methods.
pub struct Worker {
    pub(crate) index: usize,
    pub(crate) filter: Filter,
    pub(crate) settings: Arc<Settings>,
    pub(crate) shm: SharedKv,
    pub(crate) metrics: Metrics,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) limits: Limits,
    pub(crate) live: Option<Live>,
    pub(crate) generation: u64,
    pub(crate) next_context_id: u32,
    pub(crate) next_token: u32,
    pub(crate) root_id: u32,
    pub(crate) starts: u32,
    /// Log lines written outside any exchange (ticks), waiting to be collected.
    pub(crate) orphan_logs: Vec<LogLine>,
}

/// A failed callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trapped(pub String);

impl Worker {
    /// This worker's index in its host.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many times an instance was created and root-started on this worker.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// The current instance generation (grows after every recycle).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The size of the live instance's linear memory in bytes (`None` before the first start
    /// or after a trap). Memory only grows: this is the most the filter has had at once.
    pub fn memory_bytes(&mut self) -> Option<usize> {
        let live = self.live.as_mut()?;
        let memory = live.instance.get_memory(&mut live.store, "memory")?;
        Some(memory.data_size(&live.store))
    }

    fn new_store(&self) -> Store<HostState> {
        let state = HostState {
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.max_memory)
                .build(),
            settings: Arc::clone(&self.settings),
            shm: self.shm.clone(),
            metrics: self.metrics.clone(),
            logs: Vec::new(),
            phase: Phase::Vm,
            context_id: 0,
            root_id: 0,
            tick_period: 0,
            next_token: self.next_token,
            http: None,
            call: None,
            tick_pending: Default::default(),
            started: std::time::Instant::now(),
            rng: crate::wasi::seed(),
        };
        let mut store = Store::new(&self.filter.engine, state);
        store.limiter(|s| &mut s.limits);
        store
    }

    /// Creates the instance and runs root start if there is none (first use, or after a trap).
    /// Returns whether the filter is loaded (`on_vm_start` and `on_configure` returned true).
    pub(crate) fn ensure_started(&mut self, logs: &mut Vec<LogLine>) -> bool {
        if let Some(live) = &self.live {
            return live.loaded;
        }
        self.generation += 1;
        self.starts += 1;
        let mut store = self.new_store();
        if self.filter.fuel {
            let _ = store.set_fuel(self.limits.fuel_per_callback.unwrap_or(u64::MAX));
        }
        let instance = match self.filter.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => {
                logs.push(host_line(
                    Level::Crit,
                    0,
                    format!("failed instantiating filter: {}", trap_message(&e)),
                ));
                return false;
            }
        };
        self.live = Some(Live {
            store,
            instance,
            loaded: false,
            exports: HashMap::new(),
        });
        for init in ["_initialize", "_start"] {
            if self.export_exists(init) {
                if self
                    .invoke(Phase::Vm, 0, init, &[], None, None, logs)
                    .is_err()
                {
                    return false;
                }
                break;
            }
        }
        self.root_id = self.alloc_context_id();
        let root = self.root_id as i32;
        let vm_len = self.settings.vm_config.len() as i32;
        let config_len = self.settings.plugin_config.len() as i32;
        let steps: [(&str, Vec<i32>); 3] = [
            ("proxy_on_context_create", vec![root, 0]),
            ("proxy_on_vm_start", vec![root, vm_len]),
            ("proxy_on_configure", vec![root, config_len]),
        ];
        for (export, args) in steps {
            match self.invoke(Phase::Vm, self.root_id, export, &args, None, None, logs) {
                Err(_) => return false,
                Ok(Some(0)) => {
                    logs.push(host_line(
                        Level::Err,
                        self.root_id,
                        format!("{export} failed: filter not loaded"),
                    ));
                    return false;
                }
                Ok(_) => {}
            }
        }
        if let Some(live) = &mut self.live {
            live.loaded = true;
        }
        true
    }

    pub(crate) fn alloc_context_id(&mut self) -> u32 {
        self.next_context_id = self.next_context_id.wrapping_add(1);
        self.next_context_id
    }

    fn export_exists(&mut self, name: &str) -> bool {
        match &mut self.live {
            Some(live) => live.instance.get_func(&mut live.store, name).is_some(),
            None => false,
        }
    }

    /// Runs one callback. `Ok(None)` when the export does not exist or returns nothing.
    /// The exchange's state is swapped into the store for the call and back out after.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn invoke(
        &mut self,
        phase: Phase,
        context_id: u32,
        export: &str,
        args: &[i32],
        mut http: Option<&mut HttpState>,
        call: Option<CurrentCall>,
        logs: &mut Vec<LogLine>,
    ) -> Result<Option<i32>, Trapped> {
        let Some(live) = &mut self.live else {
            return Err(Trapped("instance trapped".to_string()));
        };
        let found = match live.exports.get(export) {
            Some(found) => *found,
            None => {
                let found = live.instance.get_func(&mut live.store, export).map(|func| {
                    let ty = func.ty(&live.store);
                    let wide = ty.params().enumerate().fold(0, |wide, (i, p)| {
                        let bit = u32::from(matches!(p, wasmtime::ValType::I64));
                        wide | bit.checked_shl(i as u32).unwrap_or(0)
                    });
                    let (params, results) = (ty.params().len(), ty.results().len());
                    Export {
                        func,
                        wide,
                        params,
                        results,
                    }
                });
                live.exports.insert(export.to_owned(), found);
                found
            }
        };
        let Some(Export {
            func,
            wide,
            params,
            results,
        }) = found
        else {
            return Ok(None);
        };
        if self.filter.fuel {
            let _ = live
                .store
                .set_fuel(self.limits.fuel_per_callback.unwrap_or(u64::MAX));
        }
        let params: Vec<Val> = (0..params)
            .map(|i| {
                let v = args.get(i).copied().unwrap_or(0);
                if wide.checked_shr(i as u32).unwrap_or(0) & 1 == 1 {
                    Val::I64(i64::from(v))
                } else {
                    Val::I32(v)
                }
            })
            .collect();
        let mut results: Vec<Val> = vec![Val::I32(0); results];
        let swapped = http.is_some();
        {
            let data = live.store.data_mut();
            data.phase = phase;
            data.context_id = context_id;
            data.root_id = self.root_id;
            data.call = call;
            if let Some(h) = http.as_mut() {
                data.http = Some(std::mem::take(&mut **h));
            }
        }
        let outcome = func.call(&mut live.store, &params, &mut results);
        let data = live.store.data_mut();
        if swapped {
            if let (Some(h), Some(state)) = (http, data.http.take()) {
                *h = state;
            }
        }
        data.call = None;
        self.next_token = data.next_token;
        logs.append(&mut data.logs);
        match outcome {
            Ok(()) => Ok(results.first().and_then(Val::i32)),
            Err(e) => {
                let message = trap_message(&e);
                logs.push(host_line(Level::Err, context_id, message.clone()));
                self.live = None;
                Err(Trapped(message))
            }
        }
    }

    /// Calls `on_tick` on the root context when a tick period is set, then runs the dispatches it made
    /// (their responses go to the root context). Returns the log lines written.
    pub fn tick(&mut self) -> Vec<LogLine> {
        let mut logs = std::mem::take(&mut self.orphan_logs);
        if !self.ensure_started(&mut logs) {
            return logs;
        }
        let period = self.live.as_ref().map_or(0, |l| l.store.data().tick_period);
        if period == 0 {
            return logs;
        }
        let root = self.root_id;
        if self
            .invoke(
                Phase::Tick,
                root,
                "proxy_on_tick",
                &[root as i32],
                None,
                None,
                &mut logs,
            )
            .is_err()
        {
            return logs;
        }
        loop {
            let next = self
                .live
                .as_mut()
                .and_then(|l| l.store.data_mut().tick_pending.pop_front());
            let Some(pending) = next else { break };
            let result = self.transport.send(&pending.request);
            let (n, len) = call_counts(&result);
            let args = [root as i32, pending.token as i32, n, len, 0];
            let call = Some(CurrentCall { result });
            if self
                .invoke(
                    Phase::CallResponse,
                    root,
                    "proxy_on_http_call_response",
                    &args,
                    None,
                    call,
                    &mut logs,
                )
                .is_err()
            {
                break;
            }
        }
        logs
    }

    /// Snapshot of this worker's shared data store and metrics are on the host; this is the tick period.
    pub fn tick_period(&self) -> u32 {
        self.live.as_ref().map_or(0, |l| l.store.data().tick_period)
    }
}

pub(crate) fn call_counts(result: &crate::dispatch::DispatchResult) -> (i32, i32) {
    match result {
        Ok(r) => (
            i32::try_from(r.headers.len() + 2).unwrap_or(i32::MAX),
            i32::try_from(r.body.len()).unwrap_or(i32::MAX),
        ),
        Err(_) => (0, 0),
    }
}

pub(crate) fn host_line(level: Level, context_id: u32, message: String) -> LogLine {
    LogLine {
        level,
        source: Source::Host,
        context_id,
        message,
    }
}

/// The message WasmX would log for a failed call: a host trap's own text, or the wasm trap.
pub(crate) fn trap_message(e: &wasmtime::Error) -> String {
    if let Some(HostTrap(m)) = e.downcast_ref::<HostTrap>() {
        return m.clone();
    }
    if let Some(t) = e.downcast_ref::<Trap>() {
        return format!("wasm trap: {t}");
    }
    format!("wasm error: {}", e.root_cause())
}
