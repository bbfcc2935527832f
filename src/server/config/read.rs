//! How a variable's text becomes a value: whole numbers and rates within bounds, address
//! lists, blank-means-unset, instance names. Each refusal is a [`ConfigError`] naming the variable.

use super::ConfigError;

/// Reads an optional whole number from `var`, within `min..=max`; unset or empty means `None`.
/// Empty counts as unset so a script can pass `VAR=` to turn a feature off.
pub(super) fn optional_number(
    var: &'static str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ConfigError> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => number(var, 0, min, max).map(Some),
        _ => Ok(None),
    }
}

/// Reads a whole number from `var`, within `min..=max`; unset or blank means `default` (so
/// `scripts/cluster` can pass `TICKERPLEX_DRILLS=` through when its caller set nothing). Out of
/// range is an error rather than clamped: a silently corrected setting is a surprise later.
pub(super) fn number(
    var: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(value) if value.trim().is_empty() => Ok(default),
        // Trimmed, because a value read from a file (`$(cat port)`) or pasted from a document often
        // carries a newline or a space, and refusing `3000\n` would be a needless start-up failure.
        Ok(value) => value
            .trim()
            // No sign, no units, no hex: `10s` or `-1` are refused with the accepted range named,
            // rather than guessed at.
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or(ConfigError::Number {
                var,
                value,
                min,
                max,
            }),
    }
}

/// A comma-separated list of IP addresses; unset or blank is an empty list.
pub(super) fn addresses(var: &'static str) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    let Some(list) = non_empty(var) else {
        return Ok(Vec::new());
    };
    // Exact addresses, not CIDR ranges: the edges this trusts (nginx, HAProxy) are a handful of
    // known hosts, and a range would trust every other host on it to set `X-Forwarded-For`.
    list.split(',')
        .map(|one| {
            one.trim().parse().map_err(|_| ConfigError::Address {
                var,
                value: one.trim().to_owned(),
            })
        })
        .collect()
}

/// A variable's value, trimmed; unset and blank both mean `None`.
pub(super) fn non_empty(var: &str) -> Option<String> {
    std::env::var(var)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Reads an optional rate (a decimal number of events per second, `0..=max`); unset means `None`.
pub(super) fn rate(var: &'static str, max: f64) -> Result<Option<f64>, ConfigError> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse::<f64>()
            .ok()
            // `NaN` and `inf` parse as floats; both fall outside the range, so they are refused
            // like any other out-of-range rate instead of reaching a timer as an endless or
            // undefined interval.
            .filter(|r| (0.0..=max).contains(r))
            .map(Some)
            .ok_or(ConfigError::Rate { var, value, max }),
        _ => Ok(None),
    }
}

/// An instance name as given: it goes into a response header and log lines, so it is kept to
/// 1–64 letters, digits, `.`, `_` and `-`.
pub(super) fn instance_name(name: String) -> Result<String, ConfigError> {
    // A header value may hold any visible ASCII; this narrower set also keeps the name
    // unquoted in log lines, Prometheus labels and Redis keys, where it appears too.
    let valid = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(name)
    } else {
        Err(ConfigError::Instance(name))
    }
}

/// `<host>-<pid>`: unique on one machine, and on a cluster of machines with distinct names.
pub(super) fn default_instance_name() -> String {
    // `uname`'s nodename rather than `$HOSTNAME`: the variable is a shell's, often unset in a
    // service's environment, and the kernel's answer is what `hostname` prints.
    let uname = rustix::system::uname();
    let host = uname.nodename().to_string_lossy();
    format!("{host}-{}", std::process::id())
}

/// Reads a socket address (`127.0.0.1:9464`) from `var`; unset means `default`, `off` none.
pub(super) fn socket_address(
    var: &'static str,
    default: Option<std::net::SocketAddr>,
) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    match non_empty(var) {
        None => Ok(default),
        // A word rather than an empty value: empty already means "the default" everywhere else,
        // and turning a listener off should be said on purpose.
        Some(off) if off == "off" => Ok(None),
        Some(value) => value.parse().map(Some).map_err(|_| ConfigError::Invalid {
            var,
            reason: format!("{value:?} is not an address and port (e.g. 127.0.0.1:9464), or off"),
        }),
    }
}
