//! The README's "Running it" is `scripts/running-it`, shown whole, and it works: the
//! script runs on a fresh clone of this repository from a directory outside it, against a
//! local Workday report, scim2-server and mail server, with the `ilm` this build made and
//! the plugins already built (so it takes seconds, not a release build).

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use support::{dist, repo_root, scim2_server, ReportServer, SmtpSink};

const SCRIPT: &str = "scripts/running-it";

/// The first ```sh block under `## Running it`.
fn readme_block(readme: &str) -> &str {
    let section = readme
        .split_once("\n## Running it\n")
        .expect("the README has a \"Running it\" section")
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("a sh block in \"Running it\"")
        .1;
    block.split_once("```\n").expect("the block's end").0
}

#[test]
fn the_readme_shows_the_script_as_it_is() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let script = std::fs::read_to_string(root.join(SCRIPT)).expect(SCRIPT);
    assert_eq!(
        readme_block(&readme),
        script,
        "the README's \"Running it\" block must be {SCRIPT} exactly: copy the script into it"
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn the_running_it_script_works_on_a_fresh_clone_from_another_directory() {
    let root = repo_root();
    let scratch = tempfile::tempdir().expect("tempdir");
    // The commit checked out here, cloned: what a new user gets, without dist/ or target/.
    let head = git(&root, &["rev-parse", "HEAD"]);
    let clone = scratch.path().join("clone");
    git(
        scratch.path(),
        &[
            "clone",
            "--quiet",
            "--no-checkout",
            &root.display().to_string(),
            "clone",
        ],
    );
    git(&clone, &["checkout", "--quiet", &head]);
    let elsewhere = scratch.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("a directory outside the clone");

    let report = ReportServer::start("ISU_ilm", "workday-password");
    report.set_rows(
        &json!([{"Emp_ID": "1", "Email_Address": "ada.lovelace@acme.test",
        "Preferred_Name": "Ada Lovelace", "Preferred_Name_-_First_Name": "Ada",
        "Preferred_Name_-_Last_Name": "Lovelace", "Employment_Status": "Active",
        "Prehire_Flag": "False", "Rehired_Employee": "No", "Last_Hire_Date": "01/06/2025",
        "Last_Day_of_Work": "", "Title": "Engineer", "Department": "Engineering",
        "Country_Name": "United States", "Manager_Email_Address": ""}]),
    );
    let scim = scim2_server("running-it");
    let smtp = SmtpSink::start();
    let ilm = env!("CARGO_BIN_EXE_ilm");
    let out = Command::new(clone.join(SCRIPT))
        .current_dir(&elsewhere)
        .env_remove("ILM_HOME")
        .env_remove("ILM_PLUGINS_DIR")
        .env_remove("ILM_PLAYBOOKS_DIR")
        .env_remove("ILM_LOG")
        .env("ILM_BIN", ilm)
        .env("ILM_DIST", dist("plugins"))
        .env("WORKDAY_URL", report.url())
        .env(
            "WORKDAY_OPTIONS",
            format!("--ca-file {}", report.ca.path("ca.pem").display()),
        )
        .env("WORKDAY_PASSWORD", "workday-password")
        .env("GITHUB_TOKEN", "running-it")
        .env(
            "GITHUB_OPTIONS",
            format!(
                "--param url=http://127.0.0.1:{} --param scim-path=github/v2",
                scim.port
            ),
        )
        .env("ILM_SMTP", smtp.url())
        .output()
        .expect("running the script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    // It all happened in the directory it ran in, with that data directory's playbooks.
    let data = elsewhere.join(".ilm");
    assert!(data.join("ilm.db").is_file(), "{stdout}");
    assert!(data.join("playbooks/iam-new-hire.rhai").is_file());
    let profiles = Command::new(ilm)
        .current_dir(&elsewhere)
        .args(["profile", "list", "--json"])
        .env_remove("ILM_HOME")
        .env_remove("ILM_PLAYBOOKS_DIR")
        .output()
        .expect("ilm profile list");
    let profiles: Value = serde_json::from_slice(&profiles.stdout).expect("profiles JSON");
    assert_eq!(
        profiles["data"][0]["email"], "ada.lovelace@acme.test",
        "the first fetch stored the report's person: {profiles}"
    );
    assert!(
        stdout.contains("hr"),
        "`ilm status` names the instance: {stdout}"
    );
}
