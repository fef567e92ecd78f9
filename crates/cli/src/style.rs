//! What a person sees: colour only on a terminal (never with `NO_COLOR`), and progress on long
//! runs drawn on standard error, only when that is a terminal (indicatif hides it otherwise), so
//! piped and `--json` output stays plain.

use std::io::IsTerminal as _;
use std::sync::OnceLock;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressStyle};
use stackhand_runner::Resolution;

/// Whether standard output takes colour.
fn coloured() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    })
}

/// `text` in `style`, on a terminal.
fn paint(text: &str, style: Style) -> String {
    if coloured() {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

fn colour(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

/// A step's answer, padded to `width` and coloured by how it went.
pub fn answer(word: &str, width: usize) -> String {
    let style = match word {
        "executed" | "skipped" => colour(AnsiColor::Green),
        "pending_approval" | "pending" | "started" => colour(AnsiColor::Yellow),
        "not_applicable" | "not_undoable" => Style::new().dimmed(),
        _ => colour(AnsiColor::Red),
    };
    paint(&format!("{word:width$}"), style)
}

/// How a ticket ended, coloured.
pub fn resolution(resolution: Resolution) -> String {
    let (word, style) = match resolution {
        Resolution::Resolved => ("Resolved", colour(AnsiColor::Green).bold()),
        Resolution::WaitingApproval => ("WaitingApproval", colour(AnsiColor::Yellow).bold()),
        Resolution::Scheduled => ("Scheduled", colour(AnsiColor::Cyan).bold()),
        Resolution::Routed => ("Routed", colour(AnsiColor::Magenta).bold()),
        Resolution::Shadowed => ("Shadowed", Style::new().bold()),
        Resolution::LinkedToIncident => ("LinkedToIncident", colour(AnsiColor::Blue).bold()),
    };
    paint(word, style)
}

/// A heading (a ticket's first line).
pub fn heading(text: &str) -> String {
    paint(text, Style::new().bold())
}

/// A spinner saying what is being done, until it is finished or dropped.
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar over `len` items.
pub fn bar(len: usize, message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new(len as u64).with_message(message.into());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
