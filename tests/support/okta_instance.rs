//! An `ilm` instance of the Okta plugin pointed at an [`OktaDouble`] org (through Prism).

use super::okta::OktaDouble;
use super::Ilm;

impl Ilm {
    /// `ilm instance add <name> --plugin okta` with the double's URL and its org's token,
    /// and `params` (NAME=VALUE) on top.
    pub fn add_okta(&self, name: &str, okta: &OktaDouble, params: &[&str]) {
        self.add_okta_with_token(name, okta, okta.token(), params);
    }

    /// Like [`Ilm::add_okta`], with another token (e.g. a wrong one).
    pub fn add_okta_with_token(&self, name: &str, okta: &OktaDouble, token: &str, params: &[&str]) {
        let url = format!("url={}", okta.url());
        let token = format!("token={token}");
        let mut args = vec![
            "instance", "add", name, "--plugin", "okta", "--param", &url, "--secret", &token,
        ];
        for param in params {
            args.extend(["--param", param]);
        }
        self.ok(&args);
    }

    /// Maps Okta app `app_id` to instance `target` in Okta instance `okta`'s IAM
    /// configuration (okta-iam-set-configuration), which its System Log fetch reads.
    pub fn map_okta_app(&self, okta: &str, app_id: &str, target: &str) {
        let mapping = serde_json::json!([{"ApplicationID": app_id, "Instance": target}]);
        self.ok(&[
            "command",
            "okta-iam-set-configuration",
            "--using",
            okta,
            "--arg",
            &format!("configuration={mapping}"),
        ]);
    }
}
