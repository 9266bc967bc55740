//! `gravity.gunicorn.extra_args`: the gunicorn options Galaxy's scaling page passes there
//! (`--forwarded-allow-ips="*" --bind 127.0.0.1:8080`), read into the settings they mean
//! here. Options with no meaning here are reported, each once, and skipped.

use super::gravity::{GunicornSettings, parse_umask};

/// What reading `extra_args` found: options skipped (one warning each).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ExtraArgs {
    pub ignored: Vec<String>,
}

/// Options that take a value (gunicorn's spellings, long and short).
fn takes_value(opt: &str) -> bool {
    matches!(
        opt,
        "--bind"
            | "-b"
            | "--forwarded-allow-ips"
            | "--workers"
            | "-w"
            | "--timeout"
            | "-t"
            | "--graceful-timeout"
            | "--keep-alive"
            | "--umask"
            | "-m"
    )
}

/// Reads `g.extra_args` into `g`. An additional `--bind` adds a listener to those of `bind`.
/// Errors name the option and what it expects.
pub fn apply(g: &mut GunicornSettings) -> Result<ExtraArgs, String> {
    let words = shlex::split(&g.extra_args)
        .ok_or_else(|| format!("cannot split `{}`: unbalanced quotes", g.extra_args))?;
    let mut out = ExtraArgs::default();
    let mut it = words.into_iter().peekable();
    while let Some(word) = it.next() {
        let (opt, inline) = match word.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o.to_string(), Some(v.to_string())),
            _ => (word.clone(), None),
        };
        if !opt.starts_with('-') {
            return Err(format!("`{word}` is not an option"));
        }
        if !takes_value(&opt) {
            // Unknown here: skip it, and its value when the next word is not an option.
            if inline.is_none() && it.peek().is_some_and(|n| !n.starts_with('-')) {
                it.next();
            }
            if !out.ignored.contains(&opt) {
                out.ignored.push(opt);
            }
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().ok_or_else(|| format!("`{opt}` needs a value"))?,
        };
        let number = |what: &str| -> Result<u64, String> {
            value
                .parse::<u64>()
                .map_err(|_| format!("`{opt}` expects {what}, got `{value}`"))
        };
        match opt.as_str() {
            "--bind" | "-b" => {
                if !g.bind.contains(&value) {
                    g.bind.push(value.clone());
                }
            }
            "--forwarded-allow-ips" => g.forwarded_allow_ips = value.clone(),
            "--workers" | "-w" => {
                g.workers = number("a whole number of at least 1")? as usize;
            }
            "--timeout" | "-t" => g.timeout = number("a number of seconds")?,
            "--graceful-timeout" => g.graceful_timeout = number("a number of seconds")?,
            "--keep-alive" => g.keep_alive = Some(number("a number of seconds")?),
            _ => {
                parse_umask(&value)
                    .ok_or_else(|| format!("`{opt}` expects an octal umask, got `{value}`"))?;
                g.umask = value.clone();
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(extra: &str, bind: &[&str]) -> (GunicornSettings, Result<ExtraArgs, String>) {
        let mut g = GunicornSettings {
            extra_args: extra.into(),
            bind: bind.iter().map(|s| s.to_string()).collect(),
            ..GunicornSettings::default()
        };
        let r = apply(&mut g);
        (g, r)
    }

    #[test]
    fn the_scaling_pages_socket_and_http_bind() {
        let (g, r) = with(
            r#"--forwarded-allow-ips="*" --bind 127.0.0.1:8080"#,
            &["unix:/srv/galaxy/var/gunicorn.sock"],
        );
        assert_eq!(r, Ok(ExtraArgs::default()));
        assert_eq!(g.forwarded_allow_ips, "*");
        assert_eq!(
            g.bind,
            vec!["unix:/srv/galaxy/var/gunicorn.sock", "127.0.0.1:8080"]
        );
    }

    #[test]
    fn every_option_with_a_meaning() {
        let (g, r) = with(
            "-w 4 --timeout=60 --graceful-timeout 10 --keep-alive 3 --umask 0o027 -b 0.0.0.0:9",
            &["127.0.0.1:1"],
        );
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(g.workers, 4);
        assert_eq!(g.timeout, 60);
        assert_eq!(g.graceful_timeout, 10);
        assert_eq!(g.keep_alive, Some(3));
        assert_eq!(g.umask, "0o027");
        assert_eq!(g.bind, vec!["127.0.0.1:1", "0.0.0.0:9"]);
    }

    #[test]
    fn others_are_named_once_and_skipped_with_their_value() {
        let (g, r) = with(
            "--max-requests 1000 --preload --max-requests 5 --log-level=debug -w 3",
            &[],
        );
        assert_eq!(
            r.map(|e| e.ignored),
            Ok(vec![
                "--max-requests".to_string(),
                "--preload".into(),
                "--log-level".into()
            ])
        );
        assert_eq!(g.workers, 3);
    }

    #[test]
    fn bad_values_name_the_option() {
        assert!(
            with("--workers many", &[])
                .1
                .unwrap_err()
                .contains("--workers")
        );
        assert!(with("--bind", &[]).1.unwrap_err().contains("needs a value"));
        assert!(with("--umask 9", &[]).1.unwrap_err().contains("octal"));
        assert!(with("--bind 'x", &[]).1.unwrap_err().contains("unbalanced"));
        assert!(with("stray", &[]).1.unwrap_err().contains("not an option"));
    }
}
