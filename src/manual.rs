//! The man page and the shells' completions, made from the command line's
//! definition so that they never drift from it.

use std::io::{self, Write};

use clap_mangen::Man;
use roff::{Roff, bold, italic, roman};

use crate::cli::{self, EXAMPLES, EXIT_STATUSES, Generate, SIGNALS};

/// Writes the man page or the completions for a shell.
pub(crate) fn generate(what: Generate, out: &mut impl Write) -> io::Result<()> {
    use clap_complete::Shell;
    let shell = match what {
        Generate::Man => return man_page(out),
        Generate::Bash => Shell::Bash,
        Generate::Zsh => Shell::Zsh,
        Generate::Fish => Shell::Fish,
        Generate::Elvish => Shell::Elvish,
        Generate::Powershell => Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut cli::command(), "shipper", out);
    Ok(())
}

/// The man page: clap_mangen's options, between sections of shipper's own.
fn man_page(out: &mut impl Write) -> io::Result<()> {
    // Every flag, with its text: clap_mangen leaves out the text of a flag
    // kept out of `-h`.
    let command = cli::command().mut_args(|arg| arg.hide_short_help(false));
    let man = Man::new(command.clone());
    let mut sections = vec![
        rendered(|w| man.render_title(w))?,
        rendered(|w| man.render_name_section(w))?,
        synopsis().render(),
        description().render(),
        rendered(|w| man.render_options_section(w))?,
    ];
    let mut rest = Roff::new();
    examples(&mut rest);
    exit_status(&mut rest);
    signals(&mut rest);
    environment(&mut rest, &command);
    rest.control("SH", ["SEE ALSO"]);
    rest.text([roman("logrotate(8), jq(1)")]);
    sections.push(rest.render());
    sections.push(rendered(|w| man.render_version_section(w))?);
    // Each piece starts with the same two lines defining \*(Aq; once is
    // enough.
    let preamble: String = sections[0].split_inclusive('\n').take(2).collect();
    for (index, section) in sections.iter().enumerate() {
        let text = match index {
            0 => section.as_str(),
            _ => section.strip_prefix(&preamble).unwrap_or(section),
        };
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

fn rendered(render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<String> {
    let mut buffer = Vec::new();
    render(&mut buffer)?;
    String::from_utf8(buffer).map_err(io::Error::other)
}

/// The ways shipper is run, each with its flags' arguments.
fn synopsis() -> Roff {
    let forms: [&[(&str, Style)]; 4] = [
        &[
            ("[OPTIONS]", Style::Italic),
            ("[--sink SINK]...", Style::Italic),
            ("[FILE]...", Style::Italic),
        ],
        &[
            ("--follow", Style::Bold),
            ("PATTERN", Style::Italic),
            ("[--checkpoint PATH]", Style::Italic),
            ("[OPTIONS]", Style::Italic),
        ],
        &[
            ("--checkpoint", Style::Bold),
            ("PATH", Style::Italic),
            ("--show-checkpoint", Style::Bold),
            ("|", Style::Roman),
            ("--reset-checkpoint", Style::Bold),
            ("[FILE]...", Style::Italic),
        ],
        &[
            ("--check-config", Style::Bold),
            ("[OPTIONS]", Style::Italic),
        ],
    ];
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    roff.control("nf", []);
    for form in forms {
        let mut line = vec![bold("shipper")];
        let mut after_bar = false;
        for &(word, style) in form.iter() {
            if style != Style::Roman && !after_bar {
                line.push(roman(" "));
            }
            after_bar = style == Style::Roman;
            line.push(style.apply(word));
        }
        roff.text(line);
    }
    roff.control("fi", []);
    roff
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Bold,
    Italic,
    Roman,
}

impl Style {
    fn apply(self, word: &str) -> roff::Inline {
        match self {
            Style::Bold => bold(word),
            Style::Italic => italic(word),
            Style::Roman => roman(word),
        }
    }
}

fn description() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["DESCRIPTION"]);
    for paragraph in [
        "shipper reads lines from standard input, or from files it reads once or follows \
         across rotation, turns each into a JSON event, and writes the events in batches to \
         the sinks chosen with --sink: standard output, files, HTTP collectors, NATS \
         JetStream and syslog servers.",
        "It accounts for every line. At exit it prints a drain summary: how many events were \
         submitted, processed and dropped, and why each dropped event was dropped; submitted \
         always equals processed plus dropped. The exit status says whether every line was \
         delivered.",
        "Every flag can also be set in the environment (see ENVIRONMENT) or in a TOML file \
         given to --config; the command line wins over the environment, which wins over the \
         file.",
    ] {
        roff.control("PP", []);
        roff.text([roman(paragraph)]);
    }
    roff
}

/// The examples, unfilled so that no command is broken mid-URL.
fn examples(roff: &mut Roff) {
    roff.control("SH", ["EXAMPLES"]);
    for example in EXAMPLES {
        roff.control("PP", []);
        roff.text([roman(format!("{}:", example.what))]);
        roff.control("RS", ["4"]);
        roff.control("nf", []);
        for command in example.commands {
            roff.text([roman(*command)]);
        }
        roff.control("fi", []);
        roff.control("RE", []);
    }
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUSES {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(*meaning)]);
    }
}

