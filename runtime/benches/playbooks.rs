//! Playbook hot paths (issue 4): the transformer chain per user (OU + sAMAccountName +
//! password), the journal's cost per side effect, and a playbook start to finish against
//! the in-process memory-app plugin (users per second). Needs `scripts/build-plugins`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ilm::playbooks::{RunOutcome, ScriptDirs, Services};
use ilm::plugins::{Host, HostConfig};
use ilm::store::{Instance, NewIncident};
use ilm::transformers::Transformers;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

const JOURNAL_CALLS: usize = 200;

fn services(dir: &Path) -> Arc<Services> {
    let books = dir.join("playbooks");
    std::fs::create_dir_all(&books).expect("playbooks dir");
    std::fs::write(
        books.join("provision.rhai"),
        "let p = incident.fields.userprofile;\nlet r = iam(\"iam-create-user\", \"mem\", p);\nprofile_put(p.email, p);\n",
    )
    .expect("write");
    std::fs::write(
        books.join("journal.rhai"),
        format!("for i in 0..{JOURNAL_CALLS} {{ set_context(\"k\", i); }}"),
    )
    .expect("write");
    std::fs::write(
        books.join("config.toml"),
        "[types]\nProvision = \"provision\"\nJournal = \"journal\"\n",
    )
    .expect("write");
    let host = Host::new(HostConfig {
        plugins_dir: repo("dist/test-plugins"),
        cache_dir: dir.join("cache"),
    })
    .expect("host");
    let services = Arc::new(
        Services::new(
            dir.join("ilm.db"),
            Arc::new(host),
            &ScriptDirs {
                playbooks: books.clone(),
                mappers: repo("playbooks").join("mappers"),
                transformers: repo("playbooks").join("transformers"),
            },
            None,
        )
        .expect("services"),
    );
    services
        .open_store()
        .expect("store")
        .add_instance(&Instance {
            name: "mem".into(),
            plugin: "memory-app".into(),
            params: Map::new(),
            secrets: Default::default(),
            allow_hosts: vec![],
            limits: Map::new(),
            enabled: true,
        })
        .expect("instance");
    services
}

fn new_incident(services: &Services, kind: &str, n: u64) -> i64 {
    let email = format!("user{n}@acme.test");
    let fields = json!({"email": email, "userprofile": {"email": email, "username": email, "title": "Engineer"}});
    let Value::Object(fields) = fields else {
        unreachable!()
    };
    services
        .open_store()
        .expect("store")
        .create_incident(&NewIncident {
            kind,
            name: &email,
            fields: &fields,
        })
        .expect("incident")
        .id
}

fn benches(c: &mut Criterion) {
    let transformers = Transformers::new(&repo("playbooks/transformers"));
    let profile = json!({"email": "jane.doe@acme.test", "department": "Engineering", "countryname": "United States"});
    let policy = json!({"min_lcase": 4, "max_lcase": 6, "min_ucase": 2, "max_ucase": 3, "min_digits": 2, "max_digits": 3, "min_symbols": 1, "max_symbols": 2});
    for (name, input) in [
        ("ou-mapping", &profile),
        ("samaccountname", &profile),
        ("generate-password", &policy),
    ] {
        c.bench_function(&format!("transformer {name}"), |b| {
            b.iter(|| transformers.run(name, input).expect(name))
        });
    }
    c.bench_function(
        "transformer chain per user (ou-mapping + samaccountname + generate-password)",
        |b| {
            b.iter(|| {
                transformers.run("ou-mapping", &profile).expect("ou");
                transformers.run("samaccountname", &profile).expect("sam");
                transformers
                    .run("generate-password", &policy)
                    .expect("password")
            })
        },
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let services = services(dir.path());
    let mut n = 0u64;
    let mut group = c.benchmark_group("playbooks");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function(
        format!("journal: one playbook making {JOURNAL_CALLS} journaled calls"),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    let id = new_incident(&services, "Journal", n);
                    let start = Instant::now();
                    assert_eq!(services.run_incident(id).expect("run"), RunOutcome::Closed);
                    total += start.elapsed();
                }
                total
            })
        },
    );
    group.throughput(Throughput::Elements(1));
    group.bench_function(
        "playbook start to finish: iam-create-user on memory-app + profile (users)",
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    // memory-app keeps its users in one JSON document: start each user from empty.
                    services
                        .open_store()
                        .expect("store")
                        .set_integration_context("mem", "{}")
                        .expect("reset");
                    let id = new_incident(&services, "Provision", n);
                    let start = Instant::now();
                    assert_eq!(services.run_incident(id).expect("run"), RunOutcome::Closed);
                    total += start.elapsed();
                }
                total
            })
        },
    );
    group.finish();
}

criterion_group!(playbook_benches, benches);
criterion_main!(playbook_benches);
