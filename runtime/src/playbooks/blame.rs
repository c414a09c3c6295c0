//! Which script a failed run names. A run fails in its entry playbook or in a script the
//! entry playbook reached: a sub-playbook or hook (`playbook`), a transformer (`transform`)
//! or a mapper (`incoming_profile`). The innermost failing script is recorded when its
//! error is handed to Rhai, and the run's failure names that script and its line, then the
//! entry playbook's line that led there; the entry playbook is named alone only for its own
//! errors.

use crate::scripting::ScriptError;
use rhai::{Dynamic, EvalAltResult, Position};

/// The error a native function hands to Rhai for a failed script, recorded in `fault` so
/// the run's failure can tell it from the entry playbook's own.
pub fn blame(fault: &mut Option<String>, message: String) -> Box<EvalAltResult> {
    *fault = Some(message.clone());
    EvalAltResult::ErrorRuntime(Dynamic::from(message), Position::NONE).into()
}

/// A host call's error for Rhai, blamed on the script that caused it when a
/// [`ScriptError`] did (a transformer, a mapper, a sub-playbook that does not compile).
pub fn host_error(fault: &mut Option<String>, err: anyhow::Error) -> Box<EvalAltResult> {
    let message = format!("{err:#}");
    match err.chain().any(|cause| cause.is::<ScriptError>()) {
        true => blame(fault, message),
        false => message.into(),
    }
}

/// Whether `err` is the recorded failure, passed up unchanged. A script that caught an
/// inner failure and then failed on its own does not match, and is named itself.
pub fn is_blamed(fault: Option<&str>, err: &EvalAltResult) -> bool {
    match (fault, err.unwrap_inner()) {
        (Some(fault), EvalAltResult::ErrorRuntime(payload, _)) => payload
            .clone()
            .into_string()
            .is_ok_and(|text| text == fault),
        _ => false,
    }
}

/// A run's failure message: the script that failed, its line and the cause.
pub fn describe(entry: &str, err: &EvalAltResult, fault: Option<&str>) -> String {
    match fault {
        Some(fault) if is_blamed(Some(fault), err) => match err.position() {
            at if at.is_none() => format!("{fault}; called from playbook {entry}"),
            at => format!("{fault}; called from playbook {entry} ({at})"),
        },
        _ => format!("playbook {entry}: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blamed_error_is_named_by_its_script_and_others_by_the_entry_playbook() {
        let mut fault = None;
        let err = blame(
            &mut fault,
            "playbook hook (h.rhai): boom (line 2, position 1)".into(),
        );
        assert!(is_blamed(fault.as_deref(), &err));
        let mut at_call = *err;
        at_call.set_position(Position::new(7, 3));
        assert_eq!(
            describe("main", &at_call, fault.as_deref()),
            "playbook hook (h.rhai): boom (line 2, position 1); called from playbook main (line 7, position 3)"
        );
        let own: Box<EvalAltResult> = "something else".into();
        assert_eq!(
            describe("main", &own, fault.as_deref()),
            "playbook main: Runtime error: something else"
        );
        assert_eq!(
            describe("main", &own, None),
            "playbook main: Runtime error: something else"
        );
    }
}