fn signals(roff: &mut Roff) {
    roff.control("SH", ["SIGNALS"]);
    for (signal, effect) in SIGNALS {
        roff.control("TP", []);
        roff.text([bold(*signal)]);
        roff.text([roman(*effect)]);
    }
}

/// Every `SHIPPER_*` variable, with the flag it stands for.
fn environment(roff: &mut Roff, command: &clap::Command) {
    roff.control("SH", ["ENVIRONMENT"]);
    for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
        let (Some(variable), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        let mut meaning = format!("As --{long}.");
        if arg.is_hide_env_values_set() {
            meaning.push_str(
                " A secret: set it here rather than on the command line, where the process \
                 list would show it.",
            );
        }
        if long == "sink" {
            meaning.push_str(
                " A list of sinks, split at each comma that starts a sink (`,stdout`, `,file`, \
                 `,http=`...), so that commas inside a URL stay.",
            );
        }
        roff.control("TP", []);
        roff.text([bold(variable.to_string_lossy())]);
        roff.text([roman(meaning)]);
    }
    roff.control("TP", []);
    roff.text([bold("NO_COLOR")]);
    roff.text([roman(
        "When set and not empty, the summary on a terminal is not coloured.",
    )]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> String {
        let mut out = Vec::new();
        generate(Generate::Man, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_man_page_has_every_section_once() {
        let page = page();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "SINKS",
            "EXAMPLES",
            "\"EXIT STATUS\"",
            "SIGNALS",
            "ENVIRONMENT",
            "VERSION",
        ] {
            let heading = format!(".SH {section}\n");
            assert_eq!(page.matches(&heading).count(), 1, "{heading}");
        }
        assert_eq!(page.matches(".ds Aq").count(), 2, "one preamble");
    }

    #[test]
    fn every_variable_is_in_the_environment_section() {
        let page = page();
        let environment = &page[page.find(".SH ENVIRONMENT").unwrap()..];
        for arg in cli::command().get_arguments() {
            if let Some(variable) = arg.get_env().filter(|_| !arg.is_hide_set()) {
                let variable = variable.to_string_lossy();
                assert!(
                    environment.contains(&format!("\\fB{variable}\\fR")),
                    "{variable}"
                );
            }
        }
    }

    #[test]
    fn every_flag_is_described() {
        let page = page();
        for arg in cli::command()
            .get_arguments()
            .filter(|arg| !arg.is_hide_set())
        {
            let Some(long) = arg.get_long() else {
                continue;
            };
            let name = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
            let at = page
                .find(&name)
                .unwrap_or_else(|| panic!("--{long} in the page"));
            let entry = &page[at..];
            let entry = &entry[..entry.find("\n.TP").unwrap_or(entry.len())];
            let described = entry
                .lines()
                .skip(1)
                .any(|line| !line.is_empty() && !line.starts_with('.'));
            assert!(described, "--{long} has no description: {entry}");
        }
    }

    #[test]
    fn examples_are_not_filled() {
        let page = page();
        let examples = &page[page.find(".SH EXAMPLES").unwrap()..page.find(".SH \"EXIT").unwrap()];
        assert!(examples.contains(
            ".nf\napp | shipper \\-\\-sink nats=nats://nats\\-1:4222,nats\\-2:4222/logs.app\n"
        ));
    }
}
