//! What every command that reads the GitHub API shares: the repository argument, the token (never
//! shown: hidden from every message and masked on a runner), the client's settings, and a runtime
//! to wait on requests.

use std::io::Write;
use std::time::Duration;

use super::Error;
use crate::github::actions::{add_mask_commands, in_actions};
use crate::github::api::ClientSettings;

use super::Reporter;
use super::args::ApiArgs;
use super::settings::{Origin, SettingError};

/// `OWNER/NAME` → (owner, name).
pub fn parse_repo(repo: &str) -> Result<(String, String), SettingError> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    repo.split_once('/')
        .filter(|(o, r)| ok(o) && ok(r))
        .map(|(o, r)| (o.to_owned(), r.to_owned()))
        .ok_or_else(|| {
            SettingError::flag(
                "--repo",
                format!("`{repo}`: expected OWNER/NAME, such as octo-org/hello-world"),
            )
        })
}

/// `OWNER/NAME` of a repository that must be given; without it, `message` about `flag`.
pub fn required_repo(
    repo: Option<&str>,
    flag: &'static str,
    message: &str,
) -> Result<(String, String), SettingError> {
    parse_repo(repo.ok_or_else(|| SettingError::flag(flag, message))?)
}

/// The client's settings. The token comes from the named variable (empty counts as none); it is
/// hidden from every message, and on a runner masked in the log first.
pub fn settings(
    args: &ApiArgs,
    out: &mut dyn Write,
    reporter: &mut Reporter,
) -> Result<ClientSettings, Error> {
    // A token pasted with its newline is trimmed; one with a control character inside cannot be a
    // header (the HTTP client panicked on it) and is refused, without showing it.
    let raw = std::env::var(&args.token_env).ok();
    if let Some(raw) = &raw {
        reporter.hide(raw.trim());
    }
    let token = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if let Some(t) = &token
        && let Some(at) = t.find(|c: char| c.is_control() || !c.is_ascii())
    {
        return Err(SettingError::new(
            Origin::Env(args.token_env.clone()),
            format!(
                "the token holds a character a token cannot hold (at byte {at}); set it to the token alone"
            ),
        )
        .into());
    }
    if let Some(t) = &token {
        if in_actions() {
            // The runner hides secrets it knows; a token from elsewhere is made one.
            out.write_all(add_mask_commands(t).as_bytes())
                .map_err(|e| Error::io("write", "standard output", e))?;
        }
    } else {
        reporter.warn(format!(
            "${} is not set: requests are anonymous, limited to 60 an hour and to public repositories",
            args.token_env
        ));
    }
    Ok(ClientSettings {
        api_url: args.api_url.clone(),
        token,
        timeout: Duration::from_secs(args.timeout),
        retries: args.retries,
        backoff: Duration::from_secs(1),
        max_wait: Duration::from_secs(args.max_wait),
    })
}

/// The one-thread runtime requests run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("start", "the async runtime", e))
}

/// Runs requests to completion on one thread.
pub fn block_on<T>(work: impl Future<Output = T>) -> Result<T, Error> {
    Ok(runtime()?.block_on(work))
}
