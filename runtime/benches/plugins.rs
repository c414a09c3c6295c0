//! Plugin host hot paths (issue 3): a fresh sandbox plus one IAM call on a trivial app,
//! the host→guest call overhead, loading a precompiled plugin, and a cold
//! `ilm plugin list` with three plugins. Needs `scripts/build-plugins` first.

use criterion::{criterion_group, criterion_main, Criterion};
use ilm::plugins::{Host, HostConfig, InstanceSettings, Lookup};
use ilm::store::Instance;
use serde_json::Map;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn dist(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dist")
        .join(kind)
}

/// A folder with three installed plugins.
fn three_plugins() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (kind, name) in [
        ("plugins", "github"),
        ("test-plugins", "memory-app"),
        ("test-plugins", "hostile"),
    ] {
        for ext in ["wasm", "toml"] {
            std::fs::copy(
                dist(kind).join(format!("{name}.{ext}")),
                dir.path().join(format!("{name}.{ext}")),
            )
            .expect("run scripts/build-plugins first");
        }
    }
    dir
}

fn memory_app(host: &Host) -> (std::sync::Arc<ilm::plugins::LoadedPlugin>, InstanceSettings) {
    let plugin = host.plugin("memory-app").expect("memory-app");
    let settings = InstanceSettings::new(
        &plugin.manifest,
        &instance("memory-app"),
        r#"{"users":{}}"#.into(),
    )
    .expect("settings");
    (plugin, settings)
}

fn instance(plugin: &str) -> Instance {
    Instance {
        name: "mem".into(),
        plugin: plugin.into(),
        params: Map::new(),
        secrets: Default::default(),
        allow_hosts: vec![],
        limits: Map::new(),
        enabled: true,
    }
}

fn benches(c: &mut Criterion) {
    let plugins = three_plugins();
    let cache = tempfile::tempdir().expect("tempdir");
    let config = || HostConfig {
        plugins_dir: plugins.path().to_owned(),
        cache_dir: cache.path().to_owned(),
    };
    let host = Host::new(config()).expect("host");
    let (plugin, settings) = memory_app(&host);
    let lookup = Lookup {
        attribute: "username".into(),
        value: "jdoe@acme.test".into(),
    };

    c.bench_function("fresh sandbox + one IAM call (memory-app find-user)", |b| {
        b.iter(|| {
            host.call(&plugin, &settings, "iam-get-user", |p, store| {
                p.ilm_plugin_iam().call_find_user(store, &lookup)
            })
            .expect("call")
        })
    });

    let wasi_plugin = host
        .load(
            &dist("test-plugins").join("hostile-wasi.toml"),
            &dist("test-plugins").join("hostile-wasi.wasm"),
        )
        .expect("hostile-wasi");
    let wasi_settings = InstanceSettings::new(
        &wasi_plugin.manifest,
        &Instance {
            name: "wasi".into(),
            plugin: "hostile-wasi".into(),
            ..instance("memory-app")
        },
        "{}".into(),
    )
    .expect("settings");
    c.bench_function(
        "fresh sandbox + one call using WASI (hostile-wasi clock-and-random)",
        |b| {
            b.iter(|| {
                host.call(
                    &wasi_plugin,
                    &wasi_settings,
                    "clock-and-random",
                    |p, store| {
                        p.ilm_plugin_commands()
                            .call_run(store, "clock-and-random", "{}")
                    },
                )
                .expect("call")
            })
        },
    );

    c.bench_function(
        "host to guest call overhead (identify-attributes, warm instance)",
        |b| {
            b.iter_custom(|iters| {
                host.call(&plugin, &settings, "bench", |p, store| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        p.ilm_plugin_iam().call_identify_attributes(&mut *store)?;
                    }
                    Ok(start.elapsed())
                })
                .expect("call")
                .value
            })
        },
    );

    c.bench_function(
        "load a precompiled plugin (deserialize, link, check)",
        |b| {
            let wasm = plugins.path().join("memory-app.wasm");
            let toml = plugins.path().join("memory-app.toml");
            host.load(&toml, &wasm)
                .expect("warm the cache")
                .keep_compiled();
            b.iter(|| host.load(&toml, &wasm).expect("load"))
        },
    );

    let data = tempfile::tempdir().expect("tempdir");
    let plugin_list = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ilm"))
            .args(["plugin", "list", "--json"])
            .env("ILM_HOME", data.path())
            .env("ILM_PLUGINS_DIR", plugins.path())
            .output()
            .expect("ilm");
        assert!(out.status.success());
    };
    plugin_list(); // fills the precompile cache, as an installed system has it
    let mut group = c.benchmark_group("cli");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("cold `ilm plugin list` with 3 plugins (new process)", |b| {
        b.iter(plugin_list)
    });
    group.finish();
}

criterion_group!(plugin_benches, benches);
criterion_main!(plugin_benches);
