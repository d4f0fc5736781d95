//! `signet completions SHELL` and `signet man [COMMAND]`: shell completions and roff man pages,
//! generated from the clap definitions in `cli.rs` so that they cannot drift from the flags.

use crate::Failure;
use crate::cli::{Cli, CompletionsArgs, ManArgs};
use clap::CommandFactory as _;
use std::io::Write as _;

/// The completion script for `shell`.
fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "signet", &mut script);
    script
}

/// The man page of the command named by `path` (e.g. `["serve", "log"]`, titled
/// `signet-serve-log`), or of signet itself when `path` is empty. The top page lists the
/// commands as `signet-<command>(1)`, which are these pages.
fn man_page(path: &[String]) -> Result<Vec<u8>, Failure> {
    let mut command = Cli::command().disable_help_subcommand(true);
    // Names every command `signet-<command>`, as the pages are called.
    command.build();
    let mut walked = String::from("signet");
    for name in path {
        walked = format!("{walked} {name}");
        command = command
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| Failure::Usage(format!("no command `{walked}`")))?;
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .source(format!("signet {}", env!("CARGO_PKG_VERSION")))
        .render(&mut page)
        .map_err(|e| Failure::Usage(format!("rendering the man page: {e}")))?;
    Ok(page)
}

/// Writes to stdout; a closed pipe (`signet man | head`) is an error, not a panic.
fn print(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Usage(format!("writing to stdout: {e}")))
}

/// `signet completions SHELL`.
pub fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    print(&completion_script(args.shell))
}

/// `signet man [COMMAND]`.
pub fn man(args: &ManArgs) -> Result<(), Failure> {
    print(&man_page(&args.command)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::ValueEnum as _;

    fn page(path: &[&str]) -> String {
        let path: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
        String::from_utf8(man_page(&path).map_err(|e| format!("{e:?}")).unwrap()).unwrap()
    }

    /// The title line: the first line after clap_mangen's `.ie`/`.el` definition of the
    /// apostrophe string.
    fn title(page: &str) -> &str {
        page.lines()
            .find(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
            .unwrap_or("")
    }

    #[test]
    fn every_shell_completes_every_command() {
        for shell in clap_complete::Shell::value_variants() {
            let script = String::from_utf8(completion_script(*shell)).unwrap();
            for command in [
                "verify-blob",
                "sign-blob",
                "verify-attestation",
                "completions",
            ] {
                assert!(script.contains(command), "{shell}: no {command}");
            }
        }
        let bash = String::from_utf8(completion_script(clap_complete::Shell::Bash)).unwrap();
        assert!(bash.contains("--certificate-identity"));
    }

    #[test]
    fn man_page_is_roff_naming_every_command() {
        let top = page(&[]);
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(title(&top), format!(".TH signet 1  \"signet {version}\" "));
        for command in [
            "verify\\-blob",
            "sign\\-blob",
            "signet\\-up(1)",
            "completions",
        ] {
            assert!(top.contains(command), "no {command}");
        }
        // The pages the top page refers to.
        let verify_blob = page(&["verify-blob"]);
        assert!(
            title(&verify_blob)
                .starts_with(&format!(".TH signet-verify-blob 1  \"signet {version}\""))
        );
        assert!(verify_blob.contains("\\-\\-certificate\\-identity"));
        let serve_log = page(&["serve", "log"]);
        assert!(title(&serve_log).starts_with(".TH signet-serve-log 1 "));
        assert!(serve_log.contains("\\-\\-database"));
        assert!(matches!(
            man_page(&["serve".into(), "nothing".into()]),
            Err(Failure::Usage(m)) if m == "no command `signet serve nothing`"
        ));
    }
}
