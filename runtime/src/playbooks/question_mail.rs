//! The mail a playbook asks a question by (`ask(question, answers, to)`): the question, its
//! answers, and where to answer it, which is the console's Approvals page when its public
//! URL is set (`[console] url` in config.toml). Without the URL the mail says how to answer
//! from the command line instead, and the log says once why there is no link.

use serde_json::{json, Value};
use std::sync::Once;

static NO_URL_LOGGED: Once = Once::new();

/// The mail to `to` asking incident `id` (named `name`) `question`; `link` is where it is
/// answered in the console, if known.
pub fn message(
    to: &str,
    id: i64,
    name: &str,
    question: &str,
    answers: &[String],
    link: Option<String>,
) -> Value {
    let choices = if answers.is_empty() {
        "Any answer will do.".to_owned()
    } else {
        format!("Answers: {}.", answers.join(", "))
    };
    let how = match link {
        // The link on a line of its own keeps the mail readable as sent (a line of 76
        // characters or more is sent quoted-printable).
        Some(link) => format!("Answer it in the console:\n{link}"),
        None => {
            NO_URL_LOGGED.call_once(|| {
                tracing::warn!(
                    "mails that ask a question carry no link to the console: set its public \
                     address as [console] url = \"https://...\" in the playbooks' config.toml"
                );
            });
            format!(
                "Answer it on the Approvals page of the console,\n\
                 or with `ilm incident answer {id} ANSWER`."
            )
        }
    };
    json!({
        "to": to,
        "subject": format!("Incident {id} ({name}) waits for your answer"),
        "body": format!("{question}\n\n{choices}\n\n{how}\n"),
    })
}
