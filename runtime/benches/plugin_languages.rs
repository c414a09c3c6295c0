//! What a plugin costs per call by the language it is written in: a fresh sandbox plus one
//! IAM call (identify-attributes, which needs no network) on the Rust, JavaScript and Python
//! projects `ilm plugin new` writes. `scripts/bench-plugins` builds them and points
//! `ILM_BENCH_LANGUAGES` at a folder holding `bench-<lang>.wasm` and `.toml` for each; the
//! install time of each (compiling it) is measured there, as a whole `ilm plugin install`.

use criterion::{criterion_group, criterion_main, Criterion};
use ilm::plugins::{Host, HostConfig, InstanceSettings};
use ilm::store::Instance;
use serde_json::Map;
use std::path::PathBuf;

fn benches(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("ILM_BENCH_LANGUAGES").map(PathBuf::from) else {
        eprintln!("ILM_BENCH_LANGUAGES is not set: run scripts/bench-plugins");
        return;
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let host = Host::new(HostConfig {
        plugins_dir: dir.clone(),
        cache_dir: cache.path().to_owned(),
    })
    .expect("host");
    for lang in ["rust", "js", "python"] {
        let name = format!("bench-{lang}");
        let plugin = host
            .load(
                &dir.join(format!("{name}.toml")),
                &dir.join(format!("{name}.wasm")),
            )
            .unwrap_or_else(|e| panic!("{lang}: {e:#}"));
        let mut params = Map::new();
        params.insert("url".into(), "http://127.0.0.1:9".into());
        let instance = Instance {
            name: lang.into(),
            plugin: plugin.manifest.name.clone(),
            params,
            secrets: Default::default(),
            allow_hosts: vec![],
            limits: Map::new(),
            enabled: true,
        };
        let settings =
            InstanceSettings::new(&plugin.manifest, &instance, "{}".into()).expect("settings");
        c.bench_function(
            &format!("fresh sandbox + one IAM call ({lang}, identify-attributes)"),
            |b| {
                b.iter(|| {
                    host.call(&plugin, &settings, "iam-get-user", |p, store| {
                        p.ilm_plugin_iam().call_identify_attributes(store)
                    })
                    .expect("call")
                })
            },
        );
    }
}

criterion_group!(language_benches, benches);
criterion_main!(language_benches);
