//! Logs: human-readable by default, one JSON object per line with `log.format = "json"`.
//! `RUST_LOG` filters by target and level (`info,sqlx=warn`, `latchkey=debug`).

use std::io::IsTerminal;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    // Colour codes only for a person at a terminal, not in files and log collectors.
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .finish()
            .with(filter)
            .try_init(),
        LogFormat::Pretty => builder.compact().finish().with(filter).try_init(),
    };
}

/// `RUST_LOG`'s directives, or latchkey's default when it is unset or not understood
/// (a typo must not silence the log).
fn filter(directives: Option<&str>) -> Targets {
    let default = || "info,sqlx=warn".parse().expect("the default directives parse");
    match directives.map(str::parse::<Targets>) {
        Some(Ok(targets)) => targets,
        Some(Err(e)) => {
            eprintln!("RUST_LOG is not understood ({e}); logging at the default level");
            default()
        }
        None => default(),
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::filter;

    #[test]
    fn rust_log_sets_levels_by_target_and_a_typo_keeps_the_default() {
        let debug = filter(Some("latchkey=debug"));
        assert!(debug.would_enable("latchkey::http", &Level::DEBUG));
        assert!(!debug.would_enable("sqlx::query", &Level::INFO));
        let default = filter(None);
        assert!(default.would_enable("latchkey", &Level::INFO));
        assert!(!default.would_enable("latchkey", &Level::DEBUG));
        assert!(!default.would_enable("sqlx::query", &Level::INFO));
        assert!(filter(Some("latchkey=loud")).would_enable("latchkey", &Level::INFO));
    }
}
