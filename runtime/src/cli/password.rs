//! Reading a password: the first line of standard input, or, at a terminal, a prompt with
//! echo turned off. Never an argument, which `ps` shows to every user of the machine.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, IsTerminal, Write};

/// Passwords shorter than this are refused.
const MIN_LENGTH: usize = 12;

pub fn read(prompt: &str) -> Result<String> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let mut line = String::new();
    if terminal {
        eprint!("{prompt}");
        std::io::stderr().flush().ok();
        let _echo = EchoOff::new();
        stdin.lock().read_line(&mut line)?;
        eprintln!();
    } else {
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
    }
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < MIN_LENGTH {
        bail!(
            "the password is shorter than {MIN_LENGTH} characters; give a longer one on \
             standard input (e.g. `printf '%s\\n' \"$PW\" | ilm user set-password USER`)"
        );
    }
    Ok(password)
}

/// Terminal echo off while it lives.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> Self {
        // SAFETY: tcgetattr and tcsetattr only read and write the termios given, for fd 0.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return Self(None);
            }
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &quiet);
            Self(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, saved);
            }
        }
    }
}
